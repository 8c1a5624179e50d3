//! The periods figures are read in: weeks (Monday to Sunday) and calendar months of the
//! program's zone, so a week is the one the marketer reviews, across daylight-saving changes.
//! Facts are counted into days of that zone (`d2026-11-30`, names sorting in time order), one
//! bucket per fact, and a query sums the days of each period.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A week or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    #[default]
    Week,
    Month,
}

impl Period {
    /// Parses `week` or `month`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// The first day of the period holding `day`.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the next period after the one starting at `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => start + Days::new(7),
            Period::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start),
        }
    }

    /// The starts of every period that overlaps `from..=to` (days), in order.
    pub fn starts(self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut d = self.start(from);
        while d <= to {
            out.push(d);
            d = self.next(d);
        }
        out
    }
}

/// The day an instant falls on in the program's zone.
pub fn local_day(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The bucket an instant is counted in: its day in the program's zone, `d2026-11-30`. Weeks
/// and months are unions of these days, so a query sums them into either.
pub fn day_bucket(at: DateTime<Utc>, zone: Tz) -> String {
    format!("d{}", local_day(at, zone).format("%Y-%m-%d"))
}

/// The bucket of a day.
pub fn bucket_of(day: NaiveDate) -> String {
    format!("d{}", day.format("%Y-%m-%d"))
}

/// The day a bucket names.
pub fn day_of(bucket: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(bucket.strip_prefix('d')?, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn week_and_month(at: DateTime<Utc>, zone: Tz) -> (String, NaiveDate, NaiveDate) {
        let day = day_of(&day_bucket(at, zone)).unwrap();
        (
            day_bucket(at, zone),
            Period::Week.start(day),
            Period::Month.start(day),
        )
    }

    #[test]
    fn weeks_are_the_programs_mondays_across_a_daylight_saving_change() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let ny: Tz = "America/New_York".parse().unwrap();
        // Sunday 2026-11-01 is the end of DST in New York. Sunday 23:30 local is Monday 04:30
        // UTC: still the week of Monday 2026-10-26.
        let sunday_night = Utc.with_ymd_and_hms(2026, 11, 2, 4, 30, 0).unwrap();
        assert_eq!(
            week_and_month(sunday_night, ny),
            ("d2026-11-01".into(), d("2026-10-26"), d("2026-11-01"))
        );
        // Monday 00:30 local (05:30 UTC, after the change): the next week.
        let monday = Utc.with_ymd_and_hms(2026, 11, 2, 5, 30, 0).unwrap();
        assert_eq!(
            week_and_month(monday, ny),
            ("d2026-11-02".into(), d("2026-11-02"), d("2026-11-01"))
        );
        // Spring forward: Sunday 2026-03-08 23:59 local is 03:59 UTC Monday.
        let spring = Utc.with_ymd_and_hms(2026, 3, 9, 3, 59, 0).unwrap();
        assert_eq!(week_and_month(spring, ny).1, d("2026-03-02"));
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        // 2026-11-29 (Sunday) 15:30 UTC is Monday 00:30 in Tokyo.
        let t = Utc.with_ymd_and_hms(2026, 11, 29, 15, 30, 0).unwrap();
        assert_eq!(
            week_and_month(t, tokyo),
            ("d2026-11-30".into(), d("2026-11-30"), d("2026-11-01"))
        );
        // A month boundary in the zone, not in UTC.
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap();
        assert_eq!(week_and_month(t, tokyo).2, d("2026-12-01"));
    }

    #[test]
    fn periods_cover_a_range_and_days_name_their_buckets_back() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let weeks = Period::Week.starts(d("2026-11-04"), d("2026-11-30"));
        assert_eq!(
            weeks,
            vec![
                d("2026-11-02"),
                d("2026-11-09"),
                d("2026-11-16"),
                d("2026-11-23"),
                d("2026-11-30")
            ]
        );
        let months = Period::Month.starts(d("2026-01-31"), d("2026-03-01"));
        assert_eq!(
            months,
            vec![d("2026-01-01"), d("2026-02-01"), d("2026-03-01")]
        );
        assert_eq!(day_of(&bucket_of(d("2026-12-07"))), Some(d("2026-12-07")));
        assert!(bucket_of(d("2026-02-02")) < bucket_of(d("2026-11-30")));
        assert!(bucket_of(d("2025-12-31")) < bucket_of(d("2026-01-01")));
    }
}
