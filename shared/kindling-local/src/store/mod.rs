//! The embedded store: every store port of `kindling` on SQLite, one file per port. It passes
//! the same contract suite as the DynamoDB store.

use crate::db::{err, Db};
use kindling::ports::{Cas, PortResult, Put};
use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;

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

    /// Deletes browsers' own activities older than [`VISITOR_HISTORY_DAYS`] before `now` (what
    /// the TTL does in DynamoDB); returns how many went.
    ///
    /// [`VISITOR_HISTORY_DAYS`]: kindling::activities::VISITOR_HISTORY_DAYS
    pub fn sweep_visitor_history(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, kindling::error::PortError> {
        let cutoff = now - chrono::Duration::days(kindling::activities::VISITOR_HISTORY_DAYS);
        self.db
            .conn()
            .execute(
                "DELETE FROM activities WHERE visitor_id IS NOT NULL AND lead_id IS NULL AND at < ?1",
                rusqlite::params![crate::db::ts(cutoff)],
            )
            .map_err(crate::db::err)
    }

    /// The database underneath (tests count rows with it).
    pub fn db(&self) -> &Db {
        &self.db
    }
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> PortResult<String> {
    serde_json::to_string(v).map_err(err)
}

pub(super) fn from_json<T: DeserializeOwned>(s: &str) -> PortResult<T> {
    serde_json::from_str(s).map_err(err)
}

pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

pub(super) fn insert_outcome(r: rusqlite::Result<usize>) -> PortResult<Put> {
    match r {
        Ok(_) => Ok(Put::Created),
        Err(e) if is_unique_violation(&e) => Ok(Put::Existed),
        Err(e) => Err(err(e)),
    }
}

pub(super) fn cas_outcome(r: rusqlite::Result<usize>) -> PortResult<Cas> {
    match r.map_err(err)? {
        0 => Ok(Cas::Stale),
        _ => Ok(Cas::Updated),
    }
}

pub(super) fn query_json<T: DeserializeOwned, P: rusqlite::Params>(
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

pub(super) fn one_json<T: DeserializeOwned, P: rusqlite::Params>(
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

mod activities;
mod alerts;
mod broadcasts;
mod enrollments;
mod leads;
mod segments;
mod sends;
mod suppressions;
mod tallies;
mod visitors;
