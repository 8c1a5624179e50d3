//! `[kpis]`: the targets the figures are held against, the window in which a mail that was
//! opened or clicked counts as having influenced a conversion, and the currency of an amount
//! given without one.

use crate::diag::{duration, Diag, S};

/// A rate target: a share from 0 to 1, and the line of `kindling.toml` that sets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub value: f64,
    pub line: usize,
}

/// The validated section.
#[derive(Debug, Clone)]
pub struct Settings {
    /// People's opens per delivered mail.
    pub open_rate: Option<Target>,
    /// People's clicks per delivered mail.
    pub ctr: Option<Target>,
    /// Unsubscribes per delivered mail, at most.
    pub max_unsubscribe_rate: Option<Target>,
    /// MQLs per month (a count; `value` is whole).
    pub mqls_per_month: Option<Target>,
    /// Opportunities per MQL.
    pub opportunity_rate: Option<Target>,
    /// How long before a conversion an opened or clicked mail counts as a touch.
    pub influence_window: chrono::Duration,
    /// The currency of a sales amount given without one.
    pub currency: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            open_rate: None,
            ctr: None,
            max_unsubscribe_rate: None,
            mqls_per_month: None,
            opportunity_rate: None,
            influence_window: chrono::Duration::days(DEFAULT_INFLUENCE_DAYS),
            currency: DEFAULT_CURRENCY.to_owned(),
        }
    }
}

/// Default influence window, in days.
pub const DEFAULT_INFLUENCE_DAYS: i64 = 30;
/// Default currency of sales amounts.
pub const DEFAULT_CURRENCY: &str = "JPY";

/// Checks `[kpis]`.
pub(crate) fn validate(d: &mut Diag<'_>, k: &raw::Kpis) -> Settings {
    let rate = |d: &mut Diag<'_>, v: &Option<S<f64>>, key: &str| -> Option<Target> {
        let v = v.as_ref()?;
        let value = *v.get_ref();
        if !(0.0..=1.0).contains(&value) {
            d.span(v, format!("kpis.{key}: a share from 0 to 1 (0.25 is 25%)"));
            return None;
        }
        Some(Target {
            value,
            line: d.line(v.span().start),
        })
    };
    let open_rate = rate(d, &k.open_rate, "open_rate");
    let ctr = rate(d, &k.ctr, "ctr");
    let max_unsubscribe_rate = rate(d, &k.max_unsubscribe_rate, "max_unsubscribe_rate");
    let opportunity_rate = rate(d, &k.opportunity_rate, "opportunity_rate");
    let mqls_per_month = k.mqls_per_month.as_ref().and_then(|v| {
        let value = *v.get_ref();
        if value < 0.0 || value.fract() != 0.0 || value > 1e9 {
            d.span(v, "kpis.mqls_per_month: a whole number of leads");
            return None;
        }
        Some(Target {
            value,
            line: d.line(v.span().start),
        })
    });
    let influence_window = match &k.influence_window {
        None => chrono::Duration::days(DEFAULT_INFLUENCE_DAYS),
        Some(v) => match duration(d, v, "kpis.influence_window") {
            Some(w) if w >= chrono::Duration::days(1) && w <= chrono::Duration::days(365) => w,
            Some(_) => {
                d.span(v, "kpis.influence_window: from 1d to 365d");
                chrono::Duration::days(DEFAULT_INFLUENCE_DAYS)
            }
            None => chrono::Duration::days(DEFAULT_INFLUENCE_DAYS),
        },
    };
    let currency = match &k.currency {
        None => DEFAULT_CURRENCY.to_owned(),
        Some(c) => {
            if crate::leads::Money::parse("0", c.get_ref()).is_err() {
                let m = format!(
                    "kpis.currency: {:?} is not an ISO 4217 code such as JPY",
                    c.get_ref()
                );
                d.span(c, m);
            }
            c.get_ref().clone()
        }
    };
    Settings {
        open_rate,
        ctr,
        max_unsubscribe_rate,
        mqls_per_month,
        opportunity_rate,
        influence_window,
        currency,
    }
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Kpis {
        pub open_rate: Option<S<f64>>,
        pub ctr: Option<S<f64>>,
        pub max_unsubscribe_rate: Option<S<f64>>,
        pub mqls_per_month: Option<S<f64>>,
        pub opportunity_rate: Option<S<f64>>,
        /// `30d` by default.
        pub influence_window: Option<S<String>>,
        pub currency: Option<S<String>>,
    }
}
