//! Business days: weekdays that are not public holidays, for business-day step offsets (`3bd`)
//! and send windows limited to business days. The holiday calendar is configuration
//! (`[sending] holidays`): none, or Japan's public holidays (国民の祝日), computed by the rules of
//! the Act on National Holidays, so no yearly table needs updating.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Which public holidays are not business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Holidays {
    /// Only weekends are not business days.
    #[default]
    None,
    /// Japan's public holidays, substitute holidays and citizens' holidays (2000-2099).
    Japan,
}

crate::named!(Holidays {
    None = "none",
    Japan = "jp",
});

impl Holidays {
    /// Whether `d` is a public holiday in this calendar.
    pub fn is_holiday(self, d: NaiveDate) -> bool {
        match self {
            Holidays::None => false,
            Holidays::Japan => japan::is_holiday(d),
        }
    }

    /// Monday to Friday and not a holiday.
    pub fn is_business_day(self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.is_holiday(d)
    }

    /// The `n`-th business day after `d` (`n = 0`: `d` itself if it is one, else the next).
    pub fn add_business_days(self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        if n == 0 {
            while !self.is_business_day(day) {
                day += Duration::days(1);
            }
            return day;
        }
        let mut left = n;
        while left > 0 {
            day += Duration::days(1);
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }
}

/// Japan's public holidays under the current law (rules valid from 2000; the 2020 and 2021
/// Olympic moves and the 2019 enthronement days are included).
pub mod japan {
    use super::*;

    /// The `nth` (1-based) `weekday` of a month.
    fn nth_weekday(year: i32, month: u32, weekday: Weekday, nth: u8) -> Option<NaiveDate> {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, nth)
    }

    /// 春分の日 (vernal equinox), by the usual approximation for 1980-2099.
    fn vernal_equinox(year: i32) -> u32 {
        let y = f64::from(year - 1980);
        (20.8431 + 0.242_194 * y - (y / 4.0).floor()).floor() as u32
    }

    /// 秋分の日 (autumnal equinox), same approximation.
    fn autumnal_equinox(year: i32) -> u32 {
        let y = f64::from(year - 1980);
        (23.2488 + 0.242_194 * y - (y / 4.0).floor()).floor() as u32
    }

    /// A holiday by law on this date (not counting substitute or citizens' holidays).
    fn statutory(d: NaiveDate) -> bool {
        let (y, m, day) = (d.year(), d.month(), d.day());
        let is = |mm: u32, dd: u32| m == mm && day == dd;
        let nth_monday = |mm: u32, n: u8| m == mm && nth_weekday(y, mm, Weekday::Mon, n) == Some(d);
        match y {
            2019 if is(4, 30) || is(5, 1) || is(5, 2) || is(10, 22) => return true,
            2020 if is(7, 23) || is(7, 24) || is(8, 10) => return true,
            2021 if is(7, 22) || is(7, 23) || is(8, 8) => return true,
            _ => {}
        }
        let olympic = y == 2020 || y == 2021;
        is(1, 1)
            || nth_monday(1, 2)
            || is(2, 11)
            || (y >= 2020 && is(2, 23))
            || (y <= 2018 && is(12, 23))
            || (m == 3 && day == vernal_equinox(y))
            || is(4, 29)
            || is(5, 3)
            || is(5, 4)
            || is(5, 5)
            || (!olympic && nth_monday(7, 3))
            || (y >= 2016 && !olympic && is(8, 11))
            || nth_monday(9, 3)
            || (m == 9 && day == autumnal_equinox(y))
            || (!olympic && nth_monday(10, 2))
            || is(11, 3)
            || is(11, 23)
    }

    /// Whether `d` is a public holiday in Japan: a statutory holiday, a substitute holiday (振替
    /// 休日: the first non-holiday after a holiday on a Sunday) or a citizens' holiday (国民の休
    /// 日: a weekday between two holidays).
    pub fn is_holiday(d: NaiveDate) -> bool {
        if statutory(d) {
            return true;
        }
        // Substitute: walk back over consecutive holidays; if the run started on a Sunday...
        let mut back = d - Duration::days(1);
        while statutory(back) {
            if back.weekday() == Weekday::Sun {
                return true;
            }
            back -= Duration::days(1);
        }
        // Citizens' holiday: between two statutory holidays (never a Sunday: that is a weekend).
        d.weekday() != Weekday::Sun
            && statutory(d - Duration::days(1))
            && statutory(d + Duration::days(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn holidays_of(year: i32) -> Vec<String> {
        let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        let mut out = Vec::new();
        while d.year() == year {
            if japan::is_holiday(d) {
                out.push(d.format("%m-%d").to_string());
            }
            d += Duration::days(1);
        }
        out
    }

    /// The Cabinet Office's published lists (内閣府「国民の祝日について」).
    #[test]
    fn japanese_holidays_match_the_published_lists() {
        assert_eq!(
            holidays_of(2025),
            [
                "01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04",
                "05-05", "05-06", "07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23",
                "11-24"
            ]
        );
        assert_eq!(
            holidays_of(2026),
            [
                "01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
                "05-06", "07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23"
            ]
        );
        assert_eq!(
            holidays_of(2020),
            [
                "01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04",
                "05-05", "05-06", "07-23", "07-24", "08-10", "09-21", "09-22", "11-03", "11-23"
            ]
        );
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let jp = Holidays::Japan;
        // Friday 2026-05-01 + 1 business day: the Golden Week holidays and the weekend pass.
        assert_eq!(
            jp.add_business_days(date("2026-05-01"), 1),
            date("2026-05-07")
        );
        assert_eq!(
            Holidays::None.add_business_days(date("2026-05-01"), 1),
            date("2026-05-04")
        );
        // Three business days from Thursday 2026-09-17 (Silver Week 21-23): the 18th, 24th, 25th.
        assert_eq!(
            jp.add_business_days(date("2026-09-17"), 3),
            date("2026-09-25")
        );
        // Zero: the day itself if it is one, else the next.
        assert_eq!(
            jp.add_business_days(date("2026-11-02"), 0),
            date("2026-11-02")
        );
        assert_eq!(
            jp.add_business_days(date("2026-11-03"), 0),
            date("2026-11-04")
        );
        use crate::names::Named;
        assert_eq!(Holidays::from_name("jp"), Some(Holidays::Japan));
        assert_eq!(Holidays::from_name("us"), None);
    }
}
