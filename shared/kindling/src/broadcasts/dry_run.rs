//! The dry run: every recipient of the audience rendered and checked as the sender would at
//! the scheduled time; nothing is sent and no recipient is written. Its counts are stored with
//! the broadcast under the hash of what it ran against: approval needs one, and the size guard
//! compares the frozen audience with it.

use super::audience::{exclusion, page, read_page};
use super::compose::build_mail;
use super::config::WhenCapped;
use super::lifecycle::update;
use super::{Broadcast, Broadcasts, DryRun, State};
use crate::error::{Error, Result};
use crate::ids::BroadcastId;
use crate::names::Named;
use crate::sending::ledger::SendState;
use chrono::{DateTime, Utc};

/// Failures kept with their errors (the count has them all).
pub const FAILURES_KEPT: usize = 20;
/// Leads read per page of the audience.
const PAGE: usize = 500;

/// Dry-runs a broadcast that has not started and stores what it found.
pub async fn dry_run(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    let b = k
        .store
        .get_broadcast(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no broadcast {id}")))?;
    if !matches!(b.state, State::Draft | State::Approved | State::Scheduled) {
        return Err(Error::Refused(format!(
            "broadcast {id} is {}: a dry run is for one that has not started",
            b.state.name()
        )));
    }
    let found = assess(k, &b).await?;
    let hash = found.hash.clone();
    update(k, id, by, "dry run", move |stored| {
        if stored.hash() != hash {
            return Err(Error::Refused(
                "the broadcast changed during the dry run; run it again".into(),
            ));
        }
        stored.dry_run = Some(found.clone());
        Ok(())
    })
    .await
}

/// What sending `b` at its time would do, lead by lead.
pub async fn assess(k: &Broadcasts<'_>, b: &Broadcast) -> Result<DryRun> {
    let compiled = super::cells::compile_all(b).map_err(Error::Invalid)?;
    let cfg = &k.config;
    let zone = cfg.program.default_zone;
    let mut d = DryRun {
        at: k.clock.now(),
        hash: b.hash(),
        ..DryRun::default()
    };
    let mut cursor: Option<String> = None;
    loop {
        let p = page(k, &b.audience, cursor.as_deref(), PAGE).await?;
        let (leads, suppressed) = read_page(k, &p.leads).await?;
        for id in &p.leads {
            d.audience += 1;
            let Some(lead) = leads.get(id) else {
                *d.excluded.entry("lead_gone".into()).or_default() += 1;
                continue;
            };
            if let Some(why) = exclusion(b, lead, suppressed.contains(&lead.email)) {
                *d.excluded.entry(why.into()).or_default() += 1;
                continue;
            }
            let lz = lead.zone(zone);
            // A cell renders its variant at its time; the rest every variant, any may win.
            let cell =
                b.ab.as_ref()
                    .map(|p| super::cells::cell_of(p, &b.id, &lead.id));
            let due = super::cells::schedule_of(b, cell.flatten().unwrap_or(0)).due_for(lz, zone);
            let cells: Vec<usize> = match cell {
                None => vec![0],
                Some(Some(c)) => vec![c],
                Some(None) => (0..compiled.len()).collect(),
            };
            let failed = cells
                .iter()
                .find_map(|c| build_mail(k, b, &compiled[*c], lead, due).err());
            if let Some(e) = failed {
                d.failures += 1;
                if d.failed.len() < FAILURES_KEPT {
                    d.failed.push((lead.id.clone(), e));
                }
                continue;
            }
            let allowed = cfg.sending.send_time(None, due, lz);
            if allowed > due {
                *d.deferred.entry("quiet_hours".into()).or_default() += 1;
            }
            if capped(k, &lead.id, allowed).await? {
                match cfg.broadcasts.when_capped {
                    WhenCapped::Wait => *d.deferred.entry("capped".into()).or_default() += 1,
                    WhenCapped::Skip => {
                        *d.excluded.entry("capped".into()).or_default() += 1;
                        continue;
                    }
                }
            }
            if let Some(c) = cell {
                let name = c.map_or("rest", |c| super::ab::LABELS[c]);
                *d.cells.entry(name.into()).or_default() += 1;
            }
            d.first_due = Some(d.first_due.map_or(due, |f| f.min(due)));
            d.recipients += 1;
        }
        match p.next {
            Some(n) => cursor = Some(n),
            None => return Ok(d),
        }
    }
}

/// Whether the lead's cap is full at `at`, from the sends recorded now (never, for a broadcast
/// that does not count toward the cap).
async fn capped(k: &Broadcasts<'_>, lead: &crate::ids::LeadId, at: DateTime<Utc>) -> Result<bool> {
    let Some(cap) = k.config.broadcasts.cap(k.config.sending.cap) else {
        return Ok(false);
    };
    let claimed: Vec<DateTime<Utc>> = k
        .sends
        .sends_of_lead(lead)
        .await?
        .into_iter()
        .filter(|s| s.state != SendState::Failed)
        .map(|s| s.claimed_at)
        .collect();
    Ok(cap.next_free(&claimed, at).is_some())
}
