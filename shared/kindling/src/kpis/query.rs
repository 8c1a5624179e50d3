//! Reading the KPIs of a range of days: the totals' buckets, and those of each breakdown asked
//! for (one read of a series each), never the activity log.

use super::count::{m, TOTALS};
use super::figures::{rate, sum_into, Counters, Figures};
use super::health::{self, Fatigue, ListWeek, TargetRow};
use super::period::{bucket_of, day_of, local_day, Period};
use super::{Dim, Kpis};
use crate::error::{Error, Result};
use crate::ports::Tally;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One more than the most days `until` may be after `since` (three years and a day or two).
pub const MAX_DAYS: i64 = 3 * 366;
/// The periods a query covers when `since` is not given: the last 12 weeks or months.
pub const DEFAULT_PERIODS: u32 = 12;

/// What is asked (`kindling kpis`, `GET /admin/kpis`): days in the program's zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// First day, `2026-09-01` (default: 12 periods before `until`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Last day (default: today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// `week` (default) or `month`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Breakdowns ([`Dim`] names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<String>,
}

/// A checked query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub period: Period,
    pub by: Vec<Dim>,
}

impl KpiQuery {
    /// Checks it against today (the program's zone).
    pub fn check(&self, today: NaiveDate) -> Result<Range> {
        let day = |key: &str, v: &Option<String>| -> Result<Option<NaiveDate>> {
            v.as_deref()
                .map(|s| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                        Error::Invalid(format!("{key}: {s:?} is not a date such as 2026-11-30"))
                    })
                })
                .transpose()
        };
        let period = match self.period.as_deref() {
            None => Period::Week,
            Some(p) => Period::parse(p).ok_or_else(|| {
                Error::Invalid(format!("period: {p:?} is not one of week or month"))
            })?,
        };
        let until = day("until", &self.until)?.unwrap_or(today);
        let since = match day("since", &self.since)? {
            Some(s) => s,
            None => {
                let mut s = period.start(until);
                for _ in 1..DEFAULT_PERIODS {
                    s = match period {
                        Period::Week => s - chrono::Days::new(7),
                        Period::Month => s.checked_sub_months(chrono::Months::new(1)).unwrap_or(s),
                    };
                }
                s
            }
        };
        if since > until {
            return Err(Error::Invalid(format!(
                "since: {since} is after until {until}"
            )));
        }
        if (until - since).num_days() >= MAX_DAYS {
            return Err(Error::Invalid(format!(
                "until: at most {} days after since",
                MAX_DAYS - 1
            )));
        }
        let mut by = Vec::new();
        for b in &self.by {
            // Only the breakdowns: the nurtures' counts are the influence section, the hot
            // leads the digest's list.
            let d = crate::names::Named::from_name(b)
                .filter(|d| Dim::BREAKDOWNS.contains(d))
                .ok_or_else(|| {
                    let names: Vec<&str> = Dim::BREAKDOWNS.iter().map(|d| d.as_str()).collect();
                    Error::Invalid(format!("by: {b:?} is not one of {}", names.join(", ")))
                })?;
            if !by.contains(&d) {
                by.push(d);
            }
        }
        Ok(Range {
            since,
            until,
            period,
            by,
        })
    }
}

/// One period's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodRow {
    /// Its first day.
    pub start: NaiveDate,
    pub figures: Figures,
}

/// One value of a breakdown over the whole range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    pub value: String,
    pub figures: Figures,
}

/// A stage of the funnel over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Leads that entered it.
    pub entered: u64,
    /// Entered the next stage per entered this one.
    pub to_next: Option<f64>,
    /// Leads that left it, and the median of their days in it.
    pub left: u64,
    pub median_days: Option<u64>,
}

/// What a nurture influenced: conversions of leads who opened or clicked its mails within the
/// influence window before converting; any touch, and the last touch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Influence {
    pub nurture: String,
    pub any: Influenced,
    pub last: Influenced,
}

/// Conversions influenced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Influenced {
    pub mql: u64,
    pub opportunity: u64,
    pub won: u64,
    pub won_amount: BTreeMap<String, String>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    pub zone: String,
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub period: Period,
    pub totals: Figures,
    /// Every period overlapping the range, oldest first, each with the range's days in it (a
    /// period with nothing counted shows zeros; the first and the last may be partial).
    pub periods: Vec<PeriodRow>,
    /// Per breakdown asked for, each value over the range.
    pub breakdowns: BTreeMap<String, Vec<BreakdownRow>>,
    pub stages: Vec<StageRow>,
    pub influence: Vec<Influence>,
    pub influence_window_days: i64,
    pub list_health: Vec<ListWeek>,
    pub fatigue: Vec<Fatigue>,
    pub targets: Vec<TargetRow>,
}

/// The first and the last bucket of the range's days (`}` sorts right after `|`: every
/// `{until}|value` is below it).
fn bounds(r: &Range) -> (String, String) {
    (bucket_of(r.since), format!("{}}}", bucket_of(r.until)))
}

/// The totals' day buckets in the range: (the start of the period the day is in, counters).
async fn per_day(k: &Kpis<'_>, r: &Range) -> Result<Vec<(NaiveDate, Counters)>> {
    let (from, to) = bounds(r);
    let got: Vec<Tally> = k.tallies.tallies(TOTALS, Some(&from), Some(&to)).await?;
    Ok(got
        .into_iter()
        .filter_map(|t| Some((r.period.start(day_of(&t.bucket)?), t.counts)))
        .collect())
}

/// Each value of a breakdown's series over the range's days.
async fn by_value(k: &Kpis<'_>, series: &str, r: &Range) -> Result<BTreeMap<String, Counters>> {
    let (from, to) = bounds(r);
    let got = k.tallies.tally_sums(series, Some(&from), Some(&to)).await?;
    Ok(got
        .into_iter()
        .filter(|t| !t.bucket.is_empty())
        .map(|t| (t.bucket, t.counts))
        .collect())
}

/// The KPIs of a range.
#[tracing::instrument(name = "kpis", skip_all)]
pub async fn kpis(k: &Kpis<'_>, q: &KpiQuery) -> Result<KpiReport> {
    let today = local_day(k.clock.now(), k.config.zone);
    let r = q.check(today)?;
    let totals_rows = per_day(k, &r).await?;
    let mut per: BTreeMap<NaiveDate, Counters> = r
        .period
        .starts(r.since, r.until)
        .into_iter()
        .map(|s| (s, Counters::new()))
        .collect();
    let mut all = Counters::new();
    for (s, c) in &totals_rows {
        sum_into(per.entry(*s).or_default(), c);
        sum_into(&mut all, c);
    }
    let mut breakdowns = BTreeMap::new();
    for d in &r.by {
        let rows = by_value(k, &d.series(), &r).await?;
        breakdowns.insert(
            d.as_str().to_owned(),
            rows.iter()
                .map(|(value, c)| BreakdownRow {
                    value: value.clone(),
                    figures: Figures::of(c),
                })
                .collect(),
        );
    }
    let stage_rows = by_value(k, &Dim::Stage.series(), &r).await?;
    let stages = stages(k, &stage_rows);
    let influence = influence(&by_value(k, &Dim::Nurture.series(), &r).await?);
    let steps = by_value(k, &Dim::Step.series(), &r).await?;
    let periods: Vec<PeriodRow> = per
        .iter()
        .map(|(s, c)| PeriodRow {
            start: *s,
            figures: Figures::of(c),
        })
        .collect();
    let totals = Figures::of(&all);
    Ok(KpiReport {
        zone: k.config.zone.name().to_owned(),
        since: r.since,
        until: r.until,
        period: r.period,
        list_health: health::list_health(&per),
        fatigue: health::fatigue(&steps, &per),
        targets: health::targets(k.config.kpis, &totals, r.since, r.until),
        totals,
        periods,
        breakdowns,
        stages,
        influence,
        influence_window_days: k.config.kpis.influence_window.num_days(),
    })
}

fn stages(k: &Kpis<'_>, rows: &BTreeMap<String, Counters>) -> Vec<StageRow> {
    let get = |id: &str, c: &str| rows.get(id).and_then(|r| r.get(c)).copied().unwrap_or(0);
    let cfg = k.config.stages;
    cfg.iter()
        .enumerate()
        .map(|(i, s)| {
            let entered = get(s.id.as_str(), m::ENTERED);
            let to_next = cfg
                .get(i + 1)
                .and_then(|n| rate(get(n.id.as_str(), m::ENTERED), entered));
            StageRow {
                stage: s.id.to_string(),
                label: s.label.clone(),
                entered,
                to_next,
                left: get(s.id.as_str(), m::LEFT),
                median_days: rows.get(s.id.as_str()).and_then(median_days),
            }
        })
        .collect()
}

/// The median of the `days.N` histogram (the lower middle of an even count).
pub fn median_days(c: &Counters) -> Option<u64> {
    let mut hist: Vec<(u64, u64)> = c
        .iter()
        .filter_map(|(k, n)| Some((k.strip_prefix(m::DAYS)?.parse().ok()?, *n)))
        .collect();
    hist.sort();
    let total: u64 = hist.iter().map(|h| h.1).sum();
    if total == 0 {
        return None;
    }
    let middle = total.div_ceil(2);
    let mut seen = 0;
    for (days, n) in hist {
        seen += n;
        if seen >= middle {
            return Some(days);
        }
    }
    None
}

fn influence(rows: &BTreeMap<String, Counters>) -> Vec<Influence> {
    let side = |c: &Counters, kind: &str| {
        let g = |name: &str| c.get(&format!("{kind}_{name}")).copied().unwrap_or(0);
        let amount_prefix = format!("{kind}_{}", m::WON_AMOUNT);
        Influenced {
            mql: g(m::MQL),
            opportunity: g("opportunity"),
            won: g("won"),
            won_amount: c
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.strip_prefix(&amount_prefix)?.to_owned(),
                        crate::leads::hundredths(*v),
                    ))
                })
                .collect(),
        }
    };
    rows.iter()
        .map(|(n, c)| Influence {
            nurture: n.clone(),
            any: side(c, "any"),
            last: side(c, "last"),
        })
        .collect()
}
