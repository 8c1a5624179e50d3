//! The record of every mail, claimed once per message key with the frequency cap in one IMMEDIATE transaction.

use super::{from_json, json, one_json, query_json, SqliteStore};
use crate::db::{err, parse_ts, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::activities::Activity;
use kindling::ids::LeadId;
use kindling::message::MessageKey;
use kindling::ports::PortResult;
use kindling::sending::ledger::{SendRecord, SendState};
use kindling::sending::ports::{CountOnce, SendClaim, SendLog};
use kindling::sending::schedule::FrequencyCap;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

/// When the lead's cap next has room, if it is full now: only claims that count and can still
/// count are read; the cap rule decides.
fn capped(
    tx: &rusqlite::Transaction<'_>,
    lead: &str,
    cap: FrequencyCap,
    now: DateTime<Utc>,
) -> PortResult<Option<DateTime<Utc>>> {
    let mut stmt = tx
        .prepare_cached("SELECT claimed_at FROM sends WHERE lead_id = ?1 AND counts = 1 AND state != 'failed' AND claimed_at > ?2")
        .map_err(err)?;
    let rows = stmt
        .query_map(params![lead, ts(now - cap.window)], |r| {
            r.get::<_, String>(0)
        })
        .map_err(err)?;
    let texts: Vec<String> = rows.collect::<Result<_, _>>().map_err(err)?;
    let claimed = texts
        .iter()
        .map(|t| parse_ts(t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(cap.next_free(&claimed, now))
}

/// Overwrites a send record with its outcome.
fn update_send(conn: &rusqlite::Connection, record: &SendRecord) -> PortResult<()> {
    conn.execute(
        "UPDATE sends SET state = ?1, data = ?2 WHERE lead_id = ?3 AND message = ?4",
        params![
            record.state.as_str(),
            json(record)?,
            record.key.lead_id().as_str(),
            record.key.message().slot()
        ],
    )
    .map_err(err)?;
    Ok(())
}

#[async_trait]
impl SendLog for SqliteStore {
    async fn claim_send(
        &self,
        record: &SendRecord,
        cap: Option<FrequencyCap>,
        now: DateTime<Utc>,
    ) -> PortResult<SendClaim> {
        let mut conn = self.db.conn();
        // IMMEDIATE takes the write lock up front: the cap check and the insert are one step.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let (lead, slot) = (record.key.lead_id().as_str(), record.key.message().slot());
        let existing: Option<String> = tx
            .query_row(
                "SELECT data FROM sends WHERE lead_id = ?1 AND message = ?2",
                params![lead, slot],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if let Some(data) = existing {
            return Ok(SendClaim::Exists(from_json(&data)?));
        }
        if let Some(cap) = cap {
            if let Some(until) = capped(&tx, lead, cap, now)? {
                return Ok(SendClaim::CapReached { until });
            }
        }
        tx.execute(
            "INSERT INTO sends (lead_id, message, state, claimed_at, data, counts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![lead, slot, record.state.as_str(), ts(record.claimed_at), json(record)?, cap.is_some()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(SendClaim::Claimed)
    }

    async fn complete_send(&self, record: &SendRecord) -> PortResult<()> {
        update_send(&self.db.conn(), record)?;
        Ok(())
    }

    async fn complete_sent_with(
        &self,
        record: &SendRecord,
        activity: &Activity,
        count: &CountOnce<'_>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let mut conn = self.db.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        update_send(&tx, record)?;
        match super::activities::insert(&tx, activity) {
            Ok(_) => {}
            Err(e) if super::is_unique_violation(&e) => {}
            Err(e) => return Err(err(e)),
        }
        super::tallies::count_once(
            &tx,
            count.series,
            count.bucket,
            count.counter,
            count.unit,
            now,
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }

    async fn release_send(&self, key: &MessageKey) -> PortResult<()> {
        self.db
            .conn()
            .execute(
                "DELETE FROM sends WHERE lead_id = ?1 AND message = ?2 AND state = ?3",
                params![
                    key.lead_id().as_str(),
                    key.message().slot(),
                    SendState::Sending.as_str()
                ],
            )
            .map_err(err)?;
        Ok(())
    }

    async fn get_send(&self, key: &MessageKey) -> PortResult<Option<SendRecord>> {
        one_json(
            &self.db,
            "SELECT data FROM sends WHERE lead_id = ?1 AND message = ?2",
            params![key.lead_id().as_str(), key.message().slot()],
        )
    }

    async fn sends_of_lead(&self, lead: &LeadId) -> PortResult<Vec<SendRecord>> {
        query_json(
            &self.db,
            "SELECT data FROM sends WHERE lead_id = ?1 ORDER BY claimed_at, message",
            [lead.as_str()],
        )
    }
}
