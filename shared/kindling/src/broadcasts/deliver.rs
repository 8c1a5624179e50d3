//! One recipient of a broadcast: the checks at send time (consent, suppression, quiet hours),
//! the claim under the cap, the provider, and the records, in that order (see [`super::run`]).

use super::ab::{pick, Pick};
use super::ab_tally::count_sent;
use super::audience::exclusion;
use super::compose::{build_mail, key_of};
use super::config::WhenCapped;
use super::{Broadcast, Broadcasts, Recipient, RecipientState};
use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::error::Result;
use crate::ids::{ActivityId, BroadcastId, TemplateId};
use crate::sending::ledger::{SendRecord, SendState, CLAIM_LEASE_MINUTES};
use crate::sending::ports::{MailError, Mailer, OutgoingMail, SendClaim};
use crate::tracking::record_activity;
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

async fn settle(
    k: &Broadcasts<'_>,
    mut r: Recipient,
    state: RecipientState,
    reason: Option<String>,
    now: DateTime<Utc>,
    outcome: Outcome,
) -> Result<Outcome> {
    r.state = state;
    r.reason = reason;
    r.at = Some(now);
    k.store.update_recipient(&r).await?;
    Ok(outcome)
}

async fn defer(k: &Broadcasts<'_>, mut r: Recipient, until: DateTime<Utc>) -> Result<Outcome> {
    r.due_at = until;
    k.store.update_recipient(&r).await?;
    Ok(Outcome::Deferred)
}

/// The recipient's lead and whether its address is suppressed, as read with its page.
pub(super) struct To {
    pub lead: Option<crate::leads::Lead>,
    pub suppressed: bool,
}

/// One recipient: checks at send time, the claim, the provider, the records.
pub(super) async fn send_one(
    k: &Broadcasts<'_>,
    mailer: &dyn Mailer,
    b: &Broadcast,
    compiled: &[super::content::Compiled],
    r: Recipient,
    to: To,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    use RecipientState as R;
    let Some(lead) = to.lead else {
        return settle(
            k,
            r,
            R::Skipped,
            Some("lead_gone".into()),
            now,
            Outcome::Skipped,
        )
        .await;
    };
    if let Some(why) = exclusion(b, &lead, to.suppressed) {
        return settle(k, r, R::Skipped, Some(why.into()), now, Outcome::Skipped).await;
    }
    let zone = lead.zone(k.config.program.default_zone);
    let (cell, counted) = match pick(b, &lead.id, zone, k.config.program.default_zone) {
        Pick::Cell(c, counted) => (c, counted),
        Pick::Rest { winner, due } => {
            let due = k.config.sending.send_time(None, due, zone);
            if due > now {
                return defer(k, r, due).await;
            }
            (winner, false)
        }
        Pick::Undecided => {
            let until = b.freeze.decide_at.unwrap_or(now).max(now) + Duration::minutes(5);
            return defer(k, r, until).await;
        }
    };
    let allowed = k.config.sending.send_time(None, now, zone);
    if allowed > now {
        return defer(k, r, allowed).await;
    }
    let Some(compiled) = compiled.get(cell) else {
        return settle(
            k,
            r,
            R::Failed,
            Some(format!("no A/B cell {cell}")),
            now,
            Outcome::Failed,
        )
        .await;
    };
    let composed = match build_mail(k, b, compiled, &lead, now) {
        Ok(m) => m,
        Err(e) => return settle(k, r, R::Failed, Some(e), now, Outcome::Failed).await,
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
                WhenCapped::Wait => {
                    defer(k, r, k.config.sending.send_time(None, until, zone)).await
                }
                WhenCapped::Skip => {
                    settle(
                        k,
                        r,
                        R::Skipped,
                        Some("capped".into()),
                        now,
                        Outcome::Skipped,
                    )
                    .await
                }
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
                    settle(k, r, R::Unknown, existing.error, now, Outcome::Unknown).await
                }
                SendState::Sent => {
                    // A sender died after recording the send: finish what it did not (each
                    // of these is idempotent), so the count and the activity are not lost.
                    let at = existing.sent_at.unwrap_or(existing.claimed_at);
                    crate::deliverability::breaker::count_send(&k.deliverability, &key, at).await?;
                    if counted {
                        count_sent(k, b, cell, &lead.id, at).await?;
                    }
                    record_activity(&k.record, &sent_activity(&key, &lead, at)).await?;
                    settle(k, r, R::Sent, None, at, Outcome::Skipped).await
                }
                SendState::Failed => {
                    settle(k, r, R::Failed, existing.error, now, Outcome::Failed).await
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
            k.sends.complete_send(&record).await?;
            crate::deliverability::breaker::count_send(&k.deliverability, &key, now).await?;
            if counted {
                count_sent(k, b, cell, &lead.id, now).await?;
            }
            record_activity(&k.record, &sent_activity(&key, &lead, now)).await?;
            let sent = SentBroadcast {
                broadcast_id: b.id.clone(),
                lead_id: lead.id.clone(),
                to: lead.email.clone(),
                subject: composed.subject,
                at: now,
            };
            settle(k, r, R::Sent, None, now, Outcome::Sent(sent)).await
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
            settle(k, r, R::Failed, Some(e), now, Outcome::Failed).await
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
