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

use super::audience::page;
use super::config::SIZE_GUARD_RATIO;
use super::lifecycle::update;
use super::{Broadcast, Broadcasts, Hold, Recipient, RecipientState, State};
use crate::error::{Error, Result};
use crate::ids::BroadcastId;
use crate::leads::Lead;
use crate::sending::ports::Mailer;

use serde::Serialize;

pub use super::deliver::SentBroadcast;

/// Recipients handed to the mailer between two reads of the broadcast (pause and cancel are
/// seen within this many sends).
pub const SEND_PAGE: usize = 25;
/// Leads frozen per page of the audience.
pub const FREEZE_PAGE: usize = 500;
/// Who the sender's own moves are recorded as.
const SENDER: &str = "kindling";

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
            State::Scheduled => match start(k, b, &mut report).await? {
                Some(b) => b,
                None => continue,
            },
            State::Sending => b,
            _ => continue,
        };
        let Some(b) = freeze(k, b, &mut report).await? else {
            continue;
        };
        send_recipients(k, mailer, &b, &mut left, &mut report).await?;
    }
    Ok(report)
}

/// Starts a scheduled broadcast whose time has come, or holds it when its start is stale.
async fn start(
    k: &Broadcasts<'_>,
    b: Broadcast,
    report: &mut BroadcastReport,
) -> Result<Option<Broadcast>> {
    let now = k.clock.now();
    let start = super::ab::start(&b, k.config.program.default_zone);
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
            if s.state != State::Scheduled {
                return Err(Error::Refused("moved on meanwhile".into()));
            }
            if stale {
                s.state = State::Paused;
                s.hold = Some(Hold::Stale { start });
            } else {
                s.state = State::Sending;
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

/// Freezes the audience into recipients, page by page; at the end checks the size guard.
/// Returns the broadcast when its recipients may be sent.
async fn freeze(
    k: &Broadcasts<'_>,
    mut b: Broadcast,
    report: &mut BroadcastReport,
) -> Result<Option<Broadcast>> {
    let zone = k.config.program.default_zone;
    while !b.freeze.done {
        let from = b.freeze.cursor.clone();
        let cells_phase = b.ab.is_some() && !b.freeze.cells_done;
        let p = page(k, &b.audience, from.as_deref(), FREEZE_PAGE).await?;
        let rs: Vec<Recipient> = k
            .leads
            .get_leads(&p.leads)
            .await?
            .iter()
            .filter_map(|lead| queued(k, &b, lead, zone, cells_phase))
            .collect();
        k.store.add_recipients(&rs).await?;
        // The count moves with the cursor in one write, so a retried page counts once.
        let added = rs.len() as u64;
        report.frozen += added;
        let last_due = rs.iter().map(|r| r.due_at).max();
        let next = p.next.clone();
        let guard = size_limit(k, &b);
        let now = k.clock.now();
        let wait = chrono::Duration::hours(b.ab.as_ref().map_or(0, |a| i64::from(a.wait_hours)));
        let moved = update(k, &b.id, SENDER, "audience page frozen", |s| {
            if s.state != State::Sending
                || s.freeze.cursor != from
                || (s.ab.is_some() && s.freeze.cells_done == cells_phase)
            {
                return Err(Error::Refused("moved on meanwhile".into()));
            }
            s.freeze.count += added;
            s.freeze.cursor.clone_from(&next);
            if cells_phase {
                s.freeze.cells_due = s.freeze.cells_due.max(last_due);
                if next.is_none() {
                    // The cells are written: walk the audience again for the rest, due when
                    // the cells are judged.
                    s.freeze.cells_done = true;
                    s.freeze.decide_at = Some(s.freeze.cells_due.unwrap_or(now).max(now) + wait);
                }
                return Ok(());
            }
            s.freeze.done = next.is_none();
            if s.freeze.done && !s.confirmed_size {
                if let Some(limit) = guard.filter(|l| s.freeze.count > *l) {
                    s.state = State::Paused;
                    s.hold = Some(Hold::SizeGuard {
                        frozen: s.freeze.count,
                        limit,
                    });
                }
            }
            Ok(())
        })
        .await;
        b = match moved {
            Ok(b) => b,
            Err(Error::Refused(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if b.state != State::Sending {
            tracing::warn!(broadcast = %b.id, frozen = b.freeze.count, "size guard holds the broadcast");
            report.held.push(b.id);
            return Ok(None);
        }
    }
    Ok(Some(b))
}

/// The largest audience that starts without confirmation: twice the approved dry run's, and
/// at most `broadcasts.max_audience`.
fn size_limit(k: &Broadcasts<'_>, b: &Broadcast) -> Option<u64> {
    let dry = b
        .dry_run
        .as_ref()
        .map(|d| d.audience.max(1) * SIZE_GUARD_RATIO);
    match (dry, k.config.broadcasts.max_audience) {
        (Some(a), Some(m)) => Some(a.min(m)),
        (a, m) => a.or(m),
    }
}

/// A lead's recipient record: due at the broadcast's time (its cell's, with an A/B test) in its
/// zone (or the program's), out of quiet hours. With an A/B test, the cells' walk writes only
/// the cells and the rest's walk only the rest, due at the decision.
fn queued(
    k: &Broadcasts<'_>,
    b: &Broadcast,
    lead: &Lead,
    zone: chrono_tz::Tz,
    cells_phase: bool,
) -> Option<Recipient> {
    let lz = lead.zone(zone);
    let due_at = match &b.ab {
        None => k
            .config
            .sending
            .send_time(None, b.schedule.due_for(lz, zone), lz),
        Some(plan) => match (super::ab::cell_of(plan, &b.id, &lead.id), cells_phase) {
            (Some(c), true) => {
                let due = super::ab::schedule_of(b, c).due_for(lz, zone);
                k.config.sending.send_time(None, due, lz)
            }
            (None, false) => b.freeze.decide_at?,
            _ => return None,
        },
    };
    Some(Recipient {
        broadcast_id: b.id.clone(),
        lead_id: lead.id.clone(),
        due_at,
        state: RecipientState::Queued,
        reason: None,
        at: None,
    })
}

/// Hands due recipients to the mailer, reading the broadcast again before each page.
async fn send_recipients(
    k: &Broadcasts<'_>,
    mailer: &dyn Mailer,
    b: &Broadcast,
    left: &mut usize,
    report: &mut BroadcastReport,
) -> Result<()> {
    let compiled = super::ab::compile_all(b).map_err(Error::Invalid)?;
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
        if s.state != State::Sending {
            return Err(Error::Refused("moved on meanwhile".into()));
        }
        s.state = State::Sent;
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
