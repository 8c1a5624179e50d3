//! Buying stages (`[[stages]]`): an ordered list, awareness to decision, each with a condition in
//! the segments' language. A lead moves forward to the furthest stage whose condition it meets,
//! and never back, unless its current stage says `fall_back = true` and its condition no longer
//! holds: then it moves back to the furthest earlier stage it still meets (or to none).

use super::{Cond, Facts};
use crate::activities::Activity;
use crate::diag::Diag;
use crate::ids::StageId;
use crate::leads::StageChange;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// One stage from `[[stages]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub id: StageId,
    /// For people: `認知`, `興味`, `比較検討`, `決定`.
    pub label: Option<String>,
    pub when: Cond,
    /// A lead that no longer meets this stage's condition moves back.
    pub fall_back: bool,
}

/// The move a lead makes now, if any, from `current` (see the module's rule).
pub fn next_stage(
    stages: &[Stage],
    current: Option<&StageId>,
    facts: &Facts<'_>,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> Option<StageChange> {
    let at = current.and_then(|c| stages.iter().position(|s| s.id == *c));
    // The furthest stage met, with its evidence (stages are few; each is evaluated once).
    let verdicts: Vec<_> = stages
        .iter()
        .map(|s| s.when.evaluate(facts, log, now))
        .collect();
    let furthest = verdicts.iter().rposition(|v| v.member);
    let change = |to: Option<usize>| StageChange {
        from: current.cloned(),
        to: to.map(|i| stages[i].id.clone()),
        at: now,
        evidence: to.map_or_else(Vec::new, |i| verdicts[i].evidence.clone()),
    };
    match (at, furthest) {
        (None, Some(f)) => Some(change(Some(f))),
        (Some(a), Some(f)) if f > a => Some(change(Some(f))),
        (Some(a), f) if stages[a].fall_back && !verdicts[a].member => Some(change(f)),
        _ => None,
    }
}

/// Checks `[[stages]]`: unique ids, each condition as a segment's, in the order written (the
/// order of the buying process).
pub(crate) fn validate(
    d: &mut Diag<'_>,
    raw: &[raw::Stage],
    categories: &HashSet<&str>,
    forms: &HashSet<String>,
) -> Vec<Stage> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for s in raw {
        let id = s.id.get_ref();
        crate::diag::new_id(d, &mut ids, &s.id, "stages", "stage");
        let refs = super::config::Refs {
            categories,
            forms,
            stages: None,
        };
        if let Some(when) = super::config::cond(d, &s.when, &refs, 0) {
            out.push(Stage {
                id: id.as_str().into(),
                label: s.label.clone(),
                when,
                fall_back: s.fall_back,
            });
        }
    }
    out
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use crate::segments::config::raw::Cond;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Stage {
        pub id: S<String>,
        pub label: Option<String>,
        #[serde(default)]
        pub fall_back: bool,
        pub when: S<Cond>,
    }
}
