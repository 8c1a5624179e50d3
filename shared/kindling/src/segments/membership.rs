//! Membership as the lead keeps it: every rescore evaluates every segment and compares the
//! verdicts with the memberships stored on the lead, so a lead enters or leaves a segment in the
//! same rescore as the activity (or the passing of time, or the profile change) that moved it.
//! What the lead stores is sparse (only the segments it is in), and a rescore that moves nothing
//! changes nothing.

use super::{Facts, Segment};
use crate::activities::Activity;
use crate::ids::{ActivityId, SegmentId};
use crate::leads::Membership;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A lead entering or leaving a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    Entered {
        segment: SegmentId,
        /// The activities that made the condition true (the newest few).
        evidence: Vec<ActivityId>,
    },
    /// It no longer meets the condition, or the segment is no longer defined.
    Left {
        segment: SegmentId,
        /// When it had entered.
        since: DateTime<Utc>,
    },
}

impl Move {
    /// The segment entered or left.
    pub fn segment(&self) -> &SegmentId {
        match self {
            Move::Entered { segment, .. } | Move::Left { segment, .. } => segment,
        }
    }
}

/// What evaluating every segment found for one lead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// Entries first in file order, then departures in id order.
    pub moves: Vec<Move>,
    /// The memberships to store.
    pub members: BTreeMap<SegmentId, Membership>,
    /// The earliest time a verdict changes by itself (a window expiring): the lead's recheck.
    pub changes_at: Option<DateTime<Utc>>,
}

/// The newest `Membership::EVIDENCE` ids, oldest first.
fn newest(mut evidence: Vec<ActivityId>) -> Vec<ActivityId> {
    let keep = evidence.len().saturating_sub(Membership::EVIDENCE);
    evidence.drain(..keep);
    evidence
}

/// Compares every segment's verdict now with the stored memberships (see the module).
pub fn plan(
    segments: &[Segment],
    stored: &BTreeMap<SegmentId, Membership>,
    facts: &Facts<'_>,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> Changes {
    let mut out = Changes::default();
    for s in segments {
        let v = s.evaluate(facts, log, now);
        out.changes_at = super::earliest(out.changes_at, v.changes_at);
        match (v.member, stored.get(&s.id)) {
            (true, Some(m)) => {
                out.members.insert(s.id.clone(), m.clone());
            }
            (true, None) => {
                let evidence = newest(v.evidence);
                out.moves.push(Move::Entered {
                    segment: s.id.clone(),
                    evidence: evidence.clone(),
                });
                out.members.insert(
                    s.id.clone(),
                    Membership {
                        since: now,
                        evidence,
                    },
                );
            }
            (false, Some(m)) => out.moves.push(Move::Left {
                segment: s.id.clone(),
                since: m.since,
            }),
            (false, None) => {}
        }
    }
    for (id, m) in stored {
        if !segments.iter().any(|s| s.id == *id) {
            out.moves.push(Move::Left {
                segment: id.clone(),
                since: m.since,
            });
        }
    }
    out
}
