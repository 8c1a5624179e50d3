//! `[broadcasts]`: who may approve, the guards, whether a broadcast counts toward the frequency
//! cap, what it does when the cap is full, and the internal addresses test sends may reach.

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
    /// A `local` broadcast starts (freezes its audience) this long before the first recipient's
    /// hour that its dry run found.
    pub local_head_start: Duration,
    /// What a broadcast does when the cap is full.
    pub when_capped: WhenCapped,
    /// A broadcast's mail counts toward the lead's frequency cap like a step's (and waits for
    /// it, or is skipped, by `when_capped`). `false`: it neither waits for the cap nor fills it,
    /// so a newsletter never delays a step mail nor is delayed by one.
    pub counts_toward_cap: bool,
    /// `test_send.addresses`: the only addresses a test send may reach (internal reviewers).
    /// Empty: no test sends.
    pub test_addresses: Vec<crate::email::EmailAddress>,
}

/// At most this many test addresses: a test send is a review, not a mailing.
pub const MAX_TEST_ADDRESSES: usize = 20;

impl Settings {
    /// The cap a broadcast's claim checks and counts toward, if any.
    pub fn cap(
        &self,
        cap: crate::sending::schedule::FrequencyCap,
    ) -> Option<crate::sending::schedule::FrequencyCap> {
        self.counts_toward_cap.then_some(cap)
    }
}

/// How long before the first recipient's hour a `local` broadcast freezes, unless said
/// otherwise; and the most that may be said.
pub const DEFAULT_HEAD_START_MINUTES: u32 = 60;
pub const MAX_HEAD_START_MINUTES: u32 = 24 * 60;

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
            local_head_start: Duration::minutes(DEFAULT_HEAD_START_MINUTES.into()),
            when_capped: WhenCapped::Wait,
            counts_toward_cap: true,
            test_addresses: Vec::new(),
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
        counts_toward_cap: r.counts_toward_cap.unwrap_or(true),
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
    if let Some(m) = &r.local_head_start_minutes {
        if *m.get_ref() > MAX_HEAD_START_MINUTES {
            d.span(
                m,
                format!(
                    "broadcasts.local_head_start_minutes: at most {MAX_HEAD_START_MINUTES} (a day)"
                ),
            );
        }
        s.local_head_start = Duration::minutes((*m.get_ref()).min(MAX_HEAD_START_MINUTES).into());
    }
    if let Some(list) = r.test_send.as_ref().and_then(|t| t.addresses.as_ref()) {
        if list.len() > MAX_TEST_ADDRESSES {
            d.span(
                &list[MAX_TEST_ADDRESSES],
                format!("broadcasts.test_send.addresses: at most {MAX_TEST_ADDRESSES} addresses"),
            );
        }
        for a in list {
            if let Some(e) = crate::diag::email(d, a, "broadcasts.test_send.addresses") {
                if s.test_addresses.contains(&e) {
                    d.span(
                        a,
                        format!("broadcasts.test_send.addresses: {e} is listed twice"),
                    );
                }
                s.test_addresses.push(e);
            }
        }
    }
    if let Some(w) = &r.when_capped {
        s.when_capped = choice(d, w, "broadcasts.when_capped").unwrap_or_default();
        if !s.counts_toward_cap {
            d.span(
                w,
                "broadcasts.when_capped: a broadcast that does not count toward the cap is never capped (remove one of the two)",
            );
        }
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
        pub local_head_start_minutes: Option<S<u32>>,
        pub when_capped: Option<S<Choice<WhenCapped>>>,
        pub counts_toward_cap: Option<bool>,
        pub test_send: Option<TestSend>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct TestSend {
        pub addresses: Option<Vec<S<String>>>,
    }
}
