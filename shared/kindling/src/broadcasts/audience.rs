//! Walking an audience page by page, for the dry run and the freeze, and what excludes a lead
//! at the moment of sending.

use super::{Audience, Broadcasts, RecipientState};
use crate::error::Result;
use crate::ids::LeadId;
use crate::leads::Lead;
use crate::segments::ports::Cursor;

/// One page of an audience: lead ids, and where the next page starts.
pub(crate) struct Page {
    pub leads: Vec<LeadId>,
    pub next: Option<String>,
}

/// Leads of `audience` after `cursor` (a string this returned before), at most `limit`.
pub(crate) async fn page(
    k: &Broadcasts<'_>,
    audience: &Audience,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page> {
    match audience {
        Audience::Segment { segment } => {
            let after = cursor
                .map(str::parse::<Cursor>)
                .transpose()
                .map_err(crate::error::Error::Invalid)?;
            let p = k.members.members(segment, after.as_ref(), limit).await?;
            Ok(Page {
                leads: p.members.into_iter().map(|m| m.lead_id).collect(),
                next: p.next.map(|c| c.to_string()),
            })
        }
        Audience::All => {
            let after = cursor.map(LeadId::new);
            let leads = k.leads.list_lead_ids(after.as_ref(), limit).await?;
            let next = (leads.len() >= limit)
                .then(|| leads.last().map(|l| l.to_string()))
                .flatten();
            Ok(Page { leads, next })
        }
        Audience::RecipientsOf { broadcast } => {
            let after = cursor.map(LeadId::new);
            let rs = k.store.recipients(broadcast, after.as_ref(), limit).await?;
            let next = (rs.len() >= limit)
                .then(|| rs.last().map(|r| r.lead_id.to_string()))
                .flatten();
            let leads = rs
                .into_iter()
                .filter(|r| matches!(r.state, RecipientState::Sent | RecipientState::Unknown))
                .map(|r| r.lead_id)
                .collect();
            Ok(Page { leads, next })
        }
    }
}

/// Why a lead may not get broadcast `b` now: `unsubscribed`, `no_consent`, `topic_opt_out`
/// or `suppressed` (its address, as read with its page). Checked at every send, so an opt-out
/// stops every pending recipient at once.
pub(crate) fn exclusion(
    b: &super::Broadcast,
    lead: &Lead,
    suppressed: bool,
) -> Option<&'static str> {
    if lead.unsubscribed_at.is_some() {
        return Some("unsubscribed");
    }
    if lead.consent.is_none() {
        return Some("no_consent");
    }
    if b.topic.as_ref().is_some_and(|t| lead.preferences.left(t)) {
        return Some("topic_opt_out");
    }
    if suppressed {
        return Some("suppressed");
    }
    None
}

/// The leads of a page and which of their addresses are suppressed: two batched reads.
pub(crate) async fn read_page(
    k: &Broadcasts<'_>,
    ids: &[crate::ids::LeadId],
) -> Result<(
    std::collections::HashMap<crate::ids::LeadId, Lead>,
    std::collections::HashSet<crate::email::EmailAddress>,
)> {
    let leads: std::collections::HashMap<_, _> = k
        .leads
        .get_leads(ids)
        .await?
        .into_iter()
        .map(|l| (l.id.clone(), l))
        .collect();
    let emails: Vec<_> = leads.values().map(|l| l.email.clone()).collect();
    let suppressed = k.suppressions.suppressed_among(&emails).await?;
    Ok((leads, suppressed))
}
