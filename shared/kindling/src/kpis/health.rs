//! Health: whether the list grows (new leads against unsubscribes, bounces and complaints, per
//! period), whether mails tire their readers (open and click rates falling along a sequence's
//! steps, or from one four-period span to the next, flagged only when the fall is significant
//! on enough mails), and the figures against the targets of `[kpis]`.

use super::config::{Settings, Target};
use super::count::m;
use super::figures::{sum_into, Counters, Figures};
use crate::sending::ab::two_proportion_p;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Fewer delivered mails than this on either side flags nothing.
pub const MIN_DELIVERED: u64 = 100;
/// A fall is significant below this p-value (two-proportion z-test).
pub const SIGNIFICANCE: f64 = 0.05;
/// Periods on each side of the trend comparison.
pub const TREND_PERIODS: usize = 4;

/// One period of list health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListWeek {
    pub start: NaiveDate,
    pub new_leads: u64,
    /// Unsubscribes, hard bounces and complaints: addresses the list lost.
    pub lost: u64,
    pub net: i64,
    /// Lost more than it gained.
    pub shrinking: bool,
}

/// The list's growth per period.
pub fn list_health(per: &BTreeMap<NaiveDate, Counters>) -> Vec<ListWeek> {
    per.iter()
        .map(|(start, c)| {
            let g = |k: &str| c.get(k).copied().unwrap_or(0);
            let new_leads = g(m::NEW_LEADS);
            let lost = g(m::UNSUBSCRIBED) + g(m::BOUNCED_HARD) + g(m::COMPLAINED);
            let net = i64::try_from(new_leads).unwrap_or(i64::MAX)
                - i64::try_from(lost).unwrap_or(i64::MAX);
            ListWeek {
                start: *start,
                new_leads,
                lost,
                net,
                shrinking: net < 0,
            }
        })
        .collect()
}

/// A rate that fell: where, from what to what, and how sure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fatigue {
    /// `step document_followup/3` or `trend`.
    pub what: String,
    /// `open_rate` or `ctr`.
    pub rate: String,
    pub before: f64,
    pub after: f64,
    /// Delivered mails on each side.
    pub before_delivered: u64,
    pub after_delivered: u64,
    pub p_value: f64,
}

/// A significant fall of `opened`/`clicked` per delivered from `a` to `b`.
fn fell(what: &str, a: &Counters, b: &Counters) -> Vec<Fatigue> {
    let (fa, fb) = (Figures::of(a), Figures::of(b));
    let (da, db) = (fa.delivery.delivered, fb.delivery.delivered);
    if da < MIN_DELIVERED || db < MIN_DELIVERED {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (name, xa, xb) in [
        ("open_rate", fa.reaction.opened, fb.reaction.opened),
        ("ctr", fa.reaction.clicked, fb.reaction.clicked),
    ] {
        let (ra, rb) = (xa as f64 / da as f64, xb as f64 / db as f64);
        let p = two_proportion_p(xa, da, xb, db);
        if rb < ra && p < SIGNIFICANCE {
            out.push(Fatigue {
                what: what.to_owned(),
                rate: name.to_owned(),
                before: (ra * 10_000.0).round() / 10_000.0,
                after: (rb * 10_000.0).round() / 10_000.0,
                before_delivered: da,
                after_delivered: db,
                p_value: (p * 10_000.0).round() / 10_000.0,
            });
        }
    }
    out
}

/// Falls along each sequence's steps (each step against the sequence's first), and from the
/// four periods before the last four to the last four.
pub fn fatigue(
    steps: &BTreeMap<String, Counters>,
    per: &BTreeMap<NaiveDate, Counters>,
) -> Vec<Fatigue> {
    let mut out = Vec::new();
    let mut by_sequence: BTreeMap<&str, Vec<(u32, &Counters)>> = BTreeMap::new();
    for (step, c) in steps {
        if let Some((seq, n)) = step
            .rsplit_once('/')
            .and_then(|(s, n)| Some((s, n.parse().ok()?)))
        {
            by_sequence.entry(seq).or_default().push((n, c));
        }
    }
    for (seq, mut list) in by_sequence {
        list.sort_by_key(|(n, _)| *n);
        let Some((_, first)) = list.first().copied() else {
            continue;
        };
        for (n, c) in list.iter().skip(1) {
            out.extend(fell(&format!("step {seq}/{n}"), first, c));
        }
    }
    let rows: Vec<&Counters> = per.values().collect();
    if rows.len() >= 2 * TREND_PERIODS {
        let (mut before, mut after) = (Counters::new(), Counters::new());
        let n = rows.len();
        for c in &rows[n - 2 * TREND_PERIODS..n - TREND_PERIODS] {
            sum_into(&mut before, c);
        }
        for c in &rows[n - TREND_PERIODS..] {
            sum_into(&mut after, c);
        }
        out.extend(fell("trend", &before, &after));
    }
    out
}

/// A target and the figure it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRow {
    pub kpi: String,
    pub target: f64,
    pub actual: Option<f64>,
    /// `None` when there is no figure yet.
    pub met: Option<bool>,
    /// The line of `kindling.toml` that sets it.
    pub line: usize,
}

/// Each target of `[kpis]` against the figures of the days `since..=until`.
pub fn targets(s: &Settings, f: &Figures, since: NaiveDate, until: NaiveDate) -> Vec<TargetRow> {
    let months = ((until - since).num_days() + 1) as f64 / (365.25 / 12.0);
    let mqls_per_month =
        (months > 0.0).then(|| (f.conversion.mqls as f64 / months * 10.0).round() / 10.0);
    let rows: [(&str, Option<Target>, Option<f64>, bool); 5] = [
        ("open_rate", s.open_rate, f.reaction.open_rate, false),
        ("ctr", s.ctr, f.reaction.ctr, false),
        (
            "max_unsubscribe_rate",
            s.max_unsubscribe_rate,
            f.reaction.unsubscribe_rate,
            true,
        ),
        ("mqls_per_month", s.mqls_per_month, mqls_per_month, false),
        (
            "opportunity_rate",
            s.opportunity_rate,
            f.conversion.opportunity_rate,
            false,
        ),
    ];
    rows.into_iter()
        .filter_map(|(kpi, t, actual, at_most)| {
            let t = t?;
            Some(TargetRow {
                kpi: kpi.to_owned(),
                target: t.value,
                actual,
                met: actual.map(|a| if at_most { a <= t.value } else { a >= t.value }),
                line: t.line,
            })
        })
        .collect()
}
