//! Enrollments in sequences and the record of each step send.

use crate::ids::{BroadcastId, EnrollmentId, LeadId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an enrollment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    /// Steps remain; `next_due_at` says when the next one is due.
    Active,
    /// Every step was handled.
    Completed,
    /// An exit goal was met (e.g. the lead turned hot).
    Exited,
    /// Stopped because the lead may not be mailed (unsubscribed, suppressed, no consent, gone).
    Stopped,
}

impl EnrollmentStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Exited => "exited",
            Self::Stopped => "stopped",
        }
    }
}

/// One lead in one sequence. At most one active enrollment per (lead, sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub lead_id: LeadId,
    pub sequence_id: String,
    /// 1 for a lead's first enrollment in the sequence, 2 for its re-entry, and so on.
    /// Unique with the lead and the sequence: that makes re-entry idempotent.
    #[serde(default = "first_entry")]
    pub entry: u32,
    pub enrolled_at: DateTime<Utc>,
    /// Index of the next step to send.
    pub next_step: u32,
    /// When the next step may go out; `None` once the enrollment is not active.
    pub next_due_at: Option<DateTime<Utc>>,
    pub status: EnrollmentStatus,
    /// Why it ended, for the timeline (`became_hot`, `unsubscribed`, ...).
    pub reason: Option<String>,
    pub version: u64,
}

fn first_entry() -> u32 {
    1
}

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

/// Where a step send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Claimed; the provider has been or is being called.
    Sending,
    /// The provider accepted it.
    Sent,
    /// The provider rejected it for good.
    Failed,
    /// A claim was found unfinished: the mail may or may not have gone. Never retried blindly.
    Unknown,
}

impl SendState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

/// The record of one mail: claimed before sending, completed after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRecord {
    pub key: MessageKey,
    pub sequence_id: String,
    pub template: String,
    pub state: SendState,
    pub claimed_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub provider_message_id: Option<String>,
    /// Destinations of the mail's tracked links, by index: a click redirects only here.
    pub links: Vec<String>,
    pub error: Option<String>,
}
