//! Which browsers belong to which lead.

use super::{insert_outcome, SqliteStore};
use crate::db::{err, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::activities::ports::VisitorLinks;
use kindling::ids::{LeadId, VisitorId};
use kindling::ports::{PortResult, Put};
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl VisitorLinks for SqliteStore {
    async fn link_visitor(
        &self,
        visitor: &VisitorId,
        lead: &LeadId,
        at: DateTime<Utc>,
    ) -> PortResult<Put> {
        insert_outcome(self.db.conn().execute(
            "INSERT INTO visitors (visitor_id, lead_id, linked_at) VALUES (?1, ?2, ?3)",
            params![visitor.as_str(), lead.as_str(), ts(at)],
        ))
    }

    async fn lead_of_visitor(&self, visitor: &VisitorId) -> PortResult<Option<LeadId>> {
        let conn = self.db.conn();
        let id: Option<String> = conn
            .query_row(
                "SELECT lead_id FROM visitors WHERE visitor_id = ?1",
                [visitor.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        Ok(id.map(LeadId::new))
    }

    async fn visitors_of_lead(&self, lead: &LeadId) -> PortResult<Vec<VisitorId>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT visitor_id FROM visitors WHERE lead_id = ?1 ORDER BY visitor_id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([lead.as_str()], |r| r.get::<_, String>(0))
            .map_err(err)?;
        rows.map(|r| r.map(VisitorId::new).map_err(err)).collect()
    }
}
