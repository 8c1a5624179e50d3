//! `[alerts]`: how long sales has to follow up, and when a lead that turns hot again alerts
//! again.

use crate::diag::duration;
use crate::diag::Diag;

/// How alerts are paced.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long sales has to follow up a hot lead before it is escalated.
    pub follow_up: chrono::Duration,
    /// A lead that turns hot again within this long of its last alert does not alert again.
    pub realert_cooldown: chrono::Duration,
}

/// Checks `[alerts]`.
pub(crate) fn validate(d: &mut Diag<'_>, a: &raw::Alerts) -> Settings {
    let realert_cooldown = match &a.realert_cooldown {
        None => chrono::Duration::days(7),
        Some(v) => duration(d, v, "alerts.realert_cooldown").unwrap_or_default(),
    };
    Settings {
        follow_up: chrono::Duration::hours(i64::from(a.follow_up_hours)),
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
    }

    impl Default for Alerts {
        fn default() -> Self {
            Self {
                follow_up_hours: default_follow_up_hours(),
                realert_cooldown: None,
            }
        }
    }

    fn default_follow_up_hours() -> u32 {
        48
    }
}
