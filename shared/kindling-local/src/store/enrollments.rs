//! Enrollments of leads in sequences, and the due ones.

use super::{cas_outcome, insert_outcome, json, query_json, SqliteStore};
use crate::db::{err, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::ids::LeadId;
use kindling::ports::{Cas, PortResult, Put};
use kindling::sequences::ports::EnrollmentStore;
use kindling::sequences::Enrollment;
use rusqlite::params;

#[async_trait]
impl EnrollmentStore for SqliteStore {
    async fn enroll(&self, e: &Enrollment) -> PortResult<Put> {
        let mut stored = e.clone();
        stored.version = 0;
        let data = json(&stored)?;
        insert_outcome(self.db.conn().execute(
            "INSERT INTO enrollments (lead_id, id, sequence_id, entry, status, next_due_at, version, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
            params![e.lead_id.as_str(), e.id.as_str(), e.sequence_id.as_str(), e.entry, e.status.as_str(), e.next_due_at.map(ts), data],
        ))
    }

    async fn enrollments_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Enrollment>> {
        query_json(
            &self.db,
            "SELECT data FROM enrollments WHERE lead_id = ?1 ORDER BY sequence_id, entry",
            [lead.as_str()],
        )
    }

    async fn due_enrollments(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Enrollment>> {
        let limit = i64::try_from(limit).map_err(err)?;
        query_json(
            &self.db,
            "SELECT data FROM enrollments WHERE status = 'active' AND next_due_at <= ?1 ORDER BY next_due_at, lead_id, id LIMIT ?2",
            params![ts(now), limit],
        )
    }

    async fn update_enrollment(&self, e: &Enrollment) -> PortResult<Cas> {
        let mut stored = e.clone();
        stored.version = e.version + 1;
        let data = json(&stored)?;
        let version = i64::try_from(e.version).map_err(err)?;
        cas_outcome(self.db.conn().execute(
            "UPDATE enrollments SET status = ?1, next_due_at = ?2, data = ?3, version = version + 1 WHERE lead_id = ?4 AND id = ?5 AND version = ?6",
            params![e.status.as_str(), e.next_due_at.map(ts), data, e.lead_id.as_str(), e.id.as_str(), version],
        ))
    }
}
