//! What a broadcast is: its audience, schedule, state, holds, approval, dry run, freeze and
//! history, the hash an approval covers, and its recipients and their progress.

use crate::ids::{BroadcastId, LeadId, SegmentId};
use crate::sending::schedule::resolve_local;
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who a broadcast goes to, as approved. Frozen into recipients when sending starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// Every member of a segment (from its index).
    Segment { segment: SegmentId },
    /// Every lead (a newsletter); consent is checked for each at send time.
    All,
    /// Exactly the leads a broadcast was sent to (or may have been: `unknown`): a correction.
    RecipientsOf { broadcast: BroadcastId },
}

impl std::fmt::Display for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Segment { segment } => write!(f, "segment {segment}"),
            Self::All => f.write_str("every consenting lead"),
            Self::RecipientsOf { broadcast } => write!(f, "the recipients of {broadcast}"),
        }
    }
}

/// When a broadcast goes out: a wall-clock time in the program's zone, or with `local` in each
/// lead's own zone (10:00 in Tokyo, then 10:00 in New York).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub at: NaiveDateTime,
    pub local: bool,
}

/// How a broadcast's time is written everywhere (CLI, API, A/B variants): "2026-12-08 10:00",
/// a wall-clock time without a zone.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M";

/// Parses a time written as [`TIME_FORMAT`] (surrounding spaces allowed).
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), TIME_FORMAT).ok()
}

/// The zone that reaches a wall-clock time first (UTC+14, Kiribati).
const EARLIEST_ZONE: Tz = Tz::Etc__GMTMinus14;

impl Schedule {
    /// The first instant anyone is due: `at` in the program's zone, or with `local` in the
    /// earliest zone on Earth.
    pub fn starts_at(&self, program_zone: Tz) -> DateTime<Utc> {
        resolve_local(
            if self.local {
                EARLIEST_ZONE
            } else {
                program_zone
            },
            self.at,
        )
    }

    /// When a lead in `zone` is due (before quiet hours).
    pub fn due_for(&self, zone: Tz, program_zone: Tz) -> DateTime<Utc> {
        resolve_local(if self.local { zone } else { program_zone }, self.at)
    }
}

/// Where a broadcast stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Being written; any edit returns it here.
    Draft,
    /// Approved as it is now (content, audience, schedule: see [`Broadcast::hash`]).
    Approved,
    /// Approved and armed: starts at its time.
    Scheduled,
    /// Started: the audience is (being) frozen and recipients are handed to the mailer.
    Sending,
    /// Every recipient was handled.
    Sent,
    /// Stopped by a person or by a guard ([`Broadcast::hold`]); resumes where it stood.
    Paused,
    /// Stopped for good: queued recipients get nothing.
    Cancelled,
}

crate::named!(State {
    Draft = "draft",
    Approved = "approved",
    Scheduled = "scheduled",
    Sending = "sending",
    Sent = "sent",
    Paused = "paused",
    Cancelled = "cancelled",
});

/// Why a broadcast waits for a person: it does not go on by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hold {
    /// The frozen audience is more than twice the approved dry run's count, or above the
    /// configured maximum.
    SizeGuard { frozen: u64, limit: u64 },
    /// Its start passed more than `broadcasts.stale_after` ago (the breaker paused sending,
    /// say): a newsletter about Monday's seminar must not go out on Thursday by itself.
    Stale { start: DateTime<Utc> },
}

/// An approval: who, when, and of exactly what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    pub at: DateTime<Utc>,
    /// [`Broadcast::hash`] when approved: any edit changes it, and voids the approval.
    pub hash: String,
}

/// What a dry run found: every recipient rendered, nothing sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DryRun {
    pub at: DateTime<Utc>,
    /// [`Broadcast::hash`] it ran against.
    pub hash: String,
    /// Leads in the audience.
    pub audience: u64,
    /// Leads that would get the mail.
    pub recipients: u64,
    /// Leads that would not, by reason (`no_consent`, `unsubscribed`, `suppressed`, ...).
    pub excluded: BTreeMap<String, u64>,
    /// Leads that would wait, by reason (`quiet_hours`, `capped`), with the mail still sent.
    pub deferred: BTreeMap<String, u64>,
    /// Recipients whose mail does not render (a missing field without a fallback).
    pub failures: u64,
    /// The first failures, with their errors.
    pub failed: Vec<(LeadId, String)>,
    /// The earliest hour any recipient was due at (its own with `local`), before quiet hours:
    /// a `local` broadcast starts a head start before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_due: Option<DateTime<Utc>>,
    /// With an A/B test: recipients by cell (`A`, `B`, ...) and `rest`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cells: BTreeMap<String, u64>,
}

/// Progress of freezing the audience into recipients.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Freeze {
    /// Where the walk over the audience resumes; `None` before the first page.
    pub cursor: Option<String>,
    /// Every recipient is written.
    pub done: bool,
    /// Recipients written so far.
    pub count: u64,
    /// With an A/B test: the cells are written (the walk has started again, for the rest).
    #[serde(default)]
    pub cells_done: bool,
    /// With an A/B test: when the last cell recipient written is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells_due: Option<DateTime<Utc>>,
    /// With an A/B test: when the cells are judged and the rest is due (written with the cells).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decide_at: Option<DateTime<Utc>>,
}

/// One entry of a broadcast's history: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub by: String,
    pub what: String,
}

/// A broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Broadcast {
    pub id: BroadcastId,
    /// For people: "December newsletter".
    pub name: String,
    pub audience: Audience,
    pub content: super::content::Content,
    pub schedule: Schedule,
    /// The topic it belongs to: leads who left it get none, and one-click leaves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<crate::ids::TopicId>,
    /// Its A/B test: cells of the audience get variants, then the rest gets the winner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<super::ab::Plan>,
    /// What the A/B test decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<super::ab::Decision>,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<DryRun>,
    #[serde(default)]
    pub freeze: Freeze,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// A person confirmed a late start ([`Hold::Stale`]).
    #[serde(default)]
    pub confirmed_late: bool,
    /// A person confirmed an audience above the size guard ([`Hold::SizeGuard`]).
    #[serde(default)]
    pub confirmed_size: bool,
    #[serde(default)]
    pub history: Vec<Change>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl Broadcast {
    /// SHA-256 over what an approval covers: content, audience, schedule, topic and A/B test
    /// (hex).
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut covered = serde_json::json!({
            "content": self.content,
            "audience": self.audience,
            "schedule": self.schedule,
        });
        if let Some(t) = &self.topic {
            covered["topic"] = serde_json::json!(t);
        }
        if let Some(ab) = &self.ab {
            covered["ab"] = serde_json::json!(ab);
        }
        let mut h = Sha256::new();
        h.update(covered.to_string().as_bytes());
        format!("{:x}", h.finalize())
    }

    /// Approved as it is now.
    pub fn approved(&self) -> bool {
        self.approval
            .as_ref()
            .is_some_and(|a| a.hash == self.hash())
    }
}

/// Where one recipient stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Waiting for `due_at`.
    Queued,
    /// The provider accepted it.
    Sent,
    /// Not sent, for `reason` (no consent, suppressed, unsubscribed, capped, gone).
    Skipped,
    /// The provider rejected it, or it did not render.
    Failed,
    /// A sender stopped between claiming and recording it: it may have gone. Never resent.
    Unknown,
}

crate::named!(RecipientState {
    Queued = "queued",
    Sent = "sent",
    Skipped = "skipped",
    Failed = "failed",
    Unknown = "unknown",
});

/// One lead of a broadcast's frozen audience, keyed by (broadcast, lead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub broadcast_id: BroadcastId,
    pub lead_id: LeadId,
    /// When it may go out: its local time, then out of quiet hours or past the cap.
    pub due_at: DateTime<Utc>,
    pub state: RecipientState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// A broadcast's recipients by state, and skipped ones by reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    pub unknown: u64,
    pub skipped: BTreeMap<String, u64>,
}

impl Progress {
    /// Counts one recipient.
    pub fn count(&mut self, r: &Recipient) {
        match r.state {
            RecipientState::Queued => self.queued += 1,
            RecipientState::Sent => self.sent += 1,
            RecipientState::Failed => self.failed += 1,
            RecipientState::Unknown => self.unknown += 1,
            RecipientState::Skipped => {
                *self
                    .skipped
                    .entry(r.reason.clone().unwrap_or_else(|| "skipped".into()))
                    .or_default() += 1
            }
        }
    }

    /// Every recipient counted.
    pub fn total(&self) -> u64 {
        self.queued + self.sent + self.failed + self.unknown + self.skipped.values().sum::<u64>()
    }
}
