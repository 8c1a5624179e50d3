//! The SQLite database under `.kindling/`: one connection shared by the store and the bus.

use kindling::error::PortError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS leads (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS visitors (
    visitor_id TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    linked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS visitors_by_lead ON visitors (lead_id);
CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY,
    lead_id TEXT,
    visitor_id TEXT,
    at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_by_lead ON activities (lead_id, at) WHERE lead_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS activities_by_visitor ON activities (visitor_id, at) WHERE visitor_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS enrollments (
    lead_id TEXT NOT NULL,
    id TEXT NOT NULL,
    sequence_id TEXT NOT NULL,
    entry INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    next_due_at TEXT,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (lead_id, id),
    UNIQUE (lead_id, sequence_id, entry)
);
CREATE INDEX IF NOT EXISTS enrollments_due ON enrollments (next_due_at) WHERE status = 'active';
CREATE TABLE IF NOT EXISTS suppressions (
    email TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tally_units (
    series TEXT NOT NULL,
    bucket TEXT NOT NULL,
    counter TEXT NOT NULL,
    unit TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (series, bucket, counter, unit)
);
CREATE TABLE IF NOT EXISTS marks (
    series TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (series, name)
);
CREATE TABLE IF NOT EXISTS alerts (
    key TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    state TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS bus (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    detail_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    published_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS bus_ready ON bus (next_attempt_at);
CREATE TABLE IF NOT EXISTS segment_members (
    segment TEXT NOT NULL,
    shard INTEGER NOT NULL,
    lead_id TEXT NOT NULL,
    since TEXT NOT NULL,
    PRIMARY KEY (segment, shard, lead_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segment_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    segment TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    entered INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS segment_changes_latest ON segment_changes (segment, seq);
CREATE TABLE IF NOT EXISTS broadcasts (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS broadcasts_active ON broadcasts (created_at) WHERE state IN ('scheduled', 'sending');
CREATE TABLE IF NOT EXISTS broadcast_recipients (
    broadcast_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    state TEXT NOT NULL,
    due_at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, lead_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS broadcast_recipients_due ON broadcast_recipients (broadcast_id, due_at) WHERE state = 'queued';
CREATE TABLE IF NOT EXISTS crm_synced (
    id TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    status INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    detail_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    published_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    dead_at TEXT NOT NULL
);
"#;

/// The sends of every mail, keyed by lead and message slot (`MessageRef::slot`). Created here
/// (not in [`SCHEMA`]) because a database from before message keys has the older table, which
/// [`migrate`] rebuilds into this one.
const SENDS_TABLE: &str = "CREATE TABLE IF NOT EXISTS sends (
    lead_id TEXT NOT NULL,
    message TEXT NOT NULL,
    state TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    data TEXT NOT NULL,
    counts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (lead_id, message)
);";

/// Counters, keyed and stored in one b-tree (`WITHOUT ROWID`): a range read (the KPIs read a
/// year of days) walks the key with the count beside it, and an add updates one b-tree. Created
/// here (not in [`SCHEMA`]) because a database from before has a rowid table, which [`migrate`]
/// rebuilds into this one.
const TALLIES_TABLE: &str = "CREATE TABLE IF NOT EXISTS tallies (
    series TEXT NOT NULL,
    bucket TEXT NOT NULL,
    counter TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (series, bucket, counter)
) WITHOUT ROWID;";

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, PortError> {
    conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")
        .and_then(|mut s| s.exists([table, column]))
        .map_err(err)
}

/// Columns added after the first release, for databases made before them.
fn migrate(conn: &Connection) -> Result<(), PortError> {
    if !has_column(conn, "enrollments", "entry")? {
        // Re-entry: the uniqueness moves from (lead, sequence) to (lead, sequence, entry), and
        // SQLite cannot change a constraint in place, so the table is rebuilt in one transaction.
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             ALTER TABLE enrollments RENAME TO enrollments_before_reentry;
             CREATE TABLE enrollments (
                 lead_id TEXT NOT NULL,
                 id TEXT NOT NULL,
                 sequence_id TEXT NOT NULL,
                 entry INTEGER NOT NULL DEFAULT 1,
                 status TEXT NOT NULL,
                 next_due_at TEXT,
                 version INTEGER NOT NULL,
                 data TEXT NOT NULL,
                 PRIMARY KEY (lead_id, id),
                 UNIQUE (lead_id, sequence_id, entry)
             );
             INSERT INTO enrollments (lead_id, id, sequence_id, entry, status, next_due_at, version, data)
                 SELECT lead_id, id, sequence_id, 1, status, next_due_at, version, data FROM enrollments_before_reentry;
             DROP TABLE enrollments_before_reentry;
             CREATE INDEX IF NOT EXISTS enrollments_due ON enrollments (next_due_at) WHERE status = 'active';
             COMMIT;",
        )
        .map_err(err)?;
    }
    let rowid_tallies: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tallies' AND sql NOT LIKE '%WITHOUT ROWID%'")
        .and_then(|mut s| s.exists([]))
        .map_err(err)?;
    if rowid_tallies {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             ALTER TABLE tallies RENAME TO tallies_with_rowid;
             {TALLIES_TABLE}
             INSERT INTO tallies (series, bucket, counter, n)
                 SELECT series, bucket, counter, n FROM tallies_with_rowid;
             DROP TABLE tallies_with_rowid;
             COMMIT;"
        ))
        .map_err(err)?;
    } else {
        conn.execute_batch(TALLIES_TABLE).map_err(err)?;
    }
    if has_column(conn, "sends", "enrollment_id")? {
        // One message key for steps and broadcasts: a send is keyed by its lead and the mail's
        // slot (`MessageRef::slot`: `{enrollment}#{step:05}` for a step), in one transaction.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             ALTER TABLE sends RENAME TO sends_before_message_keys;
             DROP INDEX IF EXISTS sends_by_lead_time;
             {SENDS_TABLE}
             INSERT INTO sends (lead_id, message, state, claimed_at, data)
                 SELECT lead_id, enrollment_id || '#' || printf('%05d', step), state, claimed_at, data
                 FROM sends_before_message_keys;
             DROP TABLE sends_before_message_keys;
             COMMIT;"
        ))
        .map_err(err)?;
    } else {
        conn.execute_batch(SENDS_TABLE).map_err(err)?;
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS sends_by_lead_time ON sends (lead_id, claimed_at);",
    )
    .map_err(err)?;
    if !has_column(conn, "sends", "counts")? {
        // Whether the mail counts toward the frequency cap (a broadcast may not).
        conn.execute_batch("ALTER TABLE sends ADD COLUMN counts INTEGER NOT NULL DEFAULT 1;")
            .map_err(err)?;
    }
    if !has_column(conn, "leads", "recheck_at")? {
        conn.execute_batch("ALTER TABLE leads ADD COLUMN recheck_at TEXT;")
            .map_err(err)?;
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS leads_recheck ON leads (recheck_at) WHERE recheck_at IS NOT NULL;",
    )
    .map_err(err)
}

/// A shared SQLite connection. Calls are short and never held across an await.
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl Db {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Db, PortError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| PortError::new("sqlite", format!("{}: {e}", dir.display())))?;
        }
        Self::init(Connection::open(path).map_err(err)?)
    }

    /// A private in-memory database (tests).
    pub fn in_memory() -> Result<Db, PortError> {
        Self::init(Connection::open_in_memory().map_err(err)?)
    }

    fn init(conn: Connection) -> Result<Db, PortError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        migrate(&conn)?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }

    /// The connection, for one short synchronous use.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Maps a SQLite error to the port error.
pub fn err<E: std::error::Error + Send + Sync + 'static>(e: E) -> PortError {
    PortError::caused_by("sqlite", "statement failed", e)
}

/// Timestamps as fixed-width UTC text, so that text order is time order.
pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a timestamp written by [`ts`].
pub fn parse_ts(s: &str) -> Result<chrono::DateTime<chrono::Utc>, PortError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_before_rechecks_gains_the_column_and_keeps_its_leads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE leads (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, data TEXT NOT NULL);
                 INSERT INTO leads VALUES ('L1', 'a@x.jp', 3, '{}');",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        drop(db);
        // Opening twice is fine too.
        let db = Db::open(&path).unwrap();
        let conn = db.conn();
        let (version, recheck): (i64, Option<String>) = conn
            .query_row(
                "SELECT version, recheck_at FROM leads WHERE id = 'L1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((version, recheck), (3, None));
    }

    #[test]
    fn a_database_from_before_message_keys_keeps_its_sends_under_their_slots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let data = r#"{"key":{"lead_id":"L1","enrollment_id":"E1","step":3},"sequence_id":"s","template":"t","state":"sent","claimed_at":"2026-11-01T00:00:00Z","sent_at":"2026-11-01T00:00:00Z","provider_message_id":"m","links":["https://example.jp/a"],"error":null}"#;
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE sends (lead_id TEXT NOT NULL, enrollment_id TEXT NOT NULL, step INTEGER NOT NULL, state TEXT NOT NULL, claimed_at TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (lead_id, enrollment_id, step));
                 CREATE INDEX sends_by_lead_time ON sends (lead_id, claimed_at);",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO sends VALUES ('L1', 'E1', 3, 'sent', '2026-11-01T00:00:00.000000Z', ?1)",
                [data],
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let (message, stored): (String, String) = db
            .conn()
            .query_row(
                "SELECT message, data FROM sends WHERE lead_id = 'L1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(message, "E1#00003");
        // The record written before still reads as a step's send.
        let record: kindling::sending::ledger::SendRecord = serde_json::from_str(&stored).unwrap();
        assert_eq!(
            record.key,
            kindling::message::MessageKey::step(
                kindling::ids::LeadId::new("L1"),
                kindling::ids::EnrollmentId::new("E1"),
                3
            )
        );
        drop(db);
        Db::open(&path).unwrap();
    }

    #[test]
    fn a_database_with_rowid_tallies_keeps_its_counts_in_the_keyed_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE tallies (series TEXT NOT NULL, bucket TEXT NOT NULL, counter TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (series, bucket, counter));
                 INSERT INTO tallies VALUES ('deliverability', '2026-11-21T03', 'sent', 7);",
            )
            .unwrap();
        }
        for _ in 0..2 {
            let db = Db::open(&path).unwrap();
            let conn = db.conn();
            let (n, sql): (i64, String) = conn
                .query_row(
                    "SELECT n, (SELECT sql FROM sqlite_master WHERE name = 'tallies') FROM tallies",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(n, 7);
            assert!(sql.contains("WITHOUT ROWID"), "{sql}");
        }
    }

    #[test]
    fn a_database_from_before_reentry_keeps_its_enrollments_as_first_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE enrollments (lead_id TEXT NOT NULL, id TEXT NOT NULL, sequence_id TEXT NOT NULL, status TEXT NOT NULL, next_due_at TEXT, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (lead_id, id), UNIQUE (lead_id, sequence_id));
                 INSERT INTO enrollments VALUES ('L1', 'E1', 'docs', 'completed', NULL, 4, '{}');",
            )
            .unwrap();
        }
        let db = Db::open(&path).unwrap();
        let conn = db.conn();
        let (entry, version): (i64, i64) = conn
            .query_row(
                "SELECT entry, version FROM enrollments WHERE id = 'E1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((entry, version), (1, 4));
        // A second entry in the same sequence is now allowed; a duplicate entry number is not.
        conn.execute("INSERT INTO enrollments (lead_id, id, sequence_id, entry, status, version, data) VALUES ('L1', 'E2', 'docs', 2, 'active', 0, '{}')", []).unwrap();
        assert!(conn.execute("INSERT INTO enrollments (lead_id, id, sequence_id, entry, status, version, data) VALUES ('L1', 'E3', 'docs', 2, 'active', 0, '{}')", []).is_err());
        drop(conn);
        drop(db);
        Db::open(&path).unwrap();
    }
}
