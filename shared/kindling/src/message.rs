//! The key of every mail Kindling sends, a step's or a broadcast's, and the link number of the
//! hidden link each one carries.

use crate::ids::{BroadcastId, EnrollmentId, LeadId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Link number of the hidden link every HTML mail carries: no person sees or follows it, every
/// scanner that follows all links does (see [`crate::activities::classify`]).
pub const HIDDEN_LINK: u16 = u16::MAX;

/// One mail to one lead, sent at most once: a sequence's step, or a broadcast. Its send is
/// claimed under this key (with the frequency cap, which counts every kind), its open and click
/// tokens carry it, its opens and clicks point back to it ([`MessageRef`]), and A/B tests and
/// the breaker count it. Serialized untagged, so a step's key keeps the shape it had when it was
/// the only kind: `{"lead_id", "enrollment_id", "step"}` in records written before.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageKey {
    /// Step `step` (from 0) of enrollment `enrollment_id`.
    Step {
        lead_id: LeadId,
        enrollment_id: EnrollmentId,
        step: u32,
    },
    /// Broadcast `broadcast_id` to `lead_id`.
    Broadcast {
        lead_id: LeadId,
        broadcast_id: BroadcastId,
    },
}

/// A mail within its lead: what an open or a click points back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageRef<'a> {
    Step(&'a EnrollmentId, u32),
    Broadcast(&'a BroadcastId),
}

impl MessageKey {
    /// Step `step` of an enrollment.
    pub fn step(lead_id: LeadId, enrollment_id: EnrollmentId, step: u32) -> Self {
        Self::Step {
            lead_id,
            enrollment_id,
            step,
        }
    }

    /// The lead it goes to.
    pub fn lead_id(&self) -> &LeadId {
        match self {
            Self::Step { lead_id, .. } | Self::Broadcast { lead_id, .. } => lead_id,
        }
    }

    /// The mail within its lead.
    pub fn message(&self) -> MessageRef<'_> {
        match self {
            Self::Step {
                enrollment_id,
                step,
                ..
            } => MessageRef::Step(enrollment_id, *step),
            Self::Broadcast { broadcast_id, .. } => MessageRef::Broadcast(broadcast_id),
        }
    }

    /// The key as a part of other ids: `{lead}_{enrollment}_{step}` (as step sends' activity
    /// ids have always been) or `{lead}_b_{broadcast}`.
    pub fn id_part(&self) -> String {
        match self {
            Self::Step {
                lead_id,
                enrollment_id,
                step,
            } => format!("{lead_id}_{enrollment_id}_{step}"),
            Self::Broadcast {
                lead_id,
                broadcast_id,
            } => format!("{lead_id}_b_{broadcast_id}"),
        }
    }

    /// The step's enrollment and number, for a step's key.
    pub fn as_step(&self) -> Option<(&EnrollmentId, u32)> {
        match self {
            Self::Step {
                enrollment_id,
                step,
                ..
            } => Some((enrollment_id, *step)),
            Self::Broadcast { .. } => None,
        }
    }
}

impl MessageRef<'_> {
    /// The mail's place among its lead's sends, for store keys: `{enrollment}#{step:05}` for a
    /// step (sorting by step), `@{broadcast}` for a broadcast (`@` is never in an id, so the two
    /// cannot collide).
    pub fn slot(&self) -> String {
        match self {
            Self::Step(enrollment, step) => format!("{enrollment}#{step:05}"),
            Self::Broadcast(broadcast) => format!("@{broadcast}"),
        }
    }
}

impl fmt::Display for MessageKey {
    /// `{lead}/{enrollment}/{step}` (the counting unit of sends since steps were the only kind)
    /// or `{lead}/@{broadcast}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Step {
                lead_id,
                enrollment_id,
                step,
            } => write!(f, "{lead_id}/{enrollment_id}/{step}"),
            Self::Broadcast {
                lead_id,
                broadcast_id,
            } => write!(f, "{lead_id}/@{broadcast_id}"),
        }
    }
}
