//! The send ledger (claims under the frequency cap) and the mailer.

use crate::email::EmailAddress;
use crate::ids::LeadId;
use crate::message::MessageKey;
use crate::ports::PortResult;
use crate::sending::ledger::SendRecord;
use crate::sending::schedule::FrequencyCap;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Outcome of claiming a step send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendClaim {
    /// The claim is ours: send now.
    Claimed,
    /// The lead already had the cap's worth of mail in the window; try again at `until`.
    CapReached { until: DateTime<Utc> },
    /// This step was claimed before (by a crashed or concurrent sender): here is its record.
    Exists(SendRecord),
}

/// A counter a send adds one to, once per unit (see [`crate::ports::Tallies::tally_once`]).
#[derive(Debug, Clone, Copy)]
pub struct CountOnce<'a> {
    pub series: &'a str,
    pub bucket: &'a str,
    pub counter: &'a str,
    pub unit: &'a str,
}

/// The record of every step send, and the frequency cap over them.
#[async_trait]
pub trait SendLog: Send + Sync {
    /// Atomically: if no record exists for `record.key` and the lead has fewer than `cap.max`
    /// sends that count (in any state but failed) claimed after `now - cap.window`, writes
    /// `record`, counting toward the cap. With no cap (a broadcast that does not count toward
    /// it) the claim is only the insert-if-absent: it neither checks the cap nor counts.
    async fn claim_send(
        &self,
        record: &SendRecord,
        cap: Option<FrequencyCap>,
        now: DateTime<Utc>,
    ) -> PortResult<SendClaim>;
    /// Overwrites a claimed record with its outcome.
    async fn complete_send(&self, record: &SendRecord) -> PortResult<()>;
    /// Records a send the provider accepted (`record.state` is sent) with what follows from it,
    /// in one write: the record, its `email_sent` activity (once, by id) and a count it adds
    /// once (the breaker's sends of the hour). `true`: all three are stored (a part already
    /// there is left as it was); `false` (the default, or when a part was already there on a
    /// store that writes all or nothing): nothing was written, and the caller writes each part
    /// on its own, each idempotently. Announcing the activity stays the caller's.
    async fn complete_sent_with(
        &self,
        record: &SendRecord,
        activity: &crate::activities::Activity,
        count: &CountOnce<'_>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let _ = (record, activity, count, now);
        Ok(false)
    }
    /// Deletes a claim whose mail certainly did not go (a retryable provider error).
    async fn release_send(&self, key: &MessageKey) -> PortResult<()>;
    /// One record.
    async fn get_send(&self, key: &MessageKey) -> PortResult<Option<SendRecord>>;
    /// Every send record of a lead.
    async fn sends_of_lead(&self, lead: &LeadId) -> PortResult<Vec<SendRecord>>;
    /// Reads ahead, in one batch, what the claims of these leads' next sends read (their cap
    /// ledgers, on a store that keeps them apart): the sender calls it before a page of
    /// claims. Each claim still decides on a consistent write (one that finds what it read
    /// changed reads again), so this changes requests, never outcomes.
    async fn prefetch_ledgers(&self, leads: &[LeadId]) -> PortResult<()> {
        let _ = leads;
        Ok(())
    }
}

/// A fully built message for the mailer.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// What the mail is, for file names and logs: a lead's mail's [`MessageKey::id_part`]
    /// (`{lead}_{enrollment}_{step}`, `{lead}_b_{broadcast}`), or a digest's
    /// `digest_{day}_{recipient}_{attempt}`.
    pub id: String,
    pub from: EmailAddress,
    pub to: EmailAddress,
    /// RFC 5322 bytes, every header included.
    pub raw: Vec<u8>,
}

/// Why the mailer did not send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Throttled or a transient fault: the mail did not go; try later.
    #[error("retryable: {0}")]
    Retryable(String),
    /// The provider refused this message for good.
    #[error("rejected: {0}")]
    Rejected(String),
}

/// Sends raw MIME and returns the provider's message id.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message.
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError>;
}
