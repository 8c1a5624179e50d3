//! The in-process event bus: publishing appends to a queue table in the same SQLite database,
//! so an event survives a crash; a dispatcher delivers each event at least once, retrying
//! failures with backoff for 24 hours, then moving it to `dead_letters`.

use crate::db::{err, parse_ts, ts, Db};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use kindling::app::events::Event;
use kindling::error::{Error, PortError};
use kindling::events::{Envelope, EventBus};
use kindling::ports::Clock;
use rusqlite::{params, OptionalExtension};
use std::future::Future;
use std::sync::Arc;

/// How long a failing event is retried before it is dead-lettered (as EventBridge does).
pub const MAX_EVENT_AGE: Duration = Duration::hours(24);
const FIRST_BACKOFF_SECONDS: i64 = 1;
const MAX_BACKOFF_SECONDS: i64 = 15 * 60;

/// The queue behind the local bus.
#[derive(Clone)]
pub struct LocalBus {
    db: Db,
    clock: Arc<dyn Clock>,
}

/// What one dispatch pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    pub delivered: u32,
    pub retried: u32,
    pub dead_lettered: u32,
}

impl LocalBus {
    /// A bus on the database, timed by `clock`.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Delivers every event that is ready, including those its handlers publish, until the
    /// queue has nothing ready (or `max` deliveries were attempted). Handler errors that can
    /// succeed later are retried with backoff; others are dead-lettered at once.
    pub async fn dispatch<F, Fut>(
        &self,
        max: usize,
        mut handler: F,
    ) -> Result<Dispatched, PortError>
    where
        F: FnMut(Event) -> Fut,
        Fut: Future<Output = Result<(), Error>>,
    {
        let mut report = Dispatched::default();
        for _ in 0..max {
            let now = self.clock.now();
            let row: Option<(i64, String, String, String, i64)> = self
                .db
                .conn()
                .query_row(
                    "SELECT id, detail_type, detail, published_at, attempts FROM bus WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT 1",
                    [ts(now)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(err)?;
            let Some((id, detail_type, detail, published_at, attempts)) = row else {
                break;
            };
            let outcome = match Event::decode(&detail_type, &detail) {
                Ok(event) => handler(event).await,
                Err(e) => Err(Error::Invalid(e.to_string())),
            };
            match outcome {
                Ok(()) => {
                    self.db
                        .conn()
                        .execute("DELETE FROM bus WHERE id = ?1", [id])
                        .map_err(err)?;
                    report.delivered += 1;
                }
                Err(e) => {
                    let attempts = attempts + 1;
                    let too_old = now - parse_ts(&published_at)? >= MAX_EVENT_AGE;
                    if !e.is_retryable() || too_old {
                        tracing::error!(detail_type, attempts, error = %kindling::error::Report(&e), "event dead-lettered");
                        self.dead_letter(
                            id,
                            attempts,
                            &kindling::error::Report(&e).to_string(),
                            now,
                        )?;
                        report.dead_lettered += 1;
                    } else {
                        let backoff =
                            (FIRST_BACKOFF_SECONDS << attempts.min(20)).min(MAX_BACKOFF_SECONDS);
                        tracing::warn!(detail_type, attempts, error = %kindling::error::Report(&e), "event delivery failed; will retry");
                        self.db
                            .conn()
                            .execute(
                                "UPDATE bus SET attempts = ?1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?4",
                                params![attempts, ts(now + Duration::seconds(backoff)), kindling::error::Report(&e).to_string(), id],
                            )
                            .map_err(err)?;
                        report.retried += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    fn dead_letter(
        &self,
        id: i64,
        attempts: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO dead_letters (id, detail_type, detail, published_at, attempts, error, dead_at) SELECT id, detail_type, detail, published_at, ?1, ?2, ?3 FROM bus WHERE id = ?4",
            params![attempts, error, ts(now), id],
        )
        .map_err(err)?;
        tx.execute("DELETE FROM bus WHERE id = ?1", [id])
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Events waiting in the queue (ready or backing off).
    pub fn pending(&self) -> Result<u64, PortError> {
        let n: i64 = self
            .db
            .conn()
            .query_row("SELECT count(*) FROM bus", [], |r| r.get(0))
            .map_err(err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Events given up on.
    pub fn dead_letters(&self) -> Result<u64, PortError> {
        let n: i64 = self
            .db
            .conn()
            .query_row("SELECT count(*) FROM dead_letters", [], |r| r.get(0))
            .map_err(err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, events: &[Envelope]) -> Result<(), PortError> {
        let now = ts(self.clock.now());
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        for e in events {
            tx.execute(
                "INSERT INTO bus (detail_type, detail, published_at, next_attempt_at) VALUES (?1, ?2, ?3, ?3)",
                params![e.detail_type, e.detail, now],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}
