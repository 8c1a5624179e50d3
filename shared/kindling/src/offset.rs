//! A length written in the program: `30m`, `12h`, `3d`, `5bd` (business days): a step's offset
//! after enrolling, a window, a cooldown. Parsed here, once, for every section; what a step's
//! offset means on a lead's calendar is sending's ([`crate::sending::schedule`]).

use chrono::Duration;

/// How long after enrollment a step is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    Minutes(u32),
    Hours(u32),
    /// Calendar days in the lead's zone: "day 3" keeps the local time of day across DST changes.
    Days(u32),
    /// Business days in the lead's zone (weekdays that are not holidays of the configured
    /// calendar), keeping the local time of day.
    BusinessDays(u32),
}

/// For people: `day 3`, `2 business days`, `12 h`, `30 min` after enrolling (`at once` for 0).
impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Offset::Minutes(0) | Offset::Hours(0) | Offset::Days(0) | Offset::BusinessDays(0) => {
                f.write_str("at once")
            }
            Offset::Minutes(n) => write!(f, "{n} min"),
            Offset::Hours(n) => write!(f, "{n} h"),
            Offset::Days(n) => write!(f, "day {n}"),
            Offset::BusinessDays(n) => {
                write!(f, "{n} business day{}", if n == 1 { "" } else { "s" })
            }
        }
    }
}

impl Offset {
    /// Parses `30m`, `12h`, `3d` or `5bd` (business days).
    pub fn parse(s: &str) -> Result<Offset, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not an offset like \"30m\", \"12h\", \"3d\" or \"5bd\"");
        let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = s.split_at(unit_at);
        let n: u32 = n.parse().map_err(|_| bad())?;
        match unit {
            "m" => Ok(Offset::Minutes(n)),
            "h" => Ok(Offset::Hours(n)),
            "d" => Ok(Offset::Days(n)),
            "bd" => Ok(Offset::BusinessDays(n)),
            _ => Err(bad()),
        }
    }

    /// Approximate length, for ordering steps.
    pub fn approx(&self) -> Duration {
        match *self {
            Offset::Minutes(n) => Duration::minutes(n.into()),
            Offset::Hours(n) => Duration::hours(n.into()),
            Offset::Days(n) => Duration::days(n.into()),
            // Five business days are a week.
            Offset::BusinessDays(n) => Duration::days(i64::from(n) * 7 / 5),
        }
    }
}
