//! The broadcast store: broadcasts (few, each updated under its version) and their recipients
//! (many, one record per (broadcast, lead), written when the audience is frozen).

use super::{Broadcast, Progress, Recipient};
use crate::ids::{BroadcastId, LeadId};
use crate::ports::{Cas, PortResult, Put};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Broadcasts and their recipients.
#[async_trait]
pub trait BroadcastStore: Send + Sync {
    /// Inserts a new broadcast (version 0); `Existed` if the id is taken.
    async fn create_broadcast(&self, b: &Broadcast) -> PortResult<Put>;
    /// One broadcast.
    async fn get_broadcast(&self, id: &BroadcastId) -> PortResult<Option<Broadcast>>;
    /// Replaces the broadcast if the stored version equals `b.version`, storing `version + 1`.
    async fn update_broadcast(&self, b: &Broadcast) -> PortResult<Cas>;
    /// Every broadcast, newest first (admin use).
    async fn list_broadcasts(&self) -> PortResult<Vec<Broadcast>>;
    /// The broadcasts the sender has work for (scheduled or sending), oldest first, without
    /// reading the finished ones: what every scheduler run asks.
    async fn active_broadcasts(&self) -> PortResult<Vec<Broadcast>>;
    /// Writes the queued recipients of a freeze page, idempotently: one record per (broadcast,
    /// lead), however often the page is written. The sender writes pages only before it
    /// handles any recipient of the broadcast, so writing one again may keep or replace what
    /// it wrote (SQLite keeps it; DynamoDB's batched write replaces it with the same record).
    async fn add_recipients(&self, recipients: &[Recipient]) -> PortResult<()>;
    /// Up to `limit` queued recipients of `broadcast` due at or before `now`, earliest first.
    async fn due_recipients(
        &self,
        broadcast: &BroadcastId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>>;
    /// When the earliest queued recipient is due; `None` when none is queued.
    async fn next_due(&self, broadcast: &BroadcastId) -> PortResult<Option<DateTime<Utc>>>;
    /// Overwrites one recipient's record (its state, reason, due time).
    async fn update_recipient(&self, r: &Recipient) -> PortResult<()>;
    /// Overwrites the records of recipients that exist, in as few writes as the store can
    /// (the sender writes a page's outcomes together). Unconditional: the claim in the send
    /// ledger, not this write, decides who sends, so two writers write the same outcome.
    async fn update_recipients(&self, rs: &[Recipient]) -> PortResult<()> {
        for r in rs {
            self.update_recipient(r).await?;
        }
        Ok(())
    }
    /// One recipient.
    async fn get_recipient(
        &self,
        broadcast: &BroadcastId,
        lead: &LeadId,
    ) -> PortResult<Option<Recipient>>;
    /// Up to `limit` recipients after lead `after`, in lead id order.
    async fn recipients(
        &self,
        broadcast: &BroadcastId,
        after: Option<&LeadId>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>>;
    /// The recipients by state (and skipped ones by reason).
    async fn progress(&self, broadcast: &BroadcastId) -> PortResult<Progress>;
}
