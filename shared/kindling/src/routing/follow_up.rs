//! The follow-up clock of a hand-off: when sales must have touched a lead handed to it (the
//! deadline), and when its owner is reminded first. Counted on the wall clock (`48h`), or in
//! business hours of the program's zone: the hours between `from` and `to` of business days
//! (weekdays that are not holidays of `[sending] holidays`), so a lead handed over on Friday
//! evening is due on Tuesday, and Japan's holidays do not count.

use crate::sending::calendar::Holidays;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

/// How the follow-up time is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock hours.
    Hours,
    /// Business hours: `from` to `to` (local time) of business days.
    Business {
        from: NaiveTime,
        to: NaiveTime,
        holidays: Holidays,
    },
}

/// The follow-up rule of `[alerts]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowUp {
    /// Hours sales has (of the clock's kind).
    pub hours: u32,
    pub clock: Clock,
    /// The share of the time after which the owner is reminded (0.75: at three quarters).
    pub remind_at: f64,
}

impl Default for FollowUp {
    fn default() -> Self {
        Self {
            hours: 48,
            clock: Clock::Hours,
            remind_at: 0.75,
        }
    }
}

impl FollowUp {
    /// The reminder's time and the deadline of a hand-off at `at`.
    pub fn times(&self, at: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let total = Duration::hours(i64::from(self.hours));
        let remind =
            Duration::seconds((total.num_seconds() as f64 * self.remind_at).round() as i64);
        (self.after(at, remind, zone), self.after(at, total, zone))
    }

    /// `at` plus `d` of this clock's time.
    fn after(&self, at: DateTime<Utc>, d: Duration, zone: Tz) -> DateTime<Utc> {
        match self.clock {
            Clock::Hours => at + d,
            Clock::Business { from, to, holidays } => {
                business_after(at, d, zone, from, to, holidays)
            }
        }
    }
}

/// `at` plus `d` counted only within `from`..`to` of business days in `zone`.
fn business_after(
    at: DateTime<Utc>,
    d: Duration,
    zone: Tz,
    from: NaiveTime,
    to: NaiveTime,
    holidays: Holidays,
) -> DateTime<Utc> {
    use crate::sending::schedule::resolve_local;
    let mut left = d;
    let mut now = at;
    // A year of days is far more than any follow-up time; stop there whatever the input.
    for _ in 0..400 {
        let local = now.with_timezone(&zone);
        let day = local.date_naive();
        let (open, close) = (
            resolve_local(zone, day.and_time(from)),
            resolve_local(zone, day.and_time(to)),
        );
        if holidays.is_business_day(day) && now < close {
            let start = now.max(open);
            let room = close - start;
            if left <= room {
                return start + left;
            }
            left -= room;
        }
        now = resolve_local(zone, (day + Duration::days(1)).and_time(NaiveTime::MIN));
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Asia::Tokyo;

    fn jst(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Tokyo
            .with_ymd_and_hms(2026, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn business(hours: u32) -> FollowUp {
        FollowUp {
            hours,
            clock: Clock::Business {
                from: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                to: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                holidays: Holidays::Japan,
            },
            remind_at: 0.75,
        }
    }

    #[test]
    fn wall_clock_hours_are_hours_with_the_reminder_at_three_quarters() {
        let f = FollowUp::default();
        let at = jst(12, 4, 17, 0);
        assert_eq!(
            f.times(at, Tokyo),
            (at + Duration::hours(36), at + Duration::hours(48))
        );
    }

    #[test]
    fn business_hours_skip_nights_and_a_weekend() {
        // Friday 2026-12-04 17:00: one hour on Friday, then Monday and Tuesday.
        let f = business(18);
        let (remind, due) = f.times(jst(12, 4, 17, 0), Tokyo);
        // 13.5 h: Friday 1 h, Monday 9 h, Tuesday 3.5 h.
        assert_eq!(remind, jst(12, 8, 12, 30));
        // 18 h: Friday 1 h, Monday 9 h, Tuesday 8 h.
        assert_eq!(due, jst(12, 8, 17, 0));
        // Handed over on Saturday night: the clock starts on Monday at 09:00.
        assert_eq!(f.times(jst(12, 5, 23, 0), Tokyo).1, jst(12, 8, 18, 0));
    }

    #[test]
    fn business_hours_skip_a_japanese_holiday() {
        // Friday 2026-11-20 17:00; Monday 11-23 is 勤労感謝の日: the next business day is Tuesday.
        let f = business(9);
        let (_, due) = f.times(jst(11, 20, 17, 0), Tokyo);
        assert_eq!(due, jst(11, 24, 17, 0));
        // Without holidays, Monday counts.
        let plain = FollowUp {
            clock: Clock::Business {
                from: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                to: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                holidays: Holidays::None,
            },
            ..f
        };
        assert_eq!(plain.times(jst(11, 20, 17, 0), Tokyo).1, jst(11, 23, 17, 0));
    }

    #[test]
    fn a_hand_off_before_opening_starts_at_opening() {
        let f = business(2);
        assert_eq!(f.times(jst(12, 7, 6, 0), Tokyo).1, jst(12, 7, 11, 0));
    }
}
