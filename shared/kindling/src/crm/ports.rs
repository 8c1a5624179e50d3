//! The CRM sync's health, from whatever carries the upserts: the local bus's queue and dead
//! letters, or the API destination's dead-letter queue on AWS.

use crate::ports::PortResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where the upserts stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Where they go: the webhook's URL, or the API destination.
    pub target: String,
    /// Upserts waiting to be delivered (ready or backing off); `None` where the carrier cannot
    /// tell (EventBridge retries inside the service).
    pub backlog: Option<u64>,
    /// When the oldest waiting one was published.
    pub oldest_waiting_at: Option<DateTime<Utc>>,
    /// Upserts delivered so far; `None` where the carrier does not count them.
    pub delivered: Option<u64>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Upsert given up on (24 hours of retries, or refused by the receiver).
    pub dead: u64,
    /// The newest failures (at most [`MAX_FAILURES`]): retrying ones and dead ones, with why.
    pub failures: Vec<SyncFailure>,
}

/// How many failures a status lists.
pub const MAX_FAILURES: usize = 20;

/// One upsert that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFailure {
    /// The upsert's id (`crm_...`): what `sync replay` takes.
    pub id: String,
    pub lead_id: Option<String>,
    pub attempts: u32,
    pub error: String,
    /// When it last failed.
    pub at: DateTime<Utc>,
    /// Given up on (a dead letter), or still retrying.
    pub dead: bool,
}

/// Which dead upserts to send again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    One(String),
    AllDead,
}

/// Reads the sync's state and replays dead upserts.
#[async_trait]
pub trait SyncLedger: Send + Sync {
    /// Where the upserts stand.
    async fn status(&self) -> PortResult<SyncStatus>;
    /// Puts dead upserts back to be delivered; returns their ids (none: nothing matched).
    async fn replay(&self, which: &Replay) -> PortResult<Vec<String>>;
}
