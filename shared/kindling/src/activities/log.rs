//! What scores and triggers see of a lead's log, and the conditions rules and triggers share.

use super::ports::{ActivityLog, VisitorLinks};
use super::{Activity, ActivityKind};
use crate::fasthash::FastBuild;
use crate::ids::{ActivityId, LeadId};
use crate::ports::PortResult;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Every activity of a lead, including those of the browsers tied to it.
pub async fn of_lead(
    activities: &dyn ActivityLog,
    visitors: &dyn VisitorLinks,
    lead: &LeadId,
) -> PortResult<Vec<Activity>> {
    let mut all = activities.activities_of_lead(lead).await?;
    for v in visitors.visitors_of_lead(lead).await? {
        all.extend(activities.activities_of_visitor(&v).await?);
    }
    Ok(all)
}

/// The path of a URL (or the text itself if it is not a URL).
pub(crate) fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or(path)
}

/// The conditions rules and triggers share: the kind, and each given page category, form and
/// URL pattern.
pub(crate) fn activity_matches(
    a: &Activity,
    kind: ActivityKind,
    page_category: Option<&str>,
    form_id: Option<&str>,
    url: Option<&str>,
) -> bool {
    let x = &a.attrs;
    a.kind == kind
        && page_category.is_none_or(|c| x.page_category.as_deref() == Some(c))
        && form_id.is_none_or(|f| x.form_id.as_deref() == Some(f))
        && url.is_none_or(|p| x.url.as_deref().is_some_and(|u| path_matches(p, u)))
}

/// Whether the path of `url` matches `pattern` (`/x` exact, `/x*` prefix).
pub(crate) fn path_matches(pattern: &str, url: &str) -> bool {
    let path = path_of(url);
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == pattern || path.strip_suffix('/') == Some(pattern),
    }
}

/// What scores and triggers see of a log: activities up to `now`, one per id (a redelivery may
/// carry another timestamp: the earliest wins, whatever the order of delivery), in time order,
/// without machine opens and scanner clicks (those stay in the log and score 0).
pub fn clean_log(activities: &[Activity], now: DateTime<Utc>) -> Vec<&Activity> {
    let mut log: Vec<&Activity> = activities.iter().filter(|a| a.at <= now).collect();
    log.sort_unstable_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    // One hash per id into a table of hashes (no string comparisons on the common path); ids
    // whose hashes collide are settled exactly in a second set.
    let build = FastBuild::default();
    let mut by_hash: std::collections::HashMap<u64, &ActivityId, crate::fasthash::Prehashed> =
        std::collections::HashMap::with_capacity_and_hasher(log.len(), Default::default());
    let mut colliding: HashSet<&ActivityId, FastBuild> = HashSet::default();
    log.retain(|a| {
        use std::collections::hash_map::Entry;
        match by_hash.entry(std::hash::BuildHasher::hash_one(&build, &a.id)) {
            Entry::Vacant(e) => {
                e.insert(&a.id);
                true
            }
            Entry::Occupied(e) => *e.get() != &a.id && colliding.insert(&a.id),
        }
    });
    let machine = crate::activities::classify::machine_hits(&log);
    if !machine.is_empty() {
        log.retain(|a| !machine.contains_key(&a.id));
    }
    log
}
