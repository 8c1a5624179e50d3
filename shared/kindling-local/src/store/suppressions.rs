//! Addresses that receive nothing.

use super::{insert_outcome, SqliteStore};
use crate::db::{err, parse_ts, ts};
use async_trait::async_trait;
use kindling::deliverability::ports::SuppressionList;
use kindling::deliverability::suppression::{Suppression, SuppressionReason};
use kindling::email::EmailAddress;
use kindling::ports::{PortResult, Put};
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl SuppressionList for SqliteStore {
    async fn suppress(&self, s: &Suppression) -> PortResult<Put> {
        insert_outcome(self.db.conn().execute(
            "INSERT INTO suppressions (email, reason, at) VALUES (?1, ?2, ?3)",
            params![s.email.as_str(), s.reason.as_str(), ts(s.at)],
        ))
    }

    async fn suppression(&self, email: &EmailAddress) -> PortResult<Option<Suppression>> {
        let conn = self.db.conn();
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT reason, at FROM suppressions WHERE email = ?1",
                [email.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        row.map(|(reason, at)| {
            Ok(Suppression {
                email: email.clone(),
                reason: SuppressionReason::parse(&reason).ok_or_else(|| {
                    kindling::error::PortError::new("sqlite", format!("unknown reason {reason}"))
                })?,
                at: parse_ts(&at)?,
            })
        })
        .transpose()
    }
}
