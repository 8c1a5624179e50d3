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

/// `[digest]`: the weekly KPI mail, sent once a week at `at` on `day` in the program's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub to: Vec<crate::email::EmailAddress>,
    pub day: chrono::Weekday,
    pub at: chrono::NaiveTime,
}

/// At most this many digest recipients: it goes to a team, not a list.
pub const MAX_DIGEST_RECIPIENTS: usize = 20;

/// Checks `[digest]` (absent: no digest).
pub(crate) fn validate_digest(d: &mut Diag<'_>, r: Option<&raw::Digest>) -> Option<Digest> {
    let r = r?;
    let mut to = Vec::new();
    let list = r.to.get_ref();
    if list.is_empty() || list.len() > MAX_DIGEST_RECIPIENTS {
        d.span(
            &r.to,
            format!("digest.to: 1 to {MAX_DIGEST_RECIPIENTS} addresses"),
        );
    }
    for a in list {
        if let Some(e) = crate::diag::email(d, a, "digest.to") {
            if to.contains(&e) {
                d.span(a, format!("digest.to: {e} is listed twice"));
            }
            to.push(e);
        }
    }
    let day = match &r.day {
        None => chrono::Weekday::Mon,
        Some(v) => match v.get_ref().parse::<chrono::Weekday>() {
            Ok(w) => w,
            Err(_) => {
                d.span(
                    v,
                    format!(
                        "digest.day: {:?} is not a weekday such as \"monday\"",
                        v.get_ref()
                    ),
                );
                chrono::Weekday::Mon
            }
        },
    };
    let at = match &r.at {
        None => chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
        Some(v) => crate::diag::time_of_day(d, v.span().start, v.get_ref(), "digest.at")
            .unwrap_or_default(),
    };
    Some(Digest { to, day, at })
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

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Digest {
        pub to: S<Vec<S<String>>>,
        pub day: Option<S<String>>,
        pub at: Option<S<String>>,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{errors_of, shipped_toml};

    fn with(section: &str) -> Vec<String> {
        errors_of(&format!("{}\n{section}\n", shipped_toml()))
    }

    #[test]
    fn kpi_targets_and_the_digest_are_checked_where_they_are_written() {
        assert!(with("[digest]\nto = [\"m@example.jp\"]").is_empty());
        assert!(
            with("[digest]\nto = [\"m@example.jp\"]\nday = \"Friday\"\nat = \"17:30\"").is_empty()
        );
        let errs = with("[digest]\nto = []\nday = \"someday\"\nat = \"9am\"");
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("digest.to: 1 to 20 addresses"), "{errs:?}");
        assert!(
            errs.iter().any(|e| e.contains("digest.day: \"someday\"")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("digest.at: \"9am\"")),
            "{errs:?}"
        );
        let errs = with("[digest]\nto = [\"m@example.jp\", \"m@example.jp\", \"nope\"]");
        assert_eq!(errs.len(), 2, "{errs:?}");
        let errs = with("[digest]\nto = [\"m@example.jp\"]\ncc = []");
        assert_eq!(errs.len(), 1, "unknown keys are errors: {errs:?}");
        // Every error names its line: `kindling.toml:LINE:COL: ...`.
        assert!(errs[0].starts_with("kindling.toml:"), "{errs:?}");
    }

    #[test]
    fn kpi_targets_are_shares_and_the_window_is_bounded() {
        let kpis = |body: &str| {
            errors_of(
                &shipped_toml()
                    .replace("open_rate = 0.25\n", &format!("open_rate = 0.25\n{body}\n")),
            )
        };
        assert!(kpis("").is_empty());
        let errs = errors_of(&shipped_toml().replace("open_rate = 0.25", "open_rate = 25"));
        assert!(
            errs.iter()
                .any(|e| e.contains("kpis.open_rate: a share from 0 to 1")),
            "{errs:?}"
        );
        let errs =
            errors_of(&shipped_toml().replace("mqls_per_month = 20", "mqls_per_month = 2.5"));
        assert!(
            errs.iter().any(|e| e.contains("kpis.mqls_per_month")),
            "{errs:?}"
        );
        let errs = errors_of(
            &shipped_toml().replace("influence_window = \"30d\"", "influence_window = \"400d\""),
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("kpis.influence_window: from 1d to 365d")),
            "{errs:?}"
        );
        let errs = errors_of(&shipped_toml().replace("currency = \"JPY\"", "currency = \"yen\""));
        assert!(errs.iter().any(|e| e.contains("kpis.currency")), "{errs:?}");
    }
}
