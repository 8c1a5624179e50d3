//! The `[scoring]` section: thresholds, activity rules, fit rules and what makes a lead an MQL.

use super::{FitRule, FitTest, Mql, Repeat, Rule, Thresholds};
use crate::diag::{choice, Diag};
use std::collections::HashSet;

/// How leads are scored.
#[derive(Debug, Clone)]
pub struct Settings {
    pub thresholds: Thresholds,
    pub rules: Vec<Rule>,
    /// Fit rules over lead fields (industry, title, company size, email domain).
    pub fit_rules: Vec<FitRule>,
    /// What makes a lead marketing-qualified.
    pub mql: Mql,
}

/// Checks `[scoring]`; rules may name only known page categories, forms and sequences.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    s: &raw::Scoring,
    categories: &HashSet<&str>,
    form_ids: &HashSet<&str>,
    sequence_ids: &HashSet<&str>,
) -> Settings {
    let (hot, warm) = (*s.hot.get_ref(), *s.warm.get_ref());
    if warm >= hot {
        d.span(
            &s.warm,
            format!("scoring.warm ({warm}) must be below scoring.hot ({hot})"),
        );
    }
    let mut rule_ids = HashSet::new();
    let mut rules = Vec::new();
    for r in &s.rules {
        if !rule_ids.insert(r.id.get_ref().clone()) {
            d.span(
                &r.id,
                format!("scoring.rules: duplicate rule id {:?}", r.id.get_ref()),
            );
        }
        let kind = choice(d, &r.kind, "scoring.rules.kind").ok_or(());
        if let Some(c) = &r.page_category {
            if !categories.contains(c.get_ref().as_str()) {
                d.span(
                    c,
                    format!(
                        "scoring.rules.page_category: no [[pages]] entry has category {:?}",
                        c.get_ref()
                    ),
                );
            }
        }
        if let Some(fm) = &r.form {
            if !form_ids.contains(fm.get_ref().as_str()) {
                d.span(
                    fm,
                    format!("scoring.rules.form: unknown form {:?}", fm.get_ref()),
                );
            }
        }
        let repeat = match &r.repeat {
            None => Repeat::Every,
            Some(v) => choice(d, v, "scoring.rules.repeat").unwrap_or_default(),
        };
        if let Some(u) = &r.url {
            if !u.get_ref().starts_with('/') {
                d.span(
                    u,
                    "scoring.rules.url: a path such as \"/pricing\" or \"/docs/*\"".to_owned(),
                );
            }
        }
        if let Some(sq) = &r.sequence {
            if !sequence_ids.contains(sq.get_ref().as_str()) {
                d.span(
                    sq,
                    format!(
                        "scoring.rules.sequence: unknown sequence {:?}",
                        sq.get_ref()
                    ),
                );
            }
        }
        for (limit, key) in [
            (&r.max_per_day, "max_per_day"),
            (&r.max_per_week, "max_per_week"),
            (&r.half_life_days, "half_life_days"),
        ] {
            if let Some(v) = limit {
                if *v.get_ref() == 0 {
                    d.span(v, format!("scoring.rules.{key}: must be at least 1"));
                }
            }
        }
        if let Some(m) = &r.max_points {
            if *m.get_ref() == 0 || m.get_ref().signum() != r.points.signum() {
                d.span(
                    m,
                    "scoring.rules.max_points: a cap with the sign of points, not 0".to_owned(),
                );
            }
        }
        if let Ok(kind) = kind {
            rules.push(Rule {
                id: r.id.get_ref().clone(),
                kind,
                page_category: r.page_category.as_ref().map(|s| s.get_ref().clone()),
                form_id: r.form.as_ref().map(|s| s.get_ref().as_str().into()),
                url: r.url.as_ref().map(|s| s.get_ref().clone()),
                sequence_id: r.sequence.as_ref().map(|s| s.get_ref().as_str().into()),
                step: r.step,
                points: r.points,
                repeat,
                max_per_day: r.max_per_day.as_ref().map(|v| *v.get_ref()),
                max_per_week: r.max_per_week.as_ref().map(|v| *v.get_ref()),
                max_points: r.max_points.as_ref().map(|v| *v.get_ref()),
                half_life_days: r.half_life_days.as_ref().map(|v| *v.get_ref()),
            });
        }
    }

    let mut fit_rules = Vec::new();
    for r in &s.fit {
        if !rule_ids.insert(r.id.get_ref().clone()) {
            d.span(
                &r.id,
                format!("scoring.fit: duplicate rule id {:?}", r.id.get_ref()),
            );
        }
        let field = choice(d, &r.field, "scoring.fit.field");
        let test = match (&r.any_of, &r.contains_any, &r.between) {
            (Some(v), None, None) if !v.is_empty() => Some(FitTest::AnyOf(v.clone())),
            (None, Some(v), None) if !v.is_empty() => Some(FitTest::ContainsAny(v.clone())),
            (None, None, Some(b)) if b.get_ref()[0] <= b.get_ref()[1] => {
                Some(FitTest::Between(b.get_ref()[0], b.get_ref()[1]))
            }
            _ => {
                d.span(
                    &r.id,
                    "scoring.fit: give exactly one of any_of, contains_any (non-empty) or between = [low, high]".to_owned(),
                );
                None
            }
        };
        if let (Some(field), Some(test)) = (field, test) {
            fit_rules.push(FitRule {
                id: r.id.get_ref().clone(),
                field,
                test,
                points: r.points,
            });
        }
    }

    let mql = match &s.mql {
        None => Mql {
            min_total: hot,
            min_fit: None,
            min_engagement: None,
        },
        Some(m) => {
            let r = m.get_ref();
            if r.min_total.is_none() && r.min_fit.is_none() && r.min_engagement.is_none() {
                d.span(
                    m,
                    "scoring.mql: give at least one of min_total, min_fit, min_engagement",
                );
            }
            Mql {
                min_total: r.min_total.unwrap_or(i64::MIN),
                min_fit: r.min_fit,
                min_engagement: r.min_engagement,
            }
        }
    };
    Settings {
        thresholds: Thresholds { hot, warm },
        rules,
        fit_rules,
        mql,
    }
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::activities::ActivityKind;
    use crate::diag::{Choice, S};
    use crate::scoring::{FitField, Repeat};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Scoring {
        pub hot: S<i64>,
        pub warm: S<i64>,
        #[serde(default)]
        pub rules: Vec<Rule>,
        #[serde(default)]
        pub fit: Vec<FitRule>,
        pub mql: Option<S<Mql>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct FitRule {
        pub id: S<String>,
        pub field: S<Choice<FitField>>,
        pub any_of: Option<Vec<String>>,
        pub contains_any: Option<Vec<String>>,
        pub between: Option<S<[u32; 2]>>,
        pub points: i64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Rule {
        pub id: S<String>,
        pub kind: S<Choice<ActivityKind>>,
        pub page_category: Option<S<String>>,
        pub form: Option<S<String>>,
        pub url: Option<S<String>>,
        pub sequence: Option<S<String>>,
        pub step: Option<u32>,
        pub max_per_day: Option<S<u32>>,
        pub max_per_week: Option<S<u32>>,
        pub max_points: Option<S<i64>>,
        pub half_life_days: Option<S<u32>>,
        pub points: i64,
        pub repeat: Option<S<Choice<Repeat>>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Mql {
        pub min_total: Option<i64>,
        pub min_fit: Option<i64>,
        pub min_engagement: Option<i64>,
    }
}
