//! What one run of the step-mail sender did ([`crate::app::ScheduleReport`] holds it with the
//! rechecks and the broadcasts of the same run).

use crate::email::EmailAddress;
use crate::message::MessageKey;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One mail that went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMail {
    pub key: MessageKey,
    pub sequence_id: crate::ids::SequenceId,
    pub template: crate::ids::TemplateId,
    pub to: EmailAddress,
    pub subject: String,
    pub at: DateTime<Utc>,
    pub provider_message_id: String,
}

/// An enrollment that ended in this run, and why (`became_hot`, `unsubscribed`, `completed`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ended {
    pub lead_id: crate::ids::LeadId,
    pub sequence_id: crate::ids::SequenceId,
    pub reason: String,
}

/// What one run of the sender did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    pub sent: Vec<SentMail>,
    /// Enrollments that ended: exited on a goal, stopped, or completed.
    pub ended: Vec<Ended>,
    /// Waiting for quiet hours to end or for the frequency cap.
    pub deferred: u32,
    /// Waiting because a higher-priority sequence's step for the same lead is due now.
    pub yielded: u32,
    /// Exited on a goal (e.g. became hot).
    pub exited: u32,
    /// Stopped: unsubscribed, suppressed, no consent, lead or sequence gone.
    pub stopped: u32,
    pub completed: u32,
    /// Rejected by the provider for good.
    pub failed: u32,
    /// Found claimed by a sender that crashed; recorded as unknown and not sent again.
    pub unknown: u32,
    /// The provider throttled or failed transiently: these steps go out on a later run.
    pub retry_later: u32,
    /// Store or bus errors; the steps stay due and are retried on a later run.
    pub errors: u32,
    /// Why no step mail went out: the bounce/complaint breaker is open (see
    /// [`crate::deliverability`]). Due steps stay due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
}
