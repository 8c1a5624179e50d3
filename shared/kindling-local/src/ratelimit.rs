//! Rate limits of the local server (API Gateway throttles on AWS), token buckets on the app's
//! clock so tests are deterministic: per IP address and per visitor id, and with
//! `LocalApp::route_limits` per route for all clients together (`[api]`).

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// A bucket's size and refill.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub burst: f64,
    pub per_second: f64,
}

/// Beacons from one address: a busy office behind one NAT gets a generous bucket.
pub const BEACONS_PER_IP: Limit = Limit {
    burst: 120.0,
    per_second: 2.0,
};
/// Beacons from one browser: a page view and a leave per page, with room for fast clicking.
pub const BEACONS_PER_VISITOR: Limit = Limit {
    burst: 60.0,
    per_second: 1.0,
};
/// Form submissions from one address.
pub const FORMS_PER_IP: Limit = Limit {
    burst: 10.0,
    per_second: 0.2,
};

/// Buckets by key; idle ones are dropped when the map grows.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, DateTime<Utc>)>>,
}

/// Most buckets kept before idle ones are pruned.
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    /// Takes one token from `key`'s bucket; `Err(seconds)` until the next token if it is empty.
    pub fn take(&self, key: &str, limit: Limit, now: DateTime<Utc>) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            // A bucket idle long enough to be full again carries no state worth keeping.
            buckets.retain(|_, (tokens, at)| {
                *tokens + seconds(now, *at) * limit.per_second < limit.burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((limit.burst, now));
        *tokens = (*tokens + seconds(now, *at) * limit.per_second).min(limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / limit.per_second).ceil() as u64)
        }
    }
}

fn seconds(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    (now - then).num_milliseconds().max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn a_bucket_allows_its_burst_then_refills() {
        let r = RateLimiter::default();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        let limit = Limit {
            burst: 3.0,
            per_second: 0.5,
        };
        for _ in 0..3 {
            assert!(r.take("ip", limit, t0).is_ok());
        }
        assert_eq!(r.take("ip", limit, t0), Err(2));
        assert!(r.take("other", limit, t0).is_ok(), "buckets are per key");
        assert!(r.take("ip", limit, t0 + Duration::seconds(2)).is_ok());
        assert!(r.take("ip", limit, t0 + Duration::seconds(2)).is_err());
    }
}
