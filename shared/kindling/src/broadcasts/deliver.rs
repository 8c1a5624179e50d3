//! One recipient of a broadcast: the checks at send time (consent, suppression, quiet hours),
//! the claim under the cap, the provider, and the records, in that order (see [`super::run`]).

use super::ab::{pick, Pick};
use super::ab_tally::count_sent;
use super::audience::exclusion;
use super::compose::{build_mail, key_of};
use super::config::WhenCapped;
use super::{Broadcast, Broadcasts, Recipient, RecipientState};
use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::deliverability::breaker::{finish_sent, record_sent};
use crate::error::Result;
use crate::ids::{ActivityId, BroadcastId, TemplateId};
use crate::sending::ledger::{SendRecord, SendState, CLAIM_LEASE_MINUTES};
use crate::sending::ports::{MailError, Mailer, OutgoingMail, SendClaim};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// One broadcast mail handed to the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentBroadcast {
    pub broadcast_id: BroadcastId,
    pub lead_id: crate::ids::LeadId,
    pub to: crate::email::EmailAddress,
    pub subject: String,
    pub at: DateTime<Utc>,
}

/// What became of one recipient.
pub(super) enum Outcome {
    Sent(SentBroadcast),
    Skipped,
    Deferred,
    Failed,
    Unknown,
    InProgress,
    RetryLater,
}

/// A recipient's outcome, for the sender to write with its page ([`super::run`]).
fn settle(
    out: &mut Vec<Recipient>,
    mut r: Recipient,
    state: RecipientState,
    reason: Option<String>,
    now: DateTime<Utc>,
    outcome: Outcome,
) -> Result<Outcome> {
    r.state = state;
    r.reason = reason;
    r.at = Some(now);
    out.push(r);
    Ok(outcome)
}

/// A recipient due later, for the sender to write with its page.
fn defer(out: &mut Vec<Recipient>, mut r: Recipient, until: DateTime<Utc>) -> Result<Outcome> {
    r.due_at = until;
    out.push(r);
    Ok(Outcome::Deferred)
}

/// The recipient's lead and whether its address is suppressed, as read with its page.
pub(super) struct To {
    pub lead: Option<crate::leads::Lead>,
    pub suppressed: bool,
}

/// What a page of recipients shares: the broadcast as read before it, each cell's content
/// compiled, and the time.
pub(super) struct Page<'a> {
    pub broadcast: &'a Broadcast,
    pub compiled: &'a [super::content::Compiled],
    pub now: DateTime<Utc>,
}

/// One recipient: checks at send time, the claim, the provider, the records. Its outcome (or
/// its new due time) goes to `out`, which the sender writes with the page: a sender that dies
/// before leaves the recipient queued, and the next run settles it from its claim.
pub(super) async fn send_one(
    k: &Broadcasts<'_>,
    mailer: &dyn Mailer,
    page: &Page<'_>,
    r: Recipient,
    to: To,
    out: &mut Vec<Recipient>,
) -> Result<Outcome> {
    use RecipientState as R;
    let (b, compiled, now) = (page.broadcast, page.compiled, page.now);
    let Some(lead) = to.lead else {
        return settle(
            out,
            r,
            R::Skipped,
            Some("lead_gone".into()),
            now,
            Outcome::Skipped,
        );
    };
    if let Some(why) = exclusion(b, &lead, to.suppressed) {
        return settle(out, r, R::Skipped, Some(why.into()), now, Outcome::Skipped);
    }
    let zone = lead.zone(k.config.program.default_zone);
    let (cell, counted) = match pick(b, &lead.id, zone, k.config.program.default_zone) {
        Pick::Cell(c, counted) => (c, counted),
        Pick::Rest { winner, due } => {
            let due = k.config.sending.send_time(None, due, zone);
            if due > now {
                return defer(out, r, due);
            }
            (winner, false)
        }
        Pick::Undecided => {
            let until = b.freeze.decide_at.unwrap_or(now).max(now) + Duration::minutes(5);
            return defer(out, r, until);
        }
    };
    let allowed = k.config.sending.send_time(None, now, zone);
    if allowed > now {
        return defer(out, r, allowed);
    }
    let Some(compiled) = compiled.get(cell) else {
        return settle(
            out,
            r,
            R::Failed,
            Some(format!("no A/B cell {cell}")),
            now,
            Outcome::Failed,
        );
    };
    let composed = match build_mail(k, b, compiled, &lead, now) {
        Ok(m) => m,
        Err(e) => return settle(out, r, R::Failed, Some(e), now, Outcome::Failed),
    };
    let key = key_of(b, &lead);
    let mut record = SendRecord {
        key: key.clone(),
        sequence_id: None,
        template: TemplateId::new(format!("@{}", b.id)),
        state: SendState::Sending,
        claimed_at: now,
        sent_at: None,
        provider_message_id: None,
        links: composed.links.clone(),
        error: None,
    };
    match k
        .sends
        .claim_send(&record, k.config.broadcasts.cap(k.config.sending.cap), now)
        .await?
    {
        SendClaim::Claimed => {}
        SendClaim::CapReached { until } => {
            return match k.config.broadcasts.when_capped {
                WhenCapped::Wait => defer(out, r, k.config.sending.send_time(None, until, zone)),
                WhenCapped::Skip => settle(
                    out,
                    r,
                    R::Skipped,
                    Some("capped".into()),
                    now,
                    Outcome::Skipped,
                ),
            }
        }
        SendClaim::Exists(mut existing) => {
            return match existing.state {
                SendState::Sending
                    if now - existing.claimed_at < Duration::minutes(CLAIM_LEASE_MINUTES) =>
                {
                    Ok(Outcome::InProgress)
                }
                SendState::Sending | SendState::Unknown => {
                    tracing::warn!(lead_id = %lead.id, broadcast = %b.id, "abandoned broadcast claim marked unknown");
                    if existing.state == SendState::Sending {
                        existing.state = SendState::Unknown;
                        existing.error = Some("sender stopped between claim and record".into());
                        k.sends.complete_send(&existing).await?;
                    }
                    settle(out, r, R::Unknown, existing.error, now, Outcome::Unknown)
                }
                SendState::Sent => {
                    // A sender died after recording the send: finish what it did not (each
                    // of these is idempotent), so the count and the activity are not lost.
                    let at = existing.sent_at.unwrap_or(existing.claimed_at);
                    if counted {
                        count_sent(k, b, cell, &lead.id, at).await?;
                    }
                    let activity = sent_activity(&key, &lead, at);
                    finish_sent(&k.deliverability, &k.record, &existing, &activity).await?;
                    settle(out, r, R::Sent, None, at, Outcome::Skipped)
                }
                SendState::Failed => {
                    settle(out, r, R::Failed, existing.error, now, Outcome::Failed)
                }
            };
        }
    }
    let mail = OutgoingMail {
        key: key.clone(),
        from: k.config.sender.from_address.clone(),
        to: lead.email.clone(),
        raw: composed.raw,
    };
    match mailer.send(&mail).await {
        Ok(message_id) => {
            record.state = SendState::Sent;
            record.sent_at = Some(now);
            record.provider_message_id = Some(message_id);
            let activity = sent_activity(&key, &lead, now);
            record_sent(&k.deliverability, k.sends, &k.record, &record, &activity).await?;
            if counted {
                count_sent(k, b, cell, &lead.id, now).await?;
            }
            let sent = SentBroadcast {
                broadcast_id: b.id.clone(),
                lead_id: lead.id.clone(),
                to: lead.email.clone(),
                subject: composed.subject,
                at: now,
            };
            settle(out, r, R::Sent, None, now, Outcome::Sent(sent))
        }
        Err(MailError::Retryable(e)) => {
            tracing::warn!(lead_id = %lead.id, broadcast = %b.id, error = %e, "provider throttled; the recipient stays queued");
            k.sends.release_send(&key).await?;
            Ok(Outcome::RetryLater)
        }
        Err(MailError::Rejected(e)) => {
            record.state = SendState::Failed;
            record.error = Some(e.clone());
            k.sends.complete_send(&record).await?;
            settle(out, r, R::Failed, Some(e), now, Outcome::Failed)
        }
    }
}

/// The `email_sent` activity of a broadcast's mail: one id per (broadcast, lead).
fn sent_activity(
    key: &crate::message::MessageKey,
    lead: &crate::leads::Lead,
    at: DateTime<Utc>,
) -> Activity {
    Activity {
        id: ActivityId::new(format!("sent_{}", key.id_part())),
        subject: Subject::Lead(lead.id.clone()),
        kind: ActivityKind::EmailSent,
        at,
        attrs: Attrs::of_message(key, None),
    }
}
