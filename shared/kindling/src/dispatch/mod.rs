//! The one send protocol, for every mail that goes through the ledger (step mail and broadcasts
//! alike): claim the mail's key under the frequency cap, hand it to the provider, record what
//! happened, and read a claim found from before (a fresh one is another sender's; an abandoned
//! one becomes `unknown` and is never sent again blindly; a recorded one has its follow-ups
//! finished). Step mail then only moves its enrollment on, and a broadcast only settles its
//! recipient ([`Dispatched`] says which).

mod claim;
mod record;

pub use claim::{read_claim, Claim};
pub use record::{finish_sent, record_sent, sent_activity};

use crate::deliverability::Deliverability;
use crate::email::EmailAddress;
use crate::error::Result;
use crate::leads::Lead;
use crate::sending::ledger::{SendRecord, SendState};
use crate::sending::ports::{MailError, Mailer, OutgoingMail, SendLog};
use crate::sending::schedule::FrequencyCap;
use chrono::{DateTime, Utc};

/// What sending a mail touches.
#[derive(Clone, Copy)]
pub struct Dispatch<'a> {
    pub sends: &'a dyn SendLog,
    /// The breaker's count and the `email_sent` activity of each send.
    pub deliverability: &'a Deliverability<'a>,
    /// The sender's address.
    pub from: &'a EmailAddress,
}

/// A mail to send: its record as claimed (state `sending`, `claimed_at` now), its lead and its
/// bytes, and the cap it counts toward (`None`: outside the cap).
pub struct Letter<'a> {
    pub record: SendRecord,
    pub lead: &'a Lead,
    pub raw: Vec<u8>,
    pub cap: Option<FrequencyCap>,
}

/// What became of a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatched {
    /// The provider accepted it; recorded sent, with its activity and the breaker's count.
    Sent(SendRecord),
    /// An earlier sender recorded it sent and stopped: what may have been missing (the count,
    /// the activity) is written now. Nothing was sent.
    Recovered(SendRecord),
    /// The cap is full until then; the claim was not made.
    Capped { until: DateTime<Utc> },
    /// Another sender holds a fresh claim on it.
    InProgress,
    /// A sender stopped between claim and record: now recorded `unknown`, never sent again.
    Abandoned(SendRecord),
    /// Recorded `failed` or `unknown` before; nothing was sent.
    Settled(SendRecord),
    /// The provider throttled: the claim is released and the mail stays due.
    RetryLater,
    /// The provider refused it for good: recorded `failed` with why.
    Rejected(SendRecord),
}

/// Claims, sends and records one mail at `now` ([`Dispatched`] says what happened).
pub async fn dispatch(
    d: &Dispatch<'_>,
    mailer: &dyn Mailer,
    letter: Letter<'_>,
    now: DateTime<Utc>,
) -> Result<Dispatched> {
    let Letter {
        mut record,
        lead,
        raw,
        cap,
    } = letter;
    let claim = d.sends.claim_send(&record, cap, now).await?;
    match read_claim(claim, now) {
        Claim::Ours => {}
        Claim::Capped { until } => return Ok(Dispatched::Capped { until }),
        Claim::InProgress => return Ok(Dispatched::InProgress),
        Claim::Abandoned(mut existing) => {
            tracing::warn!(lead_id = %lead.id, key = %existing.key, "abandoned send claim marked unknown");
            existing.state = SendState::Unknown;
            existing.error = Some("sender stopped between claim and record".into());
            d.sends.complete_send(&existing).await?;
            return Ok(Dispatched::Abandoned(existing));
        }
        Claim::Recorded(existing) if existing.state == SendState::Sent => {
            // A sender died after recording the send: finish what it did not (each part
            // idempotent), so the count and the activity are not lost.
            let at = existing.sent_at.unwrap_or(existing.claimed_at);
            let activity = sent_activity(&existing, &lead.id, at);
            finish_sent(d.deliverability, &existing, &activity).await?;
            return Ok(Dispatched::Recovered(existing));
        }
        Claim::Recorded(existing) => return Ok(Dispatched::Settled(existing)),
    }
    let mail = OutgoingMail {
        id: record.key.id_part(),
        from: d.from.clone(),
        to: lead.email.clone(),
        raw,
    };
    match mailer.send(&mail).await {
        Ok(message_id) => {
            record.state = SendState::Sent;
            record.sent_at = Some(now);
            record.provider_message_id = Some(message_id);
            let activity = sent_activity(&record, &lead.id, now);
            record_sent(d.deliverability, d.sends, &record, &activity).await?;
            Ok(Dispatched::Sent(record))
        }
        Err(MailError::Retryable(e)) => {
            tracing::warn!(lead_id = %lead.id, key = %record.key, error = %e, "provider throttled; the mail stays due");
            d.sends.release_send(&record.key).await?;
            Ok(Dispatched::RetryLater)
        }
        Err(MailError::Rejected(e)) => {
            tracing::warn!(lead_id = %lead.id, key = %record.key, error = %e, "provider rejected the mail");
            record.state = SendState::Failed;
            record.error = Some(e);
            d.sends.complete_send(&record).await?;
            Ok(Dispatched::Rejected(record))
        }
    }
}
