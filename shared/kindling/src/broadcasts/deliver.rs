//! One recipient of a broadcast: the checks at send time (consent, suppression, quiet hours),
//! the claim under the cap, the provider, and the records, in that order (see [`super::run`]).

use super::ab_tally::count_sent;
use super::audience::exclusion;
use super::cells::{pick, Pick};
use super::compose::{build_mail, key_of};
use super::config::WhenCapped;
use super::{Broadcast, Broadcasts, Recipient, RecipientState};
use crate::dispatch::{dispatch, Dispatch, Dispatched, Letter};
use crate::error::Result;
use crate::ids::{BroadcastId, TemplateId};
use crate::sending::ledger::{SendRecord, SendState};
use crate::sending::ports::Mailer;
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
    let record = SendRecord {
        key,
        sequence_id: None,
        template: TemplateId::new(format!("@{}", b.id)),
        state: SendState::Sending,
        claimed_at: now,
        sent_at: None,
        provider_message_id: None,
        links: composed.links.clone(),
        error: None,
    };
    let letter = Letter {
        record,
        lead: &lead,
        raw: composed.raw,
        cap: k.config.broadcasts.cap(k.config.sending.cap),
    };
    let d = Dispatch {
        sends: k.sends,
        deliverability: &k.deliverability,
        from: &k.config.sender.from_address,
    };
    match dispatch(&d, mailer, letter, now).await? {
        Dispatched::Sent(_) => {
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
        Dispatched::Recovered(existing) => {
            let at = existing.sent_at.unwrap_or(existing.claimed_at);
            if counted {
                count_sent(k, b, cell, &lead.id, at).await?;
            }
            settle(out, r, R::Sent, None, at, Outcome::Skipped)
        }
        Dispatched::Capped { until } => match k.config.broadcasts.when_capped {
            WhenCapped::Wait => defer(out, r, k.config.sending.send_time(None, until, zone)),
            WhenCapped::Skip => settle(
                out,
                r,
                R::Skipped,
                Some("capped".into()),
                now,
                Outcome::Skipped,
            ),
        },
        Dispatched::InProgress => Ok(Outcome::InProgress),
        Dispatched::Abandoned(existing) => {
            settle(out, r, R::Unknown, existing.error, now, Outcome::Unknown)
        }
        Dispatched::Settled(existing) if existing.state == SendState::Failed => {
            settle(out, r, R::Failed, existing.error, now, Outcome::Failed)
        }
        Dispatched::Settled(existing) => {
            settle(out, r, R::Unknown, existing.error, now, Outcome::Unknown)
        }
        Dispatched::RetryLater => Ok(Outcome::RetryLater),
        Dispatched::Rejected(record) => {
            settle(out, r, R::Failed, record.error, now, Outcome::Failed)
        }
    }
}
