//! The segment membership index a rescore keeps in line with the lead: each move written
//! before the lead is stored, and put right after a concurrent update changed the plan.

use crate::error::Result;
use crate::ids::LeadId;
use crate::segments::membership::Move;
use crate::segments::ports::Member;
use chrono::{DateTime, Utc};

/// Writes a move to the membership index (idempotent: a retried move changes nothing).
pub(super) async fn index(
    k: &super::Scoring<'_>,
    lead: &LeadId,
    m: &Move,
    now: DateTime<Utc>,
) -> Result<()> {
    let since = matches!(m, Move::Entered { .. }).then_some(now);
    put(k, lead, m.segment(), since, now).await
}

/// Puts the index in line with the membership stored on the lead.
pub(super) async fn repair(
    k: &super::Scoring<'_>,
    lead: &LeadId,
    segment: &crate::ids::SegmentId,
    stored: Option<&crate::leads::Membership>,
    now: DateTime<Utc>,
) -> Result<()> {
    put(k, lead, segment, stored.map(|m| m.since), now).await
}

/// The lead in the segment's index since `since`, or out of it.
async fn put(
    k: &super::Scoring<'_>,
    lead: &LeadId,
    segment: &crate::ids::SegmentId,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    match since {
        Some(since) => {
            let member = Member {
                lead_id: lead.clone(),
                since,
            };
            k.members.add_member(segment, &member).await?;
        }
        None => {
            k.members.remove_member(segment, lead, now).await?;
        }
    }
    Ok(())
}
