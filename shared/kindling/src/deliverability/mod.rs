//! The bounce and complaint circuit breaker: step mails pause before SES puts the account under
//! review.
//!
//! SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 %, and may stop
//! its sending. The sender counts each send, the feedback function each hard bounce and each
//! complaint, in hourly buckets ([`SERIES`]); before each run the sender sums the last `window`.
//! Once at least `min_sends` mails went out in it, a bounce rate above `bounce_rate` or a
//! complaint rate above `complaint_rate` trips the breaker: every step mail waits (it stays due,
//! nothing is dropped) and ops is alerted, once when it trips and then once a day. It stays
//! open until someone resumes sending (`kindling sending resume`, `POST /admin/sending/resume`)
//! after cleaning the list; counts from before a resume no longer count.
//!
//! Soft bounces do not count (SES does not count them either). Feedback is counted at the time
//! SES reports it, sends at the time they went out: a bounce lands in the window of its
//! report even if its mail went out earlier, which errs toward pausing.

pub mod config;
pub mod events;

pub mod breaker;
pub mod feedback;
pub mod ports;
mod preference_page;
pub mod preferences;
pub(crate) mod routes;
pub mod suppression;
pub mod topics;
mod unsubscribe;

pub use breaker::{resume_sending, sending_status, Resumed, SendingStatus};
pub use feedback::{apply_feedback, Feedback, FeedbackKind, SES_FEEDBACK_DETAIL_TYPES};
pub use unsubscribe::{unsubscribe, Unsubscribed};

use crate::ports::Tally;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::leads::ports::LeadStore;
use crate::ports::{Clock, Tallies};
use crate::token::SigningKeys;
use crate::tracking::Recorder;

/// The sections deliverability reads.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub deliverability: &'a config::Settings,
}

/// What the breaker, feedback and unsubscribing touch.
#[derive(Clone, Copy)]
pub struct Deliverability<'a> {
    pub config: Sections<'a>,
    pub keys: &'a SigningKeys,
    pub leads: &'a dyn LeadStore,
    pub suppressions: &'a dyn ports::SuppressionList,
    pub tallies: &'a dyn Tallies,
    pub record: Recorder<'a>,
    pub bus: &'a dyn crate::events::EventBus,
    pub clock: &'a dyn Clock,
}

/// The tally series of deliverability counts.
pub const SERIES: &str = "deliverability";
/// Counters in [`SERIES`].
pub const SENT: &str = "sent";
pub const BOUNCED: &str = "bounced";
pub const COMPLAINED: &str = "complained";
/// Marks in [`SERIES`]: the last trip, the last resume, the last alert sent.
pub const TRIPPED: &str = "tripped";
pub const RESUMED: &str = "resumed";
pub const ALERTED: &str = "alerted";

/// Where SES starts reviewing an account: thresholds must stay below these.
pub const SES_REVIEW_BOUNCE_RATE: f64 = 0.05;
pub const SES_REVIEW_COMPLAINT_RATE: f64 = 0.001;
/// Longest window: older counting units are forgotten ([`crate::ports::TALLY_UNIT_DAYS`]).
pub const MAX_WINDOW_DAYS: i64 = 30;

/// When the breaker trips (`[sending.breaker]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breaker {
    /// Hard bounces per send, e.g. 0.02.
    pub bounce_rate: f64,
    /// Complaints per send, e.g. 0.0008.
    pub complaint_rate: f64,
    /// How far back sends and feedback are summed.
    pub window: Duration,
    /// Fewer sends than this in the window never trip it (one bounce in ten sends is noise).
    pub min_sends: u64,
}

impl Default for Breaker {
    /// 2 % bounces or 0.08 % complaints over 7 days, from 500 sends on.
    fn default() -> Self {
        Self {
            bounce_rate: 0.02,
            complaint_rate: 0.0008,
            window: Duration::days(7),
            min_sends: 500,
        }
    }
}

/// When repeated soft bounces suppress an address (`[sending.soft_bounces]`).
///
/// SES retries a transient bounce (a full mailbox, a greylisting or busy server) for hours
/// before it reports one, so each report is a failed mail, not a failed attempt. An address that
/// soft-bounced `count` times within `within`, with no delivery to it in between, is treated as
/// dead and suppressed; a delivery ends the streak. Soft bounces never count for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftBounces {
    pub count: u32,
    pub within: Duration,
}

impl Default for SoftBounces {
    /// 3 within 7 days.
    fn default() -> Self {
        Self {
            count: 3,
            within: Duration::days(7),
        }
    }
}

/// Most soft bounces `[sending.soft_bounces] count` may ask for.
pub const MAX_SOFT_BOUNCE_COUNT: u32 = 20;

/// The tally series of one address's soft bounces: one bucket per report ([`instant`]), and the
/// mark [`DELIVERED`] with the last delivery's time.
pub fn soft_bounce_series(email: &crate::email::EmailAddress) -> String {
    format!("soft_bounces/{email}")
}
/// The counter of a soft bounce in its bucket.
pub const SOFT: &str = "soft";
/// The mark of an address's last delivery, as [`instant`].
pub const DELIVERED: &str = "delivered";

/// An instant as a bucket or mark that sorts as text: `2026-11-21T10:00:00.000Z`.
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl SoftBounces {
    /// The first bucket that counts at `now`.
    pub fn since(&self, now: DateTime<Utc>) -> String {
        instant(now - self.within)
    }

    /// How many soft bounces in `tallies` (already limited to the window) came after the last
    /// delivery (`delivered`, an [`instant`]): the streak.
    pub fn streak(&self, tallies: &[Tally], delivered: Option<&str>) -> u64 {
        tallies
            .iter()
            .filter(|t| delivered.is_none_or(|d| t.bucket.as_str() > d))
            .map(|t| t.get(SOFT).min(1))
            .sum()
    }

    /// True if `streak` soft bounces suppress the address.
    pub fn suppresses(&self, streak: u64) -> bool {
        streak >= u64::from(self.count)
    }
}

/// The hourly bucket of an instant: `2026-11-21T10`.
pub fn bucket(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

/// The start of the hour after `at`.
fn next_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::hours(1)).unwrap_or(at) + Duration::hours(1)
}

/// What went out and came back over a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// First hour counted.
    pub since: DateTime<Utc>,
    pub sends: u64,
    pub bounces: u64,
    pub complaints: u64,
}

impl Health {
    /// Sums `tallies` (already limited to the window).
    pub fn from_tallies(since: DateTime<Utc>, tallies: &[Tally]) -> Self {
        let sum = |c: &str| tallies.iter().map(|t| t.get(c)).sum();
        Self {
            since,
            sends: sum(SENT),
            bounces: sum(BOUNCED),
            complaints: sum(COMPLAINED),
        }
    }

    fn rate(n: u64, sends: u64) -> f64 {
        if sends == 0 {
            0.0
        } else {
            n as f64 / sends as f64
        }
    }

    /// Hard bounces per send (0 without sends).
    pub fn bounce_rate(&self) -> f64 {
        Self::rate(self.bounces, self.sends)
    }

    /// Complaints per send (0 without sends).
    pub fn complaint_rate(&self) -> f64 {
        Self::rate(self.complaints, self.sends)
    }

    /// Why these numbers trip `breaker`, if they do.
    pub fn trips(&self, breaker: &Breaker) -> Option<String> {
        if self.sends < breaker.min_sends {
            return None;
        }
        let mut why = Vec::new();
        if self.bounce_rate() > breaker.bounce_rate {
            why.push(format!(
                "bounce rate {} ({} of {} sends) is above {}",
                percent(self.bounce_rate()),
                self.bounces,
                self.sends,
                percent(breaker.bounce_rate)
            ));
        }
        if self.complaint_rate() > breaker.complaint_rate {
            why.push(format!(
                "complaint rate {} ({} of {} sends) is above {}",
                percent(self.complaint_rate()),
                self.complaints,
                self.sends,
                percent(breaker.complaint_rate)
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// A window for people: `7d`, `36h`.
pub fn span(d: Duration) -> String {
    let h = d.num_hours();
    if h % 24 == 0 {
        format!("{}d", h / 24)
    } else {
        format!("{h}h")
    }
}

/// A rate as a percentage with up to three decimals: `2.2%`, `0.08%`.
pub fn percent(rate: f64) -> String {
    let s = format!("{:.3}", rate * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// The record of a trip (mark [`TRIPPED`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub sends: u64,
    pub bounces: u64,
    pub complaints: u64,
}

/// The record of a resume (mark [`RESUMED`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The breaker's marks, read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    pub tripped: Option<Trip>,
    pub resumed: Option<Resume>,
    /// The key of the last alert published ([`alert_key`]).
    pub alerted: Option<String>,
}

impl Marks {
    /// From the series' marks; a mark that does not parse is ignored (and logged).
    pub fn parse(marks: &std::collections::BTreeMap<String, String>) -> Self {
        fn json<T: serde::de::DeserializeOwned>(
            marks: &std::collections::BTreeMap<String, String>,
            name: &str,
        ) -> Option<T> {
            let v = marks.get(name)?;
            serde_json::from_str(v)
                .map_err(|e| tracing::error!(mark = name, error = %e, "unreadable breaker mark"))
                .ok()
        }
        Self {
            tripped: json(marks, TRIPPED),
            resumed: json(marks, RESUMED),
            alerted: marks.get(ALERTED).cloned(),
        }
    }

    /// The trip in force: one not followed by a resume.
    pub fn open_trip(&self) -> Option<&Trip> {
        self.tripped
            .as_ref()
            .filter(|t| self.resumed.as_ref().is_none_or(|r| r.at < t.at))
    }

    /// The first hour that counts at `now`: the window's start, or the hour after the last
    /// resume if that is later (the resume's own hour held sends from before it).
    pub fn counting_from(&self, breaker: &Breaker, now: DateTime<Utc>) -> DateTime<Utc> {
        let start = (now - breaker.window)
            .duration_trunc(Duration::hours(1))
            .unwrap_or(now - breaker.window);
        match &self.resumed {
            Some(r) => start.max(next_hour(r.at)),
            None => start,
        }
    }
}

/// The alert key of a trip on day `day` of being paused (0: when it tripped; then once a day
/// while it stays paused).
pub fn alert_key(trip: &Trip, now: DateTime<Utc>) -> String {
    let day = (now - trip.at).num_days().max(0);
    format!("sending_paused/{}/{day}", trip.at.format("%Y%m%dT%H%M%SZ"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0).unwrap()
    }

    fn health(sends: u64, bounces: u64, complaints: u64) -> Health {
        Health {
            since: at(0, 0),
            sends,
            bounces,
            complaints,
        }
    }

    #[test]
    fn trips_only_above_a_rate_and_from_the_minimum_volume() {
        let b = Breaker::default();
        // Exactly 2 % is not above 2 %.
        assert_eq!(health(500, 10, 0).trips(&b), None);
        let why = health(500, 11, 0).trips(&b).unwrap();
        assert_eq!(why, "bounce rate 2.2% (11 of 500 sends) is above 2%");
        // 0.08 % of 10,000 is 8 complaints; 9 is above.
        assert_eq!(health(10_000, 0, 8).trips(&b), None);
        assert_eq!(
            health(10_000, 0, 9).trips(&b).unwrap(),
            "complaint rate 0.09% (9 of 10000 sends) is above 0.08%"
        );
        // Both at once name both.
        assert!(health(1000, 30, 1)
            .trips(&b)
            .unwrap()
            .contains("; complaint"));
        // Below the volume even 50 % bounces do not trip: too few sends to judge.
        assert_eq!(health(499, 250, 10).trips(&b), None);
        // No sends: rates are 0, never NaN.
        assert_eq!(health(0, 3, 0).bounce_rate(), 0.0);
    }

    fn soft(bucket: DateTime<Utc>) -> Tally {
        let mut t = Tally {
            bucket: instant(bucket),
            ..Tally::default()
        };
        t.counts.insert(SOFT.to_owned(), 1);
        t
    }

    #[test]
    fn a_soft_bounce_streak_counts_reports_after_the_last_delivery() {
        let rule = SoftBounces::default();
        let bounces = [soft(at(1, 0)), soft(at(5, 0)), soft(at(9, 0))];
        assert_eq!(rule.streak(&bounces, None), 3);
        assert!(rule.suppresses(3));
        assert!(!rule.suppresses(2));
        // A delivery between the first and the second ends the first streak.
        let delivered = instant(at(3, 0));
        assert_eq!(rule.streak(&bounces, Some(&delivered)), 2);
        // A delivery after all of them: no streak.
        assert_eq!(rule.streak(&bounces, Some(&instant(at(10, 0)))), 0);
        // The window starts `within` before now; instants sort as text.
        assert_eq!(rule.since(at(12, 0)), "2026-11-14T12:00:00.000Z");
        assert!(instant(at(9, 59)) < instant(at(10, 0)));
    }

    #[test]
    fn buckets_are_hours_in_utc_and_sort_as_text() {
        assert_eq!(bucket(at(9, 59)), "2026-11-21T09");
        assert!(bucket(at(9, 59)) < bucket(at(10, 0)));
        assert_eq!(percent(0.0008), "0.08%");
        assert_eq!(percent(0.02), "2%");
        assert_eq!(span(Duration::days(7)), "7d");
        assert_eq!(span(Duration::hours(36)), "36h");
    }

    #[test]
    fn a_resume_closes_the_trip_before_it_and_starts_counting_after_its_hour() {
        let b = Breaker::default();
        let trip = Trip {
            at: at(10, 30),
            reason: "x".into(),
            sends: 500,
            bounces: 11,
            complaints: 0,
        };
        let mut m = Marks {
            tripped: Some(trip.clone()),
            ..Marks::default()
        };
        assert!(m.open_trip().is_some());
        assert_eq!(
            m.counting_from(&b, at(12, 5)),
            at(12, 0) - Duration::days(7)
        );
        m.resumed = Some(Resume {
            at: at(11, 15),
            note: None,
        });
        assert!(m.open_trip().is_none());
        assert_eq!(m.counting_from(&b, at(12, 5)), at(12, 0));
        // A later trip is open again.
        m.tripped = Some(Trip {
            at: at(13, 0),
            ..trip
        });
        assert!(m.open_trip().is_some());
    }

    #[test]
    fn marks_round_trip_and_bad_ones_are_ignored() {
        let trip = Trip {
            at: at(10, 30),
            reason: "bounce rate 3%".into(),
            sends: 600,
            bounces: 18,
            complaints: 0,
        };
        let mut raw = std::collections::BTreeMap::new();
        raw.insert(TRIPPED.to_owned(), serde_json::to_string(&trip).unwrap());
        raw.insert(RESUMED.to_owned(), "not json".to_owned());
        let m = Marks::parse(&raw);
        assert_eq!(m.tripped, Some(trip));
        assert_eq!(m.resumed, None);
    }

    #[test]
    fn one_alert_key_per_day_of_a_pause() {
        let trip = Trip {
            at: at(10, 30),
            reason: String::new(),
            sends: 0,
            bounces: 0,
            complaints: 0,
        };
        let k0 = alert_key(&trip, at(10, 31));
        assert_eq!(k0, "sending_paused/20261121T103000Z/0");
        assert_eq!(alert_key(&trip, at(23, 59)), k0);
        assert_eq!(
            alert_key(&trip, at(10, 30) + Duration::days(1)),
            "sending_paused/20261121T103000Z/1"
        );
    }
}
