//! Sequences: step mail. A lead enrolls (on a form or a trigger) and gets each step at its
//! offset, in its zone and outside quiet hours; the pure [`plan`] decides what to do with one due
//! step and [`send_due_steps`] carries it out; [`ab`] counts each step's A/B test.

pub mod ab;
mod compose;
pub mod config;
mod enroll;
pub mod events;
pub mod plan;
mod report;
mod run;

pub use ab::{ab_report, AbReport};
pub use compose::build_step_mail;
pub use enroll::enroll;
pub use report::{Ended, SendReport, SentMail};
pub use run::{send_due_steps, send_step_now};

pub mod ports;

use crate::ids::{EnrollmentId, LeadId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activities::ports::{ActivityLog, VisitorLinks};
use crate::deliverability::ports::SuppressionList;
use crate::deliverability::Deliverability;
use crate::leads::ports::LeadStore;
use crate::ports::{Clock, Ids, Tallies};
use crate::program::{Program, Sender};
use crate::sending::ports::SendLog;
use crate::sending::templates::Templates;
use crate::token::SigningKeys;
use crate::tracking::Recorder;
use chrono_tz::Tz;
use config::{Sequence, Step};
use ports::EnrollmentStore;

/// The sections step mail reads.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub program: &'a Program,
    pub sender: &'a Sender,
    pub sequences: &'a [Sequence],
    pub sending: &'a crate::sending::config::Settings,
    pub templates: &'a Templates,
}

impl<'a> Sections<'a> {
    /// Who step mails are from and where their links point.
    pub fn origin(&self) -> crate::sending::mail::Origin<'a> {
        crate::sending::mail::Origin {
            program: self.program,
            sender: self.sender,
        }
    }

    /// The sequence with this id.
    pub fn sequence(&self, id: &str) -> Option<&'a Sequence> {
        self.sequences.iter().find(|s| s.id == id)
    }

    /// The earliest instant at or after `at` when `step` may go out to a lead in `zone`: outside
    /// quiet hours and inside the step's window.
    pub fn send_time(&self, step: &Step, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        self.sending.send_time(step.window.as_ref(), at, zone)
    }

    /// When `step` of an enrollment made at `enrolled_at` is due, for a lead in `zone`.
    pub fn step_due(&self, step: &Step, enrolled_at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        self.sending
            .due(&step.at, step.window.as_ref(), enrolled_at, zone)
    }
}

/// What enrolling a lead touches.
#[derive(Clone, Copy)]
pub struct Enroller<'a> {
    pub config: Sections<'a>,
    pub enrollments: &'a dyn EnrollmentStore,
    pub ids: &'a dyn Ids,
    /// Where a first step due at once is announced ([`events::StepDue`]).
    pub bus: &'a dyn crate::events::EventBus,
}

/// What sending step mails touches.
#[derive(Clone, Copy)]
pub struct Sequences<'a> {
    pub config: Sections<'a>,
    pub keys: &'a SigningKeys,
    pub enrollments: &'a dyn EnrollmentStore,
    pub leads: &'a dyn LeadStore,
    pub sends: &'a dyn SendLog,
    pub suppressions: &'a dyn SuppressionList,
    pub activities: &'a dyn ActivityLog,
    pub visitors: &'a dyn VisitorLinks,
    pub tallies: &'a dyn Tallies,
    pub deliverability: Deliverability<'a>,
    pub record: Recorder<'a>,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn Ids,
}

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
    pub sequence_id: crate::ids::SequenceId,
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
