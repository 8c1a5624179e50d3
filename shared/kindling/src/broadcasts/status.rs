//! Where a broadcast stands, for `kindling broadcast show` and the admin API: its record,
//! its recipients by state and reason, and when it will be done at its rate so far.

use super::{Broadcast, Broadcasts, Progress, State};
use crate::error::{Error, Result};
use crate::ids::BroadcastId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A broadcast with its progress (also what the admin API answers, read back by the CLI's
/// `--api`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub broadcast: Broadcast,
    /// The hash an approval must match now.
    pub hash: String,
    /// Approved as it is now.
    pub approved: bool,
    pub progress: Progress,
    /// Recipients handled (sent, skipped, failed or unknown) per minute since it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<f64>,
    /// When the queued ones will have been handled at that rate (quiet hours and local times
    /// may make it later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    /// Its A/B test's standing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<AbStatus>,
}

/// An A/B test's cells so far and what they say now (the decision, once made, is on the
/// broadcast).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbStatus {
    /// Sends, human opens and clicks per cell, A first.
    pub cells: Vec<crate::sending::ab::VariantResult>,
    /// What judging them now would say.
    pub verdict: crate::sending::ab::Verdict,
    /// When they are judged (known once the cells are frozen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decides_at: Option<DateTime<Utc>>,
}

/// The status of one broadcast.
pub async fn status(k: &Broadcasts<'_>, id: &BroadcastId) -> Result<Status> {
    let b = k
        .store
        .get_broadcast(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no broadcast {id}")))?;
    let progress = k.store.progress(id).await?;
    let now = k.clock.now();
    let handled = progress.total() - progress.queued;
    let rate_per_minute = b.started_at.and_then(|s| {
        let minutes = (now - s).num_seconds() as f64 / 60.0;
        (minutes >= 1.0 && handled > 0).then(|| handled as f64 / minutes)
    });
    let eta = match (b.state, rate_per_minute) {
        (State::Sending, Some(r)) => {
            let minutes = (progress.queued as f64 / r).ceil() as i64;
            let next = k.store.next_due(id).await?.unwrap_or(now).max(now);
            Some(next + chrono::Duration::minutes(minutes))
        }
        _ => None,
    };
    let ab = match &b.ab {
        Some(plan) => {
            let cells = super::ab_tally::results(k, &b).await?;
            Some(AbStatus {
                verdict: super::ab_tally::judge(plan, &cells).1,
                cells,
                decides_at: b.freeze.decide_at,
            })
        }
        None => None,
    };
    Ok(Status {
        ab,
        hash: b.hash(),
        approved: b.approved(),
        broadcast: b,
        progress,
        rate_per_minute,
        eta,
    })
}
