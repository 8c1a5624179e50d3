//! The deliverability part of `[sending]`: the bounce and complaint breaker and the soft-bounce
//! rule.

use super::{Breaker, SoftBounces};
use crate::diag::duration;
use crate::diag::{parse_percent, Diag};
use toml::Spanned;

/// When step mails pause, and when repeated soft bounces suppress an address.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// When step mails pause for bounces or complaints.
    pub breaker: Breaker,
    /// When repeated soft bounces suppress an address.
    pub soft_bounces: SoftBounces,
    /// The subscription topics (`[[topics]]`), each with its own opt-out.
    pub topics: Vec<super::topics::Topic>,
    /// What an RFC 8058 one-click leaves (`[unsubscribe] one_click`).
    pub one_click: super::topics::OneClick,
}

/// Checks `[sending.breaker]` and `[sending.soft_bounces]`.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    breaker_raw: Option<&Spanned<raw::Breaker>>,
    soft_raw: Option<&Spanned<raw::SoftBounces>>,
) -> Settings {
    Settings {
        breaker: breaker(d, breaker_raw),
        soft_bounces: soft_bounces(d, soft_raw),
        ..Settings::default()
    }
}

/// `[sending.breaker]`: each field defaults; rates below where SES reviews accounts.
fn breaker(
    d: &mut Diag<'_>,
    raw: Option<&Spanned<raw::Breaker>>,
) -> crate::deliverability::Breaker {
    use crate::deliverability::{
        percent as pct, Breaker, MAX_WINDOW_DAYS, SES_REVIEW_BOUNCE_RATE, SES_REVIEW_COMPLAINT_RATE,
    };
    let mut b = Breaker::default();
    let Some(raw) = raw else { return b };
    let r = raw.get_ref();
    let mut rate = |v: &Option<Spanned<String>>, key: &str, review: f64, into: &mut f64| {
        let Some(v) = v else { return };
        match parse_percent(v.get_ref()) {
            Some(x) if x > 0.0 && x < review => *into = x,
            Some(_) => d.span(
                v,
                format!(
                    "sending.breaker.{key}: above 0 and below {} (where SES reviews the account)",
                    pct(review)
                ),
            ),
            None => d.span(
                v,
                format!("sending.breaker.{key}: a percentage like \"2%\""),
            ),
        }
    };
    rate(
        &r.bounce_rate,
        "bounce_rate",
        SES_REVIEW_BOUNCE_RATE,
        &mut b.bounce_rate,
    );
    rate(
        &r.complaint_rate,
        "complaint_rate",
        SES_REVIEW_COMPLAINT_RATE,
        &mut b.complaint_rate,
    );
    if let Some(w) = &r.window {
        if let Some(window) = duration(d, w, "sending.breaker.window") {
            if window < chrono::Duration::hours(1)
                || window > chrono::Duration::days(MAX_WINDOW_DAYS)
            {
                d.span(
                    w,
                    format!("sending.breaker.window: from 1h to {MAX_WINDOW_DAYS}d"),
                );
            } else {
                b.window = window;
            }
        }
    }
    if let Some(m) = &r.min_sends {
        if *m.get_ref() < 100 {
            d.span(
                m,
                "sending.breaker.min_sends: at least 100 (fewer sends say nothing about a rate)",
            );
        } else {
            b.min_sends = *m.get_ref();
        }
    }
    b
}

/// `[sending.soft_bounces]`: each field defaults.
fn soft_bounces(
    d: &mut Diag<'_>,
    raw: Option<&Spanned<raw::SoftBounces>>,
) -> crate::deliverability::SoftBounces {
    use crate::deliverability::{SoftBounces, MAX_SOFT_BOUNCE_COUNT, MAX_WINDOW_DAYS};
    let mut b = SoftBounces::default();
    let Some(raw) = raw else { return b };
    let r = raw.get_ref();
    if let Some(c) = &r.count {
        let n = *c.get_ref();
        if (2..=MAX_SOFT_BOUNCE_COUNT).contains(&n) {
            b.count = n;
        } else {
            d.span(
                c,
                format!("sending.soft_bounces.count: from 2 to {MAX_SOFT_BOUNCE_COUNT} (one soft bounce is a full mailbox for a day, not a dead address)"),
            );
        }
    }
    if let Some(w) = &r.within {
        if let Some(within) = duration(d, w, "sending.soft_bounces.within") {
            if within < chrono::Duration::days(1)
                || within > chrono::Duration::days(MAX_WINDOW_DAYS)
            {
                d.span(
                    w,
                    format!("sending.soft_bounces.within: from 1d to {MAX_WINDOW_DAYS}d"),
                );
            } else {
                b.within = within;
            }
        }
    }
    b
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SoftBounces {
        /// `3`
        pub count: Option<S<u32>>,
        /// `"7d"`
        pub within: Option<S<String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Breaker {
        /// `"2%"`
        pub bounce_rate: Option<S<String>>,
        /// `"0.08%"`
        pub complaint_rate: Option<S<String>>,
        /// `"7d"`
        pub window: Option<S<String>>,
        pub min_sends: Option<S<u64>>,
    }
}
