//! Ports: the narrow capabilities the domain needs from the outside world. The ones every
//! capability shares are here (time, ids, counters, the outcomes of writes); each capability
//! declares its own in its `ports.rs` (`leads::ports::LeadStore`, `sending::ports::Mailer`, ...),
//! and [`crate::events::EventBus`] is with the event catalog. Every port has an embedded adapter
//! (`kindling-local`) and an AWS one (`kindling-aws`); the store ports share one contract suite
//! (`kindling-tests`).

use crate::error::PortError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Result of a port call.
pub type PortResult<T> = Result<T, PortError>;

/// Outcome of a write that must happen at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written now.
    Created,
    /// Already there (a duplicate delivery or a lost race); nothing changed.
    Existed,
}

/// How many times an optimistic update is retried before giving up with a conflict.
pub const CAS_ATTEMPTS: usize = 5;

/// Outcome of an optimistic-concurrency update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// Written; the stored version is now `version + 1`.
    Updated,
    /// Someone else wrote first; re-read and try again.
    Stale,
}

/// One bucket of a tally series and its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub bucket: String,
    pub counts: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    /// A counter's value (0 if never counted).
    pub fn get(&self, counter: &str) -> u64 {
        self.counts.get(counter).copied().unwrap_or(0)
    }
}

/// Counters that count each unit once (A/B results per variant, deliverability per hour), and
/// named marks beside them (an A/B winner, when the bounce breaker was last reset).
#[async_trait]
pub trait Tallies: Send + Sync {
    /// Adds one to `counter` of `bucket` in `series` unless `unit` was counted there before
    /// (`Existed`: a redelivered event or a retried send changes nothing). Units are remembered
    /// for at least [`TALLY_UNIT_DAYS`] days.
    async fn tally_once(
        &self,
        series: &str,
        bucket: &str,
        counter: &str,
        unit: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Put>;
    /// The buckets of `series` from `from` to `to` inclusive (text order; `None`: unbounded), in
    /// bucket order.
    async fn tallies(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>>;
    /// The counters of the buckets of `series` from `from` to `to` inclusive, summed by the part
    /// of each bucket's name after its first `|` (`""` for a name without one): one [`Tally`]
    /// per such part, named by it, in text order. For a report that splits buckets as
    /// `{day}|{value}` and wants each value over a range. A store that can sum where it reads
    /// (SQLite) returns only the sums; the default sums what [`Tallies::tallies`] reads.
    async fn tally_sums(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>> {
        let mut sums: std::collections::BTreeMap<String, Tally> = Default::default();
        for t in self.tallies(series, from, to).await? {
            let value = t.bucket.split_once('|').map_or("", |(_, v)| v).to_owned();
            let sum = sums.entry(value.clone()).or_insert_with(|| Tally {
                bucket: value,
                counts: Default::default(),
            });
            for (c, n) in t.counts {
                *sum.counts.entry(c).or_default() += n;
            }
        }
        Ok(sums.into_values().collect())
    }
    /// Sets mark `name` of `series`. With `only_if_absent` the first value stays (`Existed`).
    async fn set_mark(
        &self,
        series: &str,
        name: &str,
        value: &str,
        only_if_absent: bool,
    ) -> PortResult<Put>;
    /// Every mark of `series`.
    async fn marks(&self, series: &str) -> PortResult<std::collections::BTreeMap<String, String>>;
    /// Counts each group whose unit was not counted in `scope` before: all its adds, and those
    /// of every other new group, in one write (all or nothing). A group whose unit was counted
    /// adds nothing (`Existed`). The units of one call are distinct. Units are remembered for
    /// at least `keep_days` days. DynamoDB: one consistent read of the groups' markers, then
    /// one transaction of the new markers and one update per bucket touched (none when nothing
    /// is new); a marker written between the two is read again.
    async fn tally_each_once(
        &self,
        scope: &str,
        groups: &[Once],
        keep_days: i64,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Put>>;
}

/// One add of a counted group: `by` to `counter` of `bucket` in `series`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    pub series: String,
    pub bucket: String,
    pub counter: String,
    pub by: u64,
}

/// Adds made once per `unit` (see [`Tallies::tally_each_once`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Once {
    pub unit: String,
    pub adds: Vec<Add>,
}

/// How long a tally remembers the units it counted.
pub const TALLY_UNIT_DAYS: i64 = 35;

/// The current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// New unique ids (URL-safe, at most 32 characters).
pub trait Ids: Send + Sync {
    /// A fresh id.
    fn new_id(&self) -> String;
}
