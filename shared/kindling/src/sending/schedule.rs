//! When a step may go out: offsets from enrollment, quiet hours in the lead's own zone, and the
//! frequency cap. All pure; the lead's zone and the current time come in as arguments.

use crate::sending::calendar::Holidays;
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

/// Which days a send window is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowDays {
    Every,
    /// Monday to Friday.
    Weekdays,
    /// Weekdays that are not holidays of the configured calendar.
    BusinessDays,
}

crate::named!(WindowDays {
    Every = "every",
    Weekdays = "weekdays",
    BusinessDays = "business_days",
});

/// A step's own sending hours in the lead's local time (`start < end`, same day), on some days:
/// e.g. a consultation invitation only 10:00-17:00 on business days. Applies on top of the
/// program's quiet hours; a step due outside it waits for the next opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub days: WindowDays,
}

impl SendWindow {
    fn open_on(&self, d: chrono::NaiveDate, cal: Holidays) -> bool {
        use chrono::Datelike;
        match self.days {
            WindowDays::Every => true,
            WindowDays::Weekdays => {
                !matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
            }
            WindowDays::BusinessDays => cal.is_business_day(d),
        }
    }

    /// The earliest instant at or after `at` inside the window, in `tz`.
    pub fn next_open(&self, at: DateTime<Utc>, tz: Tz, cal: Holidays) -> DateTime<Utc> {
        let local = at.with_timezone(&tz);
        let (mut day, time) = (local.date_naive(), local.time());
        if self.open_on(day, cal) && self.start <= time && time < self.end {
            return at;
        }
        if !(self.open_on(day, cal) && time < self.start) {
            day = day.succ_opt().unwrap_or(day);
            // Some day within two weeks is open unless the window names no day at all.
            for _ in 0..14 {
                if self.open_on(day, cal) {
                    break;
                }
                day = day.succ_opt().unwrap_or(day);
            }
        }
        resolve_local(tz, day.and_time(self.start)).max(at)
    }
}

/// The earliest instant at or after `at` when a step may go out to a lead in `tz`: outside the
/// program's quiet hours and, if the step has one, inside its send window.
pub fn next_send_time(
    at: DateTime<Utc>,
    tz: Tz,
    quiet: &QuietHours,
    window: Option<&SendWindow>,
    cal: Holidays,
) -> DateTime<Utc> {
    let mut t = at;
    // Each round moves forward to the next opening of one rule; a window inside quiet hours
    // entirely would never open, which the configuration check refuses.
    for _ in 0..32 {
        let q = quiet.next_allowed(t, tz);
        let w = window.map_or(q, |w| w.next_open(q, tz, cal));
        if w == t {
            return t;
        }
        t = w;
    }
    t
}

/// At most `max` marketing mails per lead within any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    pub max: u32,
    pub window: Duration,
}

impl FrequencyCap {
    /// True if a mail claimed at `at` still counts toward the cap at `now`.
    pub fn counts(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        at > now - self.window
    }

    /// Whether one more mail may be claimed for a lead at `now`, given when the lead's mails
    /// that count (sending, sent or unknown; never failed) were claimed, in any order and of any
    /// age: `None` if it may, else the moment the window next has room, when the oldest of the
    /// claims that fill it ages out. The stores call this inside their atomic claim.
    pub fn next_free(
        &self,
        claimed: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut recent: Vec<DateTime<Utc>> = claimed
            .iter()
            .copied()
            .filter(|at| self.counts(*at, now))
            .collect();
        let max = self.max as usize;
        if recent.len() < max {
            return None;
        }
        recent.sort_unstable();
        Some(recent[recent.len() - max] + self.window)
    }
}

pub use crate::offset::Offset;

/// Steps' due times: an offset on the lead's calendar.
impl Offset {
    /// When a step with this offset is due for an enrollment made at `enrolled_at`, for a lead
    /// in `tz` under the holiday calendar `cal`.
    pub fn due_at(&self, enrolled_at: DateTime<Utc>, tz: Tz, cal: Holidays) -> DateTime<Utc> {
        let local = enrolled_at.with_timezone(&tz).naive_local();
        match *self {
            Offset::Days(n) => resolve_local(tz, local + Duration::days(n.into())),
            Offset::BusinessDays(n) => {
                let day = cal.add_business_days(local.date(), n);
                resolve_local(tz, day.and_time(local.time()))
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
    fn the_cap_frees_a_place_when_the_oldest_claim_that_fills_it_ages_out() {
        let cap = FrequencyCap {
            max: 2,
            window: Duration::hours(24),
        };
        let now = utc("2026-11-10T10:00:00Z");
        let h = |n: i64| now - Duration::hours(n);
        assert_eq!(cap.next_free(&[], now), None);
        assert_eq!(cap.next_free(&[h(3)], now), None);
        // Two in the window: full until the older of them is 24 h old.
        assert_eq!(
            cap.next_free(&[h(3), h(20)], now),
            Some(h(20) + Duration::hours(24))
        );
        // Order does not matter, and claims outside the window do not count.
        assert_eq!(
            cap.next_free(&[h(30), h(20), h(3)], now),
            Some(h(20) + Duration::hours(24))
        );
        assert_eq!(
            cap.next_free(&[h(24), h(25)], now),
            None,
            "exactly 24 h ago no longer counts"
        );
        // Three when the cap is two (a cap lowered since): full until the second oldest ages out.
        assert_eq!(
            cap.next_free(&[h(1), h(2), h(3)], now),
            Some(h(2) + Duration::hours(24))
        );
    }

    proptest::proptest! {
        /// `next_free` agrees with counting: `None` exactly when fewer than `max` claims count
        /// now; otherwise at the moment it names the count drops below `max`, and a second
        /// earlier it has not.
        #[test]
        fn next_free_agrees_with_counting(
            max in 1u32..4,
            ages in proptest::collection::vec(0i64..200_000, 0..8),
        ) {
            let cap = FrequencyCap { max, window: Duration::hours(24) };
            let now = utc("2026-11-10T10:00:00Z");
            let claimed: Vec<_> = ages.iter().map(|s| now - Duration::seconds(*s)).collect();
            let counting = |at| claimed.iter().filter(|c| cap.counts(**c, at)).count();
            match cap.next_free(&claimed, now) {
                None => proptest::prop_assert!(counting(now) < max as usize),
                Some(t) => {
                    proptest::prop_assert!(counting(now) >= max as usize);
                    proptest::prop_assert!(t > now);
                    proptest::prop_assert!(counting(t) < max as usize);
                    proptest::prop_assert!(counting(t - Duration::seconds(1)) >= max as usize);
                }
            }
        }
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
            Offset::Days(3).due_at(utc("2026-10-30T14:00:00Z"), New_York, Holidays::None),
            utc("2026-11-02T15:00:00Z")
        );
        assert_eq!(
            Offset::Hours(72).due_at(utc("2026-10-30T14:00:00Z"), New_York, Holidays::None),
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
        assert_eq!(Offset::parse("5bd"), Ok(Offset::BusinessDays(5)));
        for bad in ["", "d", "3w", "-1d", "1.5h", "bd", "3b", "3dd"] {
            assert!(Offset::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn business_day_offsets_skip_weekends_and_japanese_holidays_at_the_same_local_time() {
        // Enrolled Friday 2026-05-01 15:00 JST (06:00 UTC): 1bd is Thursday May 7, 15:00 JST.
        let at = utc("2026-05-01T06:00:00Z");
        assert_eq!(
            Offset::BusinessDays(1).due_at(at, Tokyo, Holidays::Japan),
            utc("2026-05-07T06:00:00Z")
        );
        assert_eq!(
            Offset::BusinessDays(1).due_at(at, Tokyo, Holidays::None),
            utc("2026-05-04T06:00:00Z")
        );
    }

    fn window(days: WindowDays) -> SendWindow {
        SendWindow {
            start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            days,
        }
    }

    #[test]
    fn a_send_window_opens_at_its_start_on_an_allowed_day() {
        let w = window(WindowDays::BusinessDays);
        // Inside: unchanged. Tuesday 2026-11-10 11:00 JST.
        let inside = utc("2026-11-10T02:00:00Z");
        assert_eq!(w.next_open(inside, Tokyo, Holidays::Japan), inside);
        // Before the start: today at 10:00.
        assert_eq!(
            w.next_open(utc("2026-11-10T00:30:00Z"), Tokyo, Holidays::Japan),
            utc("2026-11-10T01:00:00Z")
        );
        // After the end on Friday 2026-11-20: Monday 23rd is a holiday, so Tuesday 24th 10:00.
        assert_eq!(
            w.next_open(utc("2026-11-20T09:00:00Z"), Tokyo, Holidays::Japan),
            utc("2026-11-24T01:00:00Z")
        );
        // Weekdays only (no holiday calendar): Monday 23rd.
        assert_eq!(
            window(WindowDays::Weekdays).next_open(
                utc("2026-11-20T09:00:00Z"),
                Tokyo,
                Holidays::Japan
            ),
            utc("2026-11-23T01:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_and_a_window_together_take_the_first_instant_both_allow() {
        // A step due at 08:00 JST: quiet hours end at 09:00, the window opens at 10:00.
        let w = window(WindowDays::Every);
        assert_eq!(
            next_send_time(
                utc("2026-11-10T23:00:00Z"),
                Tokyo,
                &qh(),
                Some(&w),
                Holidays::None
            ),
            utc("2026-11-11T01:00:00Z")
        );
        // Without a window, quiet hours alone: 09:00.
        assert_eq!(
            next_send_time(
                utc("2026-11-10T23:00:00Z"),
                Tokyo,
                &qh(),
                None,
                Holidays::None
            ),
            utc("2026-11-11T00:00:00Z")
        );
        // In New York across the DST change: due 18:00 EDT Friday Oct 30, window 10-17 on
        // business days: Monday Nov 2 10:00 EST = 15:00 UTC.
        let bw = window(WindowDays::BusinessDays);
        assert_eq!(
            next_send_time(
                utc("2026-10-30T22:00:00Z"),
                New_York,
                &qh(),
                Some(&bw),
                Holidays::None
            ),
            utc("2026-11-02T15:00:00Z")
        );
    }
}
