//! Leads, unique by normalized address; the due rechecks.

use super::{cas_outcome, insert_outcome, json, one_json, SqliteStore};
use crate::db::{err, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::email::EmailAddress;
use kindling::ids::LeadId;
use kindling::leads::ports::LeadStore;
use kindling::leads::Lead;
use kindling::ports::{Cas, PortResult, Put};
use rusqlite::params;

#[async_trait]
impl LeadStore for SqliteStore {
    async fn get_lead(&self, id: &LeadId) -> PortResult<Option<Lead>> {
        one_json(
            &self.db,
            "SELECT data FROM leads WHERE id = ?1",
            [id.as_str()],
        )
    }

    async fn find_lead_by_email(&self, email: &EmailAddress) -> PortResult<Option<Lead>> {
        one_json(
            &self.db,
            "SELECT data FROM leads WHERE email = ?1",
            [email.as_str()],
        )
    }

    async fn insert_lead(&self, lead: &Lead) -> PortResult<Put> {
        let mut stored = lead.clone();
        stored.version = 0;
        let data = json(&stored)?;
        insert_outcome(self.db.conn().execute(
            "INSERT INTO leads (id, email, version, data, recheck_at) VALUES (?1, ?2, 0, ?3, ?4)",
            params![
                lead.id.as_str(),
                lead.email.as_str(),
                data,
                lead.recheck_at.map(ts)
            ],
        ))
    }

    async fn update_lead(&self, lead: &Lead) -> PortResult<Cas> {
        let mut stored = lead.clone();
        stored.version = lead.version + 1;
        let data = json(&stored)?;
        let version = i64::try_from(lead.version).map_err(err)?;
        cas_outcome(self.db.conn().execute(
            "UPDATE leads SET data = ?1, version = version + 1, recheck_at = ?4 WHERE id = ?2 AND version = ?3",
            params![data, lead.id.as_str(), version, lead.recheck_at.map(ts)],
        ))
    }

    async fn list_lead_ids(&self, after: Option<&LeadId>, limit: usize) -> PortResult<Vec<LeadId>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id FROM leads WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(err)?;
        let limit = i64::try_from(limit).map_err(err)?;
        let rows = stmt
            .query_map(params![after.map_or("", LeadId::as_str), limit], |r| {
                r.get::<_, String>(0)
            })
            .map_err(err)?;
        rows.map(|r| r.map(LeadId::new).map_err(err)).collect()
    }

    async fn due_rechecks(&self, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<LeadId>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id FROM leads WHERE recheck_at IS NOT NULL AND recheck_at <= ?1 ORDER BY recheck_at, id LIMIT ?2")
            .map_err(err)?;
        let limit = i64::try_from(limit).map_err(err)?;
        let rows = stmt
            .query_map(params![ts(now), limit], |r| r.get::<_, String>(0))
            .map_err(err)?;
        rows.map(|r| r.map(LeadId::new).map_err(err)).collect()
    }
}
