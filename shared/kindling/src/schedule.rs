//! When a step may go out: offsets from enrollment, quiet hours in the lead's own zone, and the
//! frequency cap. All pure; the lead's zone and the current time come in as arguments.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The nightly window in which no marketing mail goes out, in the lead's local time.
/// `start > end` wraps midnight (22:00-09:00); `start == end` means no quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// No quiet hours at all.
    pub const NONE: QuietHours = QuietHours {
        start: NaiveTime::MIN,
        end: NaiveTime::MIN,
    };

    /// True if a local time of day falls inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start == self.end {
            false
        } else if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// The earliest instant at or after `at` that is outside quiet hours in `tz`. A send due in
    /// quiet hours waits for the window to end; it is never dropped.
    pub fn next_allowed(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = at.with_timezone(&tz);
        if !self.contains(local.time()) {
            return at;
        }
        let mut date = local.date_naive();
        if self.start > self.end && local.time() >= self.start {
            date = date.succ_opt().unwrap_or(date);
        }
        resolve_local(tz, date.and_time(self.end)).max(at)
    }
}

/// The instant of a local wall-clock time: the earlier one when a fall-back makes it ambiguous,
/// the first valid minute after a spring-forward gap.
pub fn resolve_local(tz: Tz, ndt: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = ndt;
    // Gaps are at most a few hours in every zone; give up stepping after a day.
    for _ in 0..(24 * 4) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => probe += Duration::minutes(15),
        }
    }
    Utc.from_utc_datetime(&ndt)
}

/// At most `max` marketing mails per lead within any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    pub max: u32,
    pub window: Duration,
}

/// How long after enrollment a step is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    Minutes(u32),
    Hours(u32),
    /// Calendar days in the lead's zone: "day 3" keeps the local time of day across DST changes.
    Days(u32),
}

impl Offset {
    /// Parses `30m`, `12h` or `3d`.
    pub fn parse(s: &str) -> Result<Offset, String> {
        let s = s.trim();
        let (n, unit) = s.split_at(s.len().saturating_sub(1));
        let n: u32 = n
            .parse()
            .map_err(|_| format!("{s:?} is not an offset like \"30m\", \"12h\" or \"3d\""))?;
        match unit {
            "m" => Ok(Offset::Minutes(n)),
            "h" => Ok(Offset::Hours(n)),
            "d" => Ok(Offset::Days(n)),
            _ => Err(format!(
                "{s:?} is not an offset like \"30m\", \"12h\" or \"3d\""
            )),
        }
    }

    /// Approximate length, for ordering steps.
    pub fn approx(&self) -> Duration {
        match *self {
            Offset::Minutes(n) => Duration::minutes(n.into()),
            Offset::Hours(n) => Duration::hours(n.into()),
            Offset::Days(n) => Duration::days(n.into()),
        }
    }

    /// When a step with this offset is due for an enrollment made at `enrolled_at`.
    pub fn due_at(&self, enrolled_at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        match *self {
            Offset::Days(n) => {
                let local = enrolled_at.with_timezone(&tz).naive_local();
                resolve_local(tz, local + Duration::days(n.into()))
            }
            other => enrolled_at + other.approx(),
        }
    }
}

impl PartialOrd for Offset {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.approx().cmp(&other.approx()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Asia::Tokyo};

    fn qh() -> QuietHours {
        QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn quiet_window_wraps_midnight() {
        let q = qh();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(q.contains(t(22, 0)));
        assert!(q.contains(t(23, 59)));
        assert!(q.contains(t(0, 0)));
        assert!(q.contains(t(8, 59)));
        assert!(!q.contains(t(9, 0)));
        assert!(!q.contains(t(21, 59)));
        assert!(!QuietHours::NONE.contains(t(3, 0)));
    }

    #[test]
    fn send_due_late_evening_waits_until_nine_next_morning_in_tokyo() {
        // 23:30 JST on Nov 2 = 14:30 UTC.
        let at = qh().next_allowed(utc("2026-11-02T14:30:00Z"), Tokyo);
        assert_eq!(at, utc("2026-11-03T00:00:00Z")); // 09:00 JST Nov 3
    }

    #[test]
    fn send_due_after_midnight_waits_until_nine_same_day() {
        // 03:00 JST on Nov 3 = 18:00 UTC Nov 2.
        assert_eq!(
            qh().next_allowed(utc("2026-11-02T18:00:00Z"), Tokyo),
            utc("2026-11-03T00:00:00Z")
        );
    }

    #[test]
    fn send_due_in_daytime_goes_now() {
        let at = utc("2026-11-02T03:00:00Z"); // 12:00 JST
        assert_eq!(qh().next_allowed(at, Tokyo), at);
    }

    #[test]
    fn new_york_quiet_hours_follow_daylight_saving_change() {
        // DST ends in New York on Sunday 2026-11-01 at 02:00 local (EDT, UTC-4 -> EST, UTC-5).
        // 23:00 EDT on Oct 31 = 03:00 UTC Nov 1: waits until 09:00 EST Nov 1 = 14:00 UTC.
        assert_eq!(
            qh().next_allowed(utc("2026-11-01T03:00:00Z"), New_York),
            utc("2026-11-01T14:00:00Z")
        );
        // The day before the change, 09:00 EDT = 13:00 UTC.
        assert_eq!(
            qh().next_allowed(utc("2026-10-31T03:00:00Z"), New_York),
            utc("2026-10-31T13:00:00Z")
        );
        // 08:30 UTC Nov 1 is 03:30 EST: still quiet; 14:00 UTC is 09:00 EST: allowed.
        assert_eq!(
            qh().next_allowed(utc("2026-11-01T08:30:00Z"), New_York),
            utc("2026-11-01T14:00:00Z")
        );
        assert_eq!(
            qh().next_allowed(utc("2026-11-01T14:00:00Z"), New_York),
            utc("2026-11-01T14:00:00Z")
        );
    }

    #[test]
    fn day_offsets_keep_local_time_across_daylight_saving_change() {
        // Enrolled 10:00 EDT Oct 30 (14:00 UTC); day 3 is 10:00 EST Nov 2 (15:00 UTC).
        assert_eq!(
            Offset::Days(3).due_at(utc("2026-10-30T14:00:00Z"), New_York),
            utc("2026-11-02T15:00:00Z")
        );
        assert_eq!(
            Offset::Hours(72).due_at(utc("2026-10-30T14:00:00Z"), New_York),
            utc("2026-11-02T14:00:00Z")
        );
    }

    #[test]
    fn spring_forward_gap_resolves_to_first_valid_time() {
        // 2026-03-08 02:30 does not exist in New York; 03:00 EDT = 07:00 UTC.
        let ndt = chrono::NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(resolve_local(New_York, ndt), utc("2026-03-08T07:00:00Z"));
    }

    #[test]
    fn offsets_parse() {
        assert_eq!(Offset::parse("0d"), Ok(Offset::Days(0)));
        assert_eq!(Offset::parse("12h"), Ok(Offset::Hours(12)));
        assert_eq!(Offset::parse("30m"), Ok(Offset::Minutes(30)));
        for bad in ["", "d", "3w", "-1d", "1.5h"] {
            assert!(Offset::parse(bad).is_err(), "{bad}");
        }
    }
}
