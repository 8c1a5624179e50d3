//! Counters that count each unit once, and marks.

use super::SqliteStore;
use crate::db::{err, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::ports::{Once, PortResult, Put, Tallies, Tally};
use rusqlite::{params, TransactionBehavior};
use std::collections::BTreeMap;

/// Adds one to a counter unless `unit` was counted there before; `true` if it counted.
pub(super) fn count_once(
    conn: &rusqlite::Connection,
    series: &str,
    bucket: &str,
    counter: &str,
    unit: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO tally_units (series, bucket, counter, unit, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![series, bucket, counter, unit, ts(now)],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    conn.execute(
        "INSERT INTO tallies (series, bucket, counter, n) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (series, bucket, counter) DO UPDATE SET n = n + 1",
        params![series, bucket, counter],
    )?;
    Ok(true)
}

/// The condition on `series` (`?1`) and a bucket range (`?2`, `?3`, bound as `""` when
/// absent), written out so that SQLite walks the primary key's range, not the whole series.
fn range(from: Option<&str>, to: Option<&str>) -> &'static str {
    match (from, to) {
        (Some(_), Some(_)) => "series = ?1 AND bucket >= ?2 AND bucket <= ?3",
        (Some(_), None) => "series = ?1 AND bucket >= ?2 AND ?3 = ''",
        (None, Some(_)) => "series = ?1 AND ?2 = '' AND bucket <= ?3",
        (None, None) => "series = ?1 AND ?2 = '' AND ?3 = ''",
    }
}

/// Calls `f` with each `(bucket, counter, n)` of `series` in the range, in key order, borrowing
/// the row's text (a year of days is hundreds of thousands of rows).
fn each_in_range(
    conn: &rusqlite::Connection,
    series: &str,
    from: Option<&str>,
    to: Option<&str>,
    mut f: impl FnMut(&str, &str, u64),
) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT bucket, counter, n FROM tallies WHERE {} ORDER BY bucket, counter",
        range(from, to)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![series, from.unwrap_or(""), to.unwrap_or("")])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| -> rusqlite::Result<&str> {
            r.get_ref(i)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })
        };
        let n = u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0);
        f(text(0)?, text(1)?, n);
    }
    Ok(())
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
        if !count_once(&tx, series, bucket, counter, unit, now).map_err(err)? {
            return Ok(Put::Existed);
        }
        tx.commit().map_err(err)?;
        Ok(Put::Created)
    }

    async fn tallies(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>> {
        let mut out: Vec<Tally> = Vec::new();
        each_in_range(&self.db.conn(), series, from, to, |bucket, counter, n| {
            if out.last().map(|t| t.bucket.as_str()) != Some(bucket) {
                out.push(Tally {
                    bucket: bucket.to_owned(),
                    counts: Default::default(),
                });
            }
            if let Some(t) = out.last_mut() {
                t.counts.insert(counter.to_owned(), n);
            }
        })
        .map_err(err)?;
        Ok(out)
    }

    async fn tally_sums(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>> {
        // Summed here over borrowed rows: SQLite's GROUP BY on the value sorts every row in a
        // temporary b-tree, several times slower for a year of days.
        let mut sums: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        each_in_range(&self.db.conn(), series, from, to, |bucket, counter, n| {
            let value = bucket.split_once('|').map_or("", |(_, v)| v);
            if !sums.contains_key(value) {
                sums.insert(value.to_owned(), BTreeMap::new());
            }
            if let Some(counts) = sums.get_mut(value) {
                match counts.get_mut(counter) {
                    Some(c) => *c += n,
                    None => {
                        counts.insert(counter.to_owned(), n);
                    }
                }
            }
        })
        .map_err(err)?;
        Ok(sums
            .into_iter()
            .map(|(bucket, counts)| Tally { bucket, counts })
            .collect())
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

    async fn tally_each_once(
        &self,
        scope: &str,
        groups: &[Once],
        _keep_days: i64,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Put>> {
        let mut conn = self.db.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let new = tx
                .execute(
                    "INSERT OR IGNORE INTO tally_units (series, bucket, counter, unit, at)
                     VALUES (?1, '', '', ?2, ?3)",
                    params![scope, g.unit, ts(now)],
                )
                .map_err(err)?
                == 1;
            if !new {
                out.push(Put::Existed);
                continue;
            }
            for a in &g.adds {
                let by = i64::try_from(a.by).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO tallies (series, bucket, counter, n) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (series, bucket, counter) DO UPDATE SET n = n + excluded.n",
                    params![a.series, a.bucket, a.counter, by],
                )
                .map_err(err)?;
            }
            out.push(Put::Created);
        }
        tx.commit().map_err(err)?;
        Ok(out)
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
