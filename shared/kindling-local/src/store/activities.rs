//! The append-only activity log, idempotent by activity id.

use super::{insert_outcome, query_json, SqliteStore};
use crate::db::ts;
use async_trait::async_trait;
use kindling::activities::ports::ActivityLog;
use kindling::activities::{Activity, Subject};
use kindling::ids::{LeadId, VisitorId};
use kindling::ports::{PortResult, Put};
use rusqlite::params;

/// Inserts an activity (a unique-id violation if it is there).
pub(super) fn insert(conn: &rusqlite::Connection, a: &Activity) -> rusqlite::Result<usize> {
    let (lead, visitor) = match &a.subject {
        Subject::Lead(l) => (Some(l.as_str()), None),
        Subject::Visitor(v) => (None, Some(v.as_str())),
    };
    let data = serde_json::to_string(a)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.execute(
        "INSERT INTO activities (id, lead_id, visitor_id, at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![a.id.as_str(), lead, visitor, ts(a.at), data],
    )
}

#[async_trait]
impl ActivityLog for SqliteStore {
    async fn record(&self, a: &Activity) -> PortResult<Put> {
        insert_outcome(insert(&self.db.conn(), a))
    }

    async fn activities_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Activity>> {
        query_json(
            &self.db,
            "SELECT data FROM activities WHERE lead_id = ?1 ORDER BY at, id",
            [lead.as_str()],
        )
    }

    async fn activities_of_visitor(&self, visitor: &VisitorId) -> PortResult<Vec<Activity>> {
        query_json(
            &self.db,
            "SELECT data FROM activities WHERE visitor_id = ?1 ORDER BY at, id",
            [visitor.as_str()],
        )
    }
}
