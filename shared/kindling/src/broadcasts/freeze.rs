//! Freezing a broadcast's audience into recipients when it starts: page by page of the
//! audience, each lead's due time (its cell's, with an A/B test, in its zone or the program's,
//! out of quiet hours), and at the end the size guard, which holds an audience larger than
//! approved until a person confirms it.

use super::audience::page;
use super::config::SIZE_GUARD_RATIO;
use super::lifecycle::update;
use super::transitions::{apply, Transition, SENDER};
use super::{Broadcast, Broadcasts, Hold, Recipient, RecipientState, State};
use crate::error::{Error, Result};
use crate::ids::BroadcastId;
use crate::leads::Lead;

/// Leads frozen per page of the audience.
pub const FREEZE_PAGE: usize = 500;

/// What freezing did in this run.
#[derive(Debug, Default)]
pub(super) struct Frozen {
    /// Recipients written.
    pub added: u64,
    /// The broadcast, once every recipient is written and no guard holds it: send them.
    pub ready: Option<Broadcast>,
    /// Held by the size guard in this run.
    pub held: Option<BroadcastId>,
}

/// Freezes the audience into recipients, page by page; at the end checks the size guard.
/// Returns the broadcast when its recipients may be sent.
pub(super) async fn freeze(k: &Broadcasts<'_>, mut b: Broadcast) -> Result<Frozen> {
    let mut out = Frozen::default();
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
        out.added += added;
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
                    apply(s, Transition::HoldSize)?;
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
            Err(Error::Refused(_)) => return Ok(out),
            Err(e) => return Err(e),
        };
        if b.state != State::Sending {
            tracing::warn!(broadcast = %b.id, frozen = b.freeze.count, "size guard holds the broadcast");
            out.held = Some(b.id);
            return Ok(out);
        }
    }
    out.ready = Some(b);
    Ok(out)
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
        Some(plan) => match (super::cells::cell_of(plan, &b.id, &lead.id), cells_phase) {
            (Some(c), true) => {
                let due = super::cells::schedule_of(b, c).due_for(lz, zone);
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
