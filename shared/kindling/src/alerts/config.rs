//! `[alerts]`: how long sales has to follow up, and when a lead that turns hot again alerts
//! again.

use crate::diag::duration;
use crate::diag::Diag;

/// How alerts are paced.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `follow_up_hours` as a duration (what the diagnosis cites); the deadline itself is
    /// counted on [`Settings::clock`].
    pub follow_up: chrono::Duration,
    /// The follow-up clock of a hand-off: the deadline, counted in hours or business hours,
    /// and the reminder.
    pub clock: crate::routing::follow_up::FollowUp,
    /// The rep (`[[reps]]` id) escalations go to; `None`: the team.
    pub escalate_to: Option<String>,
    /// A lead that turns hot again within this long of its last alert does not alert again.
    pub realert_cooldown: chrono::Duration,
}

/// Checks `[alerts]`; `holidays` are `[sending] holidays` (business hours skip them), `reps`
/// the `[[reps]]` ids `escalate_to` may name.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    a: &raw::Alerts,
    holidays: crate::sending::calendar::Holidays,
    reps: &std::collections::HashSet<String>,
) -> Settings {
    use crate::routing::follow_up::{Clock, FollowUp};
    let realert_cooldown = match &a.realert_cooldown {
        None => chrono::Duration::days(7),
        Some(v) => duration(d, v, "alerts.realert_cooldown").unwrap_or_default(),
    };
    let clock = match &a.business_hours {
        None => Clock::Hours,
        Some(v) => {
            let parsed = v.get_ref().split_once('-').and_then(|(f, t)| {
                let p = |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
                Some((p(f)?, p(t)?))
            });
            match parsed {
                Some((from, to)) if from < to => Clock::Business { from, to, holidays },
                _ => {
                    d.span(
                        v,
                        "alerts.business_hours: \"HH:MM-HH:MM\", the start before the end",
                    );
                    Clock::Hours
                }
            }
        }
    };
    let remind_at = match &a.remind_at {
        None => 0.75,
        Some(v) => match crate::diag::parse_percent(v.get_ref()) {
            Some(p) if p > 0.0 && p < 1.0 => p,
            _ => {
                d.span(
                    v,
                    "alerts.remind_at: a share of the follow-up time, above 0% and below 100%",
                );
                0.75
            }
        },
    };
    let escalate_to = a.escalate_to.as_ref().map(|v| {
        if !reps.contains(v.get_ref()) {
            d.span(
                v,
                format!("alerts.escalate_to: {:?} is not a [[reps]] id", v.get_ref()),
            );
        }
        v.get_ref().clone()
    });
    Settings {
        follow_up: chrono::Duration::hours(i64::from(a.follow_up_hours)),
        clock: FollowUp {
            hours: a.follow_up_hours,
            clock,
            remind_at,
        },
        escalate_to,
        realert_cooldown,
    }
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Alerts {
        #[serde(default = "default_follow_up_hours")]
        pub follow_up_hours: u32,
        /// A lead that cools and turns hot again within this long is not alerted again.
        pub realert_cooldown: Option<S<String>>,
        /// `"09:00-18:00"`: the follow-up hours count only these hours of business days.
        pub business_hours: Option<S<String>>,
        /// `"75%"`: when the owner is reminded.
        pub remind_at: Option<S<String>>,
        /// The rep who gets escalations.
        pub escalate_to: Option<S<String>>,
    }

    impl Default for Alerts {
        fn default() -> Self {
            Self {
                follow_up_hours: default_follow_up_hours(),
                realert_cooldown: None,
                business_hours: None,
                remind_at: None,
                escalate_to: None,
            }
        }
    }

    fn default_follow_up_hours() -> u32 {
        48
    }
}
