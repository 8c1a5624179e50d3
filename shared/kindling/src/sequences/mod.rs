//! Sequences: step mail. A lead enrolls (on a form or a trigger) and gets each step at its
//! offset, in its zone and outside quiet hours; the pure [`plan`] decides what to do with one due
//! step and [`run`] carries it out; [`ab`] counts each step's A/B test.

pub mod ab;
pub mod config;
pub mod plan;
mod run;

pub use ab::{ab_report, AbReport};
pub use run::{build_step_mail, send_due_steps, Ended, SendReport, SentMail};

pub mod ports;

use crate::ids::{EnrollmentId, LeadId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
