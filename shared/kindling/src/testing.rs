//! Deterministic clock and ids for tests and simulations (`kindling demo`).

use crate::ports::{Clock, Ids};
use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ids `{prefix}0001`, `{prefix}0002`, ... in order.
#[derive(Debug)]
pub struct SequentialIds {
    prefix: String,
    next: AtomicU64,
}

impl SequentialIds {
    /// Counting from 1.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            next: AtomicU64::new(1),
        }
    }
}

impl Ids for SequentialIds {
    fn new_id(&self) -> String {
        format!(
            "{}{:04}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// A zone where it is between 10:00 and 20:00 at `now`, for tests on the real clock that must not
/// fall in quiet hours.
pub fn daytime_zone(now: DateTime<Utc>) -> &'static str {
    use chrono::Timelike;
    [
        "Asia/Tokyo",
        "Europe/London",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Pacific/Auckland",
    ]
    .into_iter()
    .find(|z| {
        z.parse::<chrono_tz::Tz>()
            .is_ok_and(|tz| (10..20).contains(&now.with_timezone(&tz).hour()))
    })
    .unwrap_or("UTC")
}
