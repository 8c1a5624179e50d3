//! Alerts claimed once per key.

use super::SqliteStore;
use crate::db::{err, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::alerts::ports::{AlertClaim, AlertLog};
use kindling::ports::PortResult;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

#[async_trait]
impl AlertLog for SqliteStore {
    async fn claim_alert(
        &self,
        key: &str,
        about: &str,
        now: DateTime<Utc>,
    ) -> PortResult<AlertClaim> {
        let mut conn = self.db.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let state: Option<String> = tx
            .query_row("SELECT state FROM alerts WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        let claim = match state.as_deref() {
            Some("sent") => AlertClaim::Sent,
            Some(_) => AlertClaim::Pending,
            None => {
                tx.execute(
                    "INSERT INTO alerts (key, lead_id, state, claimed_at) VALUES (?1, ?2, 'pending', ?3)",
                    params![key, about, ts(now)],
                )
                .map_err(err)?;
                AlertClaim::New
            }
        };
        tx.commit().map_err(err)?;
        Ok(claim)
    }

    async fn mark_alert_sent(&self, key: &str, at: DateTime<Utc>) -> PortResult<()> {
        self.db
            .conn()
            .execute(
                "UPDATE alerts SET state = 'sent', sent_at = ?1 WHERE key = ?2",
                params![ts(at), key],
            )
            .map_err(err)?;
        Ok(())
    }

    async fn release_alert(&self, key: &str) -> PortResult<()> {
        self.db
            .conn()
            .execute(
                "DELETE FROM alerts WHERE key = ?1 AND state = 'pending'",
                [key],
            )
            .map_err(err)?;
        Ok(())
    }
}
