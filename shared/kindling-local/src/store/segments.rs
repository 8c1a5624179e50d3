//! Segment members: an indexed table (count and pages without reading every lead), and a log of
//! entries and departures for `segment show`.

use super::SqliteStore;
use crate::db::{err, parse_ts, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::ids::{LeadId, SegmentId};
use kindling::ports::{PortResult, Put};
use kindling::segments::ports::{
    shard_of, Cursor, Member, MemberChange, MemberPage, SegmentMembers,
};
use rusqlite::params;

/// Entries and departures kept per segment (older ones are deleted as new ones come).
const CHANGES_KEPT: i64 = 200;

impl SqliteStore {
    fn log_change(
        tx: &rusqlite::Transaction<'_>,
        segment: &SegmentId,
        lead: &LeadId,
        entered: bool,
        at: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO segment_changes (segment, lead_id, entered, at) VALUES (?1, ?2, ?3, ?4)",
            params![segment.as_str(), lead.as_str(), entered, ts(at)],
        )?;
        tx.execute(
            "DELETE FROM segment_changes WHERE segment = ?1 AND seq <= \
             (SELECT seq FROM segment_changes WHERE segment = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
            params![segment.as_str(), CHANGES_KEPT],
        )?;
        Ok(())
    }
}

#[async_trait]
impl SegmentMembers for SqliteStore {
    async fn add_member(&self, segment: &SegmentId, member: &Member) -> PortResult<Put> {
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO segment_members (segment, shard, lead_id, since) VALUES (?1, ?2, ?3, ?4)",
                params![
                    segment.as_str(),
                    shard_of(&member.lead_id),
                    member.lead_id.as_str(),
                    ts(member.since)
                ],
            )
            .map_err(err)?;
        if added == 0 {
            return Ok(Put::Existed);
        }
        Self::log_change(&tx, segment, &member.lead_id, true, member.since).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Put::Created)
    }

    async fn remove_member(
        &self,
        segment: &SegmentId,
        lead: &LeadId,
        at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        let removed = tx
            .execute(
                "DELETE FROM segment_members WHERE segment = ?1 AND shard = ?2 AND lead_id = ?3",
                params![segment.as_str(), shard_of(lead), lead.as_str()],
            )
            .map_err(err)?;
        if removed == 0 {
            return Ok(false);
        }
        Self::log_change(&tx, segment, lead, false, at).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }

    async fn member_count(&self, segment: &SegmentId) -> PortResult<u64> {
        let n: i64 = self
            .db
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM segment_members WHERE segment = ?1",
                [segment.as_str()],
                |r| r.get(0),
            )
            .map_err(err)?;
        u64::try_from(n).map_err(err)
    }

    async fn members(
        &self,
        segment: &SegmentId,
        after: Option<&Cursor>,
        limit: usize,
    ) -> PortResult<MemberPage> {
        let limit = limit.max(1);
        let (shard, lead) = after.map_or((-1, String::new()), |c| {
            (i64::from(c.shard), c.after.to_string())
        });
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT shard, lead_id, since FROM segment_members WHERE segment = ?1 \
                 AND (shard > ?2 OR (shard = ?2 AND lead_id > ?3)) ORDER BY shard, lead_id LIMIT ?4",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(
                params![
                    segment.as_str(),
                    shard,
                    lead,
                    i64::try_from(limit).map_err(err)?
                ],
                |r| {
                    Ok((
                        r.get::<_, u8>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .map_err(err)?;
        let mut page = MemberPage::default();
        let mut last_shard = 0;
        for row in rows {
            let (shard, lead, since) = row.map_err(err)?;
            last_shard = shard;
            page.members.push(Member {
                lead_id: LeadId::new(lead),
                since: parse_ts(&since)?,
            });
        }
        if page.members.len() == limit {
            page.next = page.members.last().map(|m| Cursor {
                shard: last_shard,
                after: m.lead_id.clone(),
            });
        }
        Ok(page)
    }

    async fn recent_changes(
        &self,
        segment: &SegmentId,
        limit: usize,
    ) -> PortResult<Vec<MemberChange>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT lead_id, entered, at FROM segment_changes WHERE segment = ?1 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(
                params![segment.as_str(), i64::try_from(limit).map_err(err)?],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .map_err(err)?;
        rows.map(|row| {
            let (lead, entered, at) = row.map_err(err)?;
            Ok(MemberChange {
                lead_id: LeadId::new(lead),
                entered,
                at: parse_ts(&at)?,
            })
        })
        .collect()
    }
}
