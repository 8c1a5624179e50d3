//! The sender's part for broadcasts, in each run of the schedule after step mail: start what is
//! due (unless stale), freeze audiences into recipients, check the size guard, and hand due
//! recipients to the mailer.
//!
//! Each recipient goes out at most once: its send is claimed in the send ledger under
//! `MessageKey::Broadcast` (with the frequency cap, atomically) before the provider is called,
//! as a step's is. A crash after the provider accepted leaves the claim `sending`; the next run
//! finds it past its lease and records `unknown`, never resending. A claim found `sent` (a
//! crash before the recipient was updated) is recorded as sent. The broadcast is read again
//! before every page, so a pause or a cancel takes effect within the run.

use super::lifecycle::update;
use super::transitions::{apply, Transition};
use super::{Broadcast, Broadcasts, Hold, State};
use crate::error::{Error, Result};
use crate::ids::BroadcastId;
use crate::sending::ports::Mailer;

use serde::Serialize;

pub use super::deliver::SentBroadcast;

/// Recipients handed to the mailer between two reads of the broadcast (pause and cancel are
/// seen within this many sends).
pub const SEND_PAGE: usize = 25;
use super::transitions::SENDER;

/// What one run did with broadcasts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BroadcastReport {
    pub started: Vec<BroadcastId>,
    pub held: Vec<BroadcastId>,
    pub finished: Vec<BroadcastId>,
    /// Recipients written by freezes.
    pub frozen: u64,
    pub sent: Vec<SentBroadcast>,
    pub skipped: u64,
    pub deferred: u64,
    pub failed: u64,
    pub unknown: u64,
    pub errors: u64,
    /// The breaker holds every mail back.
    pub paused: Option<String>,
    /// The provider throttled: the rest waits for the next run.
    pub retry_later: bool,
}

/// Handles due broadcasts, at most `budget` recipients in this run.
#[tracing::instrument(name = "send_due_broadcasts", skip_all, fields(budget = budget))]
pub async fn send_due_broadcasts(
    k: &Broadcasts<'_>,
    mailer: &dyn Mailer,
    budget: usize,
) -> Result<BroadcastReport> {
    let mut report = BroadcastReport::default();
    if let Some(trip) = crate::deliverability::breaker::gate(&k.deliverability).await? {
        report.paused = Some(trip.reason);
        return Ok(report);
    }
    let mut left = budget;
    for b in k.store.active_broadcasts().await? {
        if left == 0 || report.retry_later {
            break;
        }
        let b = match b.state {
            State::Scheduled => match start_or_hold(k, b, &mut report).await? {
                Some(b) => b,
                None => continue,
            },
            State::Sending => b,
            _ => continue,
        };
        let frozen = super::freeze::freeze(k, b).await?;
        report.frozen += frozen.added;
        report.held.extend(frozen.held);
        let Some(b) = frozen.ready else {
            continue;
        };
        send_recipients(k, mailer, &b, &mut left, &mut report).await?;
    }
    Ok(report)
}

/// Starts a scheduled broadcast whose time has come, or holds it when its start is stale.
async fn start_or_hold(
    k: &Broadcasts<'_>,
    b: Broadcast,
    report: &mut BroadcastReport,
) -> Result<Option<Broadcast>> {
    let now = k.clock.now();
    let start = super::cells::starts_at(
        &b,
        k.config.program.default_zone,
        k.config.broadcasts.local_head_start,
    );
    if now < start || !b.approved() {
        return Ok(None);
    }
    let stale = now - start > k.config.broadcasts.stale_after && !b.confirmed_late;
    if !stale {
        // Before it starts, so that no open of its mail can come before the plan is found.
        super::ab_tally::publish_plan(k, &b).await?;
    }
    let moved = update(
        k,
        &b.id,
        SENDER,
        if stale { "held: stale" } else { "started" },
        |s| {
            if stale {
                apply(s, Transition::HoldStale)?;
                s.hold = Some(Hold::Stale { start });
            } else {
                apply(s, Transition::Start)?;
                s.started_at = Some(now);
            }
            Ok(())
        },
    )
    .await;
    match moved {
        Ok(b) if stale => {
            tracing::warn!(broadcast = %b.id, %start, "stale broadcast held for confirmation");
            report.held.push(b.id);
            Ok(None)
        }
        Ok(b) => {
            tracing::info!(broadcast = %b.id, "broadcast started");
            report.started.push(b.id.clone());
            Ok(Some(b))
        }
        Err(Error::Refused(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Hands due recipients to the mailer, reading the broadcast again before each page.
async fn send_recipients(
    k: &Broadcasts<'_>,
    mailer: &dyn Mailer,
    b: &Broadcast,
    left: &mut usize,
    report: &mut BroadcastReport,
) -> Result<()> {
    let compiled = super::cells::compile_all(b).map_err(Error::Invalid)?;
    while *left > 0 {
        let now = k.clock.now();
        let Some(current) = k.store.get_broadcast(&b.id).await? else {
            return Ok(());
        };
        if current.state != State::Sending {
            return Ok(());
        }
        let current = super::ab_tally::decide(k, current, now, SENDER).await?;
        let due = k
            .store
            .due_recipients(&b.id, now, (*left).min(SEND_PAGE))
            .await?;
        if due.is_empty() {
            if k.store.next_due(&b.id).await?.is_none() {
                finish(k, b, report).await?;
            }
            return Ok(());
        }
        let ids: Vec<_> = due.iter().map(|r| r.lead_id.clone()).collect();
        let (mut leads, suppressed) = super::audience::read_page(k, &ids).await?;
        if k.config.broadcasts.counts_toward_cap {
            k.sends.prefetch_ledgers(&ids).await?;
        }
        // The page's outcomes are written together at its end (one batch on DynamoDB).
        let mut settled = Vec::with_capacity(due.len());
        let mut retry_later = false;
        for r in due {
            *left -= 1;
            let lead = leads.remove(&r.lead_id);
            let barred = lead.as_ref().is_some_and(|l| suppressed.contains(&l.email));
            let to = super::deliver::To {
                lead,
                suppressed: barred,
            };
            let page = super::deliver::Page {
                broadcast: &current,
                compiled: &compiled,
                now,
            };
            match super::deliver::send_one(k, mailer, &page, r, to, &mut settled).await {
                Ok(super::deliver::Outcome::Sent(m)) => report.sent.push(m),
                Ok(super::deliver::Outcome::Skipped) => report.skipped += 1,
                Ok(super::deliver::Outcome::Deferred) => report.deferred += 1,
                Ok(super::deliver::Outcome::Failed) => report.failed += 1,
                Ok(super::deliver::Outcome::Unknown) => report.unknown += 1,
                Ok(super::deliver::Outcome::InProgress) => {}
                Ok(super::deliver::Outcome::RetryLater) => {
                    retry_later = true;
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %crate::error::Report(&e), "broadcast send failed; the recipient stays queued");
                    report.errors += 1;
                }
            }
        }
        k.store.update_recipients(&settled).await?;
        if retry_later {
            report.retry_later = true;
            return Ok(());
        }
    }
    Ok(())
}

async fn finish(k: &Broadcasts<'_>, b: &Broadcast, report: &mut BroadcastReport) -> Result<()> {
    let now = k.clock.now();
    let done = update(k, &b.id, SENDER, "sent", |s| {
        apply(s, Transition::Finish)?;
        s.finished_at = Some(now);
        Ok(())
    })
    .await;
    match done {
        Ok(b) => {
            tracing::info!(broadcast = %b.id, "broadcast sent");
            report.finished.push(b.id);
            Ok(())
        }
        Err(Error::Refused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
