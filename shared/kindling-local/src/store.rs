//! The embedded store: every store port of `kindling` on SQLite. It passes the same contract
//! suite as the DynamoDB store.

use crate::db::{err, parse_ts, ts, Db};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::activity::{Activity, Subject};
use kindling::email::EmailAddress;
use kindling::ids::{LeadId, VisitorId};
use kindling::lead::Lead;
use kindling::ports::{
    ActivityLog, AlertClaim, AlertLog, Cas, Claim, EnrollmentStore, LeadStore, PortResult, Put,
    SendLog, SuppressionList, Tallies, Tally, VisitorLinks,
};
use kindling::schedule::FrequencyCap;
use kindling::sequence::{Enrollment, MessageKey, SendRecord, SendState};
use kindling::suppression::{Suppression, SuppressionReason};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Every store port on one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// A store over an open database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database underneath (tests count rows with it).
    /// Deletes browsers' own activities older than [`VISITOR_HISTORY_DAYS`] before `now` (what
    /// the TTL does in DynamoDB); returns how many went.
    ///
    /// [`VISITOR_HISTORY_DAYS`]: kindling::activity::VISITOR_HISTORY_DAYS
    pub fn sweep_visitor_history(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, kindling::error::PortError> {
        let cutoff = now - chrono::Duration::days(kindling::activity::VISITOR_HISTORY_DAYS);
        self.db
            .conn()
            .execute(
                "DELETE FROM activities WHERE visitor_id IS NOT NULL AND lead_id IS NULL AND at < ?1",
                rusqlite::params![crate::db::ts(cutoff)],
            )
            .map_err(crate::db::err)
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

fn json<T: serde::Serialize>(v: &T) -> PortResult<String> {
    serde_json::to_string(v).map_err(err)
}

fn from_json<T: DeserializeOwned>(s: &str) -> PortResult<T> {
    serde_json::from_str(s).map_err(err)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn insert_outcome(r: rusqlite::Result<usize>) -> PortResult<Put> {
    match r {
        Ok(_) => Ok(Put::Created),
        Err(e) if is_unique_violation(&e) => Ok(Put::Existed),
        Err(e) => Err(err(e)),
    }
}

fn cas_outcome(r: rusqlite::Result<usize>) -> PortResult<Cas> {
    match r.map_err(err)? {
        0 => Ok(Cas::Stale),
        _ => Ok(Cas::Updated),
    }
}

fn query_json<T: DeserializeOwned, P: rusqlite::Params>(
    db: &Db,
    sql: &str,
    p: P,
) -> PortResult<Vec<T>> {
    let conn = db.conn();
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let rows = stmt.query_map(p, |r| r.get::<_, String>(0)).map_err(err)?;
    rows.map(|r| r.map_err(err).and_then(|s| from_json(&s)))
        .collect()
}

fn one_json<T: DeserializeOwned, P: rusqlite::Params>(
    db: &Db,
    sql: &str,
    p: P,
) -> PortResult<Option<T>> {
    let conn = db.conn();
    let s: Option<String> = conn
        .query_row(sql, p, |r| r.get(0))
        .optional()
        .map_err(err)?;
    s.map(|s| from_json(&s)).transpose()
}

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

#[async_trait]
impl ActivityLog for SqliteStore {
    async fn record(&self, a: &Activity) -> PortResult<Put> {
        let (lead, visitor) = match &a.subject {
            Subject::Lead(l) => (Some(l.as_str()), None),
            Subject::Visitor(v) => (None, Some(v.as_str())),
        };
        let data = json(a)?;
        insert_outcome(self.db.conn().execute(
            "INSERT INTO activities (id, lead_id, visitor_id, at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.id.as_str(), lead, visitor, ts(a.at), data],
        ))
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

#[async_trait]
impl EnrollmentStore for SqliteStore {
    async fn enroll(&self, e: &Enrollment) -> PortResult<Put> {
        let mut stored = e.clone();
        stored.version = 0;
        let data = json(&stored)?;
        insert_outcome(self.db.conn().execute(
            "INSERT INTO enrollments (lead_id, id, sequence_id, entry, status, next_due_at, version, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
            params![e.lead_id.as_str(), e.id.as_str(), e.sequence_id, e.entry, e.status.as_str(), e.next_due_at.map(ts), data],
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

#[async_trait]
impl SendLog for SqliteStore {
    async fn claim_send(
        &self,
        record: &SendRecord,
        cap: FrequencyCap,
        now: DateTime<Utc>,
    ) -> PortResult<Claim> {
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
            return Ok(Claim::Exists(from_json(&data)?));
        }
        // Only claims that can still count are read; the cap rule decides.
        let claimed: Vec<DateTime<Utc>> = {
            let mut stmt = tx
                .prepare_cached("SELECT claimed_at FROM sends WHERE lead_id = ?1 AND state != 'failed' AND claimed_at > ?2")
                .map_err(err)?;
            let rows = stmt
                .query_map(params![lead, ts(now - cap.window)], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(err)?;
            let texts: Vec<String> = rows.collect::<Result<_, _>>().map_err(err)?;
            texts
                .iter()
                .map(|t| parse_ts(t))
                .collect::<Result<_, _>>()?
        };
        if let Some(until) = cap.next_free(&claimed, now) {
            return Ok(Claim::CapReached { until });
        }
        tx.execute(
            "INSERT INTO sends (lead_id, message, state, claimed_at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![lead, slot, record.state.as_str(), ts(record.claimed_at), json(record)?],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Claim::Claimed)
    }

    async fn complete_send(&self, record: &SendRecord) -> PortResult<()> {
        self.db
            .conn()
            .execute(
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

#[async_trait]
impl Tallies for SqliteStore {
    async fn tally_once(
        &self,
        series: &str,
        bucket: &str,
        counter: &str,
        unit: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Put> {
        let mut conn = self.db.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO tally_units (series, bucket, counter, unit, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![series, bucket, counter, unit, ts(now)],
            )
            .map_err(err)?;
        if inserted == 0 {
            return Ok(Put::Existed);
        }
        tx.execute(
            "INSERT INTO tallies (series, bucket, counter, n) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (series, bucket, counter) DO UPDATE SET n = n + 1",
            params![series, bucket, counter],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Put::Created)
    }

    async fn tallies(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT bucket, counter, n FROM tallies WHERE series = ?1
                 AND (?2 IS NULL OR bucket >= ?2) AND (?3 IS NULL OR bucket <= ?3)
                 ORDER BY bucket, counter",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![series, from, to], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(err)?;
        let mut out: Vec<Tally> = Vec::new();
        for row in rows {
            let (bucket, counter, n) = row.map_err(err)?;
            if out.last().map(|t| &t.bucket) != Some(&bucket) {
                out.push(Tally {
                    bucket,
                    counts: Default::default(),
                });
            }
            if let Some(t) = out.last_mut() {
                t.counts.insert(counter, u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(out)
    }

    async fn set_mark(
        &self,
        series: &str,
        name: &str,
        value: &str,
        only_if_absent: bool,
    ) -> PortResult<Put> {
        let sql = if only_if_absent {
            "INSERT OR IGNORE INTO marks (series, name, value) VALUES (?1, ?2, ?3)"
        } else {
            "INSERT INTO marks (series, name, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (series, name) DO UPDATE SET value = excluded.value"
        };
        let changed = self
            .db
            .conn()
            .execute(sql, params![series, name, value])
            .map_err(err)?;
        Ok(if changed == 0 {
            Put::Existed
        } else {
            Put::Created
        })
    }

    async fn marks(&self, series: &str) -> PortResult<BTreeMap<String, String>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name, value FROM marks WHERE series = ?1")
            .map_err(err)?;
        let rows = stmt
            .query_map([series], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }
}
