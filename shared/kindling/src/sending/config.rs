//! The schedule part of `[sending]`: quiet hours, the frequency cap and the holiday calendar.
//! (Its `breaker` and `soft_bounces` belong to [`crate::deliverability`].)

use super::calendar::Holidays;
use super::schedule::{FrequencyCap, Offset, QuietHours, SendWindow};
use crate::diag::{choice, time_of_day, Choice, Diag, S};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// When mail may go out.
#[derive(Debug, Clone)]
pub struct Settings {
    pub quiet_hours: QuietHours,
    pub cap: FrequencyCap,
    /// Public holidays that are not business days (business-day offsets and windows).
    pub holidays: Holidays,
}

impl Settings {
    /// The earliest instant at or after `at` when a mail may go out to a lead in `zone`: outside
    /// quiet hours and inside `window` if it has one.
    pub fn send_time(
        &self,
        window: Option<&SendWindow>,
        at: DateTime<Utc>,
        zone: Tz,
    ) -> DateTime<Utc> {
        super::schedule::next_send_time(at, zone, &self.quiet_hours, window, self.holidays)
    }

    /// When a mail due `offset` after `from` (business days under the holiday calendar) may go
    /// out to a lead in `zone` ([`Settings::send_time`]).
    pub fn due(
        &self,
        offset: &Offset,
        window: Option<&SendWindow>,
        from: DateTime<Utc>,
        zone: Tz,
    ) -> DateTime<Utc> {
        self.send_time(window, offset.due_at(from, zone, self.holidays), zone)
    }
}

/// Checks the schedule keys of `[sending]`.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    quiet_hours: &S<raw::QuietHours>,
    cap: &S<raw::Cap>,
    holidays: &Option<S<Choice<Holidays>>>,
) -> Settings {
    let qh = quiet_hours.get_ref();
    let qh_at = quiet_hours.span().start;
    let quiet_hours = match (
        time_of_day(d, qh_at, &qh.start, "sending.quiet_hours.start"),
        time_of_day(d, qh_at, &qh.end, "sending.quiet_hours.end"),
    ) {
        (Some(start), Some(end)) => QuietHours { start, end },
        _ => QuietHours::NONE,
    };
    let cap_raw = cap.get_ref();
    if cap_raw.max == 0 || cap_raw.window_hours == 0 {
        d.span(cap, "sending.cap: max and window_hours must be at least 1");
    }
    let cap = FrequencyCap {
        max: cap_raw.max.max(1),
        window: chrono::Duration::hours(i64::from(cap_raw.window_hours.max(1))),
    };
    let holidays = match holidays {
        None => Holidays::None,
        Some(h) => choice(d, h, "sending.holidays").unwrap_or_default(),
    };
    Settings {
        quiet_hours,
        cap,
        holidays,
    }
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct QuietHours {
        pub start: String,
        pub end: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Cap {
        pub max: u32,
        pub window_hours: u32,
    }
}
