//! The segment membership port: who is in each segment, readable without walking every lead.
//!
//! The lead's own record says which segments it is in ([`crate::leads::Lead::segments`]); this
//! index says who is in a segment and how many, for `segment members`, the admin API and
//! broadcasts. A rescore writes it only when a lead enters or leaves, before the lead itself, so
//! a retried rescore finds its entry there and the count does not move twice.

use crate::error::PortError;
use crate::ids::{LeadId, SegmentId};
use crate::ports::{PortResult, Put};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How many partitions a segment's members are spread over (by lead), so that a large segment
/// filling up at once has no hot partition. Pages walk them in order.
pub const SHARDS: u8 = 8;

/// The shard of a lead (FNV-1a: stable across processes and versions).
pub fn shard_of(lead: &LeadId) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in lead.as_str().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % u32::from(SHARDS)) as u8
}

/// A member of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub lead_id: LeadId,
    /// When it entered.
    pub since: DateTime<Utc>,
}

/// A lead entering or leaving, as the index remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MemberChange {
    pub lead_id: LeadId,
    pub entered: bool,
    pub at: DateTime<Utc>,
}

/// Where a page of members resumes: after this lead, in this shard. Written `3.lead-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub shard: u8,
    pub after: LeadId,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.shard, self.after)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("cursor {s:?} is not one this API returned");
        let (shard, after) = s.split_once('.').ok_or_else(bad)?;
        let shard: u8 = shard.parse().map_err(|_| bad())?;
        if shard >= SHARDS || after.is_empty() || after.len() > 200 {
            return Err(bad());
        }
        Ok(Cursor {
            shard,
            after: LeadId::new(after),
        })
    }
}

/// A page of members, in (shard, lead id) order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberPage {
    pub members: Vec<Member>,
    /// Pass back for the next page; `None` after the last.
    pub next: Option<Cursor>,
}

/// Who is in each segment.
#[async_trait]
pub trait SegmentMembers: Send + Sync {
    /// Adds a member and counts it; `Existed` (nothing changes, the count neither) if the lead
    /// is a member already.
    async fn add_member(&self, segment: &SegmentId, member: &Member) -> PortResult<Put>;
    /// Removes a member and uncounts it; `false` (nothing changes) if it was not one.
    async fn remove_member(
        &self,
        segment: &SegmentId,
        lead: &LeadId,
        at: DateTime<Utc>,
    ) -> PortResult<bool>;
    /// How many members the segment has, exactly.
    async fn member_count(&self, segment: &SegmentId) -> PortResult<u64>;
    /// Up to `limit` members after `after`, in (shard, lead id) order.
    async fn members(
        &self,
        segment: &SegmentId,
        after: Option<&Cursor>,
        limit: usize,
    ) -> PortResult<MemberPage>;
    /// The latest entries and departures, newest first: at least the last one of each shard,
    /// at most `limit`.
    async fn recent_changes(
        &self,
        segment: &SegmentId,
        limit: usize,
    ) -> PortResult<Vec<MemberChange>>;
}

/// Every member of a segment, all pages (admin and batch use).
pub async fn all_members(
    store: &dyn SegmentMembers,
    segment: &SegmentId,
) -> Result<Vec<Member>, PortError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.members(segment, after.as_ref(), 500).await?;
        out.extend(page.members);
        match page.next {
            Some(c) => after = Some(c),
            None => return Ok(out),
        }
    }
}
