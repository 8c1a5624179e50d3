//! Broadcasts (one row each, under a version) and their recipients (one row per (broadcast,
//! lead), with a partial index over the queued ones by due time).

use super::{cas_outcome, insert_outcome, json, one_json, query_json, SqliteStore};
use crate::db::{err, parse_ts, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::broadcasts::ports::BroadcastStore;
use kindling::broadcasts::{Broadcast, Progress, Recipient};
use kindling::ids::{BroadcastId, LeadId};
use kindling::names::Named;
use kindling::ports::{Cas, PortResult, Put};
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl BroadcastStore for SqliteStore {
    async fn create_broadcast(&self, b: &Broadcast) -> PortResult<Put> {
        let mut stored = b.clone();
        stored.version = 0;
        insert_outcome(self.db.conn().execute(
            "INSERT INTO broadcasts (id, created_at, state, version, data) VALUES (?1, ?2, ?3, 0, ?4)",
            params![b.id.as_str(), ts(b.created_at), b.state.name(), json(&stored)?],
        ))
    }

    async fn get_broadcast(&self, id: &BroadcastId) -> PortResult<Option<Broadcast>> {
        one_json(
            &self.db,
            "SELECT data FROM broadcasts WHERE id = ?1",
            [id.as_str()],
        )
    }

    async fn update_broadcast(&self, b: &Broadcast) -> PortResult<Cas> {
        let mut stored = b.clone();
        stored.version = b.version + 1;
        let version = i64::try_from(b.version).map_err(err)?;
        cas_outcome(self.db.conn().execute(
            "UPDATE broadcasts SET state = ?1, data = ?2, version = version + 1 WHERE id = ?3 AND version = ?4",
            params![b.state.name(), json(&stored)?, b.id.as_str(), version],
        ))
    }

    async fn list_broadcasts(&self) -> PortResult<Vec<Broadcast>> {
        query_json(
            &self.db,
            "SELECT data FROM broadcasts ORDER BY created_at DESC, id",
            [],
        )
    }

    async fn active_broadcasts(&self) -> PortResult<Vec<Broadcast>> {
        query_json(
            &self.db,
            "SELECT data FROM broadcasts WHERE state IN ('scheduled', 'sending') ORDER BY created_at, id",
            [],
        )
    }

    async fn add_recipients(&self, recipients: &[Recipient]) -> PortResult<()> {
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT OR IGNORE INTO broadcast_recipients (broadcast_id, lead_id, state, due_at, data) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(err)?;
            for r in recipients {
                stmt.execute(params![
                    r.broadcast_id.as_str(),
                    r.lead_id.as_str(),
                    r.state.name(),
                    ts(r.due_at),
                    json(r)?
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(())
    }

    async fn due_recipients(
        &self,
        broadcast: &BroadcastId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        let limit = i64::try_from(limit).map_err(err)?;
        query_json(
            &self.db,
            "SELECT data FROM broadcast_recipients WHERE broadcast_id = ?1 AND state = 'queued' AND due_at <= ?2 ORDER BY due_at, lead_id LIMIT ?3",
            params![broadcast.as_str(), ts(now), limit],
        )
    }

    async fn next_due(&self, broadcast: &BroadcastId) -> PortResult<Option<DateTime<Utc>>> {
        let t: Option<Option<String>> = self
            .db
            .conn()
            .query_row(
                "SELECT MIN(due_at) FROM broadcast_recipients WHERE broadcast_id = ?1 AND state = 'queued'",
                [broadcast.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        t.flatten().map(|t| parse_ts(&t)).transpose()
    }

    async fn update_recipient(&self, r: &Recipient) -> PortResult<()> {
        self.update_recipients(std::slice::from_ref(r)).await
    }

    async fn update_recipients(&self, rs: &[Recipient]) -> PortResult<()> {
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE broadcast_recipients SET state = ?1, due_at = ?2, data = ?3 WHERE broadcast_id = ?4 AND lead_id = ?5")
                .map_err(err)?;
            for r in rs {
                stmt.execute(params![
                    r.state.name(),
                    ts(r.due_at),
                    json(r)?,
                    r.broadcast_id.as_str(),
                    r.lead_id.as_str()
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(())
    }

    async fn get_recipient(
        &self,
        broadcast: &BroadcastId,
        lead: &LeadId,
    ) -> PortResult<Option<Recipient>> {
        one_json(
            &self.db,
            "SELECT data FROM broadcast_recipients WHERE broadcast_id = ?1 AND lead_id = ?2",
            params![broadcast.as_str(), lead.as_str()],
        )
    }

    async fn recipients(
        &self,
        broadcast: &BroadcastId,
        after: Option<&LeadId>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        let limit = i64::try_from(limit).map_err(err)?;
        query_json(
            &self.db,
            "SELECT data FROM broadcast_recipients WHERE broadcast_id = ?1 AND lead_id > ?2 ORDER BY lead_id LIMIT ?3",
            params![broadcast.as_str(), after.map_or("", |l| l.as_str()), limit],
        )
    }

    async fn progress(&self, broadcast: &BroadcastId) -> PortResult<Progress> {
        let all: Vec<Recipient> = query_json(
            &self.db,
            "SELECT data FROM broadcast_recipients WHERE broadcast_id = ?1",
            [broadcast.as_str()],
        )?;
        let mut p = Progress::default();
        for r in &all {
            p.count(r);
        }
        Ok(p)
    }
}
