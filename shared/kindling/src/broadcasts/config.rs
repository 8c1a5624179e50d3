//! `[broadcasts]`: who may approve, the guards, and what a broadcast does
//! when the frequency cap is full (it counts toward the cap like every mail).

use crate::diag::{choice, Choice, Diag, S};
use chrono::Duration;

/// What a broadcast does when the lead's frequency cap is full (a step mail went out today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenCapped {
    /// Waits until the cap frees a slot (the newsletter arrives a little later).
    #[default]
    Wait,
    /// Skips the lead (reason `capped`).
    Skip,
}

crate::named!(WhenCapped {
    Wait = "wait",
    Skip = "skip",
});

/// `[broadcasts]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// An approver must be someone other than the creator.
    pub second_approver: bool,
    /// A frozen audience above this waits for confirmation, whatever the dry run said.
    pub max_audience: Option<u64>,
    /// A broadcast whose start passed longer ago than this does not start by itself.
    pub stale_after: Duration,
    /// What a broadcast does when the cap is full.
    pub when_capped: WhenCapped,
}

/// A frozen audience more than this many times the approved dry run's waits for confirmation.
pub const SIZE_GUARD_RATIO: u64 = 2;

impl Default for Settings {
    /// One person may approve; no maximum; stale after 6 hours; a broadcast
    /// counts toward the cap like any mail and waits when the cap is full.
    fn default() -> Self {
        Self {
            second_approver: false,
            max_audience: None,
            stale_after: Duration::hours(6),
            when_capped: WhenCapped::Wait,
        }
    }
}

/// Checks `[broadcasts]`.
pub(crate) fn validate(d: &mut Diag<'_>, r: Option<&raw::Broadcasts>) -> Settings {
    let Some(r) = r else {
        return Settings::default();
    };
    let mut s = Settings {
        second_approver: r.second_approver.unwrap_or(false),
        ..Settings::default()
    };
    if let Some(m) = &r.max_audience {
        if *m.get_ref() == 0 {
            d.span(m, "broadcasts.max_audience must be at least 1");
        }
        s.max_audience = Some(*m.get_ref());
    }
    if let Some(h) = &r.stale_after_hours {
        if *h.get_ref() == 0 {
            d.span(h, "broadcasts.stale_after_hours must be at least 1");
        }
        s.stale_after = Duration::hours(i64::from((*h.get_ref()).max(1)));
    }
    if let Some(w) = &r.when_capped {
        s.when_capped = choice(d, w, "broadcasts.when_capped").unwrap_or_default();
    }
    s
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Broadcasts {
        pub second_approver: Option<bool>,
        pub max_audience: Option<S<u64>>,
        pub stale_after_hours: Option<S<u32>>,
        pub when_capped: Option<S<Choice<WhenCapped>>>,
    }
}
