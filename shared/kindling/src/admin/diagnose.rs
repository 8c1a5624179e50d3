//! `kindling diagnose` (`GET /admin/diagnose`): the 15-point checklist of a nurture program,
//! scored from the configuration and the data, each item with its evidence (a count, a share of
//! leads, or the `kindling.toml` line that sets it) and, when it fails, what to do next, in the
//! program's language ([`super::diagnose_words`]).
//!
//! What it reads: the configuration; the KPI buckets of the last 90 days; the first
//! [`SAMPLE_LEADS`] leads in id order (attributes, stages); the broadcasts. Its answer depends
//! only on those and the clock, so the same store at the same time gives the same diagnosis.

use super::diagnose_words::{words, Words};
use crate::app::Kindling;
use crate::broadcasts::Audience;
use crate::broadcasts::State;
use crate::error::Result;
use crate::kpis::{KpiQuery, KpiReport};
use crate::leads::Lead;
use crate::triggers::Condition;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Leads read for the shares of attributes and stages.
pub const SAMPLE_LEADS: usize = 1_000;
/// The window of the data checks, in days.
pub const WINDOW_DAYS: u64 = 90;
/// The share of leads with company, industry and title that passes item 1.
pub const ATTRIBUTES_SHARE: f64 = 0.5;
/// The share of new leads that came with their browser's visits that passes item 2.
pub const TRACKED_SHARE: f64 = 0.5;

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// 1 to 15.
    pub n: u8,
    /// A stable name (`attributes_captured`, ...).
    pub key: String,
    pub title: String,
    pub passed: bool,
    pub evidence: String,
    /// What to do, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The checklist's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Items passed, of 15.
    pub score: usize,
    /// `ready` (12 or more), `gaps` (8 to 11) or `rebuild` (7 or fewer).
    pub verdict: String,
    /// The verdict in the program's language.
    pub verdict_text: String,
    pub items: Vec<Check>,
}

/// The verdict of a score.
pub fn verdict(score: usize) -> &'static str {
    match score {
        12.. => "ready",
        8..=11 => "gaps",
        _ => "rebuild",
    }
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// What the items read, gathered once.
struct Facts<'a> {
    k: &'a Kindling,
    kpis: KpiReport,
    leads: Vec<Lead>,
    broadcasts: Vec<crate::broadcasts::Broadcast>,
    /// The CRM sync's state, where `[crm]` is set and this runtime sees its carrier.
    sync: Option<crate::crm::ports::SyncStatus>,
}

impl Facts<'_> {
    /// `kindling.toml:LINE` of a table, or the table's name.
    fn at(&self, table: &str) -> String {
        self.k
            .config
            .line(table)
            .map_or_else(|| format!("[{table}]"), |l| format!("kindling.toml:{l}"))
    }
}

/// Runs the checklist.
pub async fn diagnose(k: &Kindling) -> Result<Diagnosis> {
    let now = k.clock.now();
    let today = crate::kpis::period::local_day(now, k.config.program.default_zone);
    let query = KpiQuery {
        since: Some((today - chrono::Days::new(WINDOW_DAYS - 1)).to_string()),
        until: Some(today.to_string()),
        period: Some("month".into()),
        by: vec!["segment".into()],
    };
    let kpis = crate::kpis::kpis(&k.kpis(), &query).await?;
    let ids = k.stores.leads.list_lead_ids(None, SAMPLE_LEADS).await?;
    let leads = k.stores.leads.get_leads(&ids).await?;
    let since = now - Duration::days(WINDOW_DAYS as i64);
    let broadcasts = k
        .stores
        .broadcasts
        .list_broadcasts()
        .await?
        .into_iter()
        .filter(|b| b.created_at >= since && b.state != State::Cancelled)
        .collect();
    let sync = match (&k.config.crm, &k.sync) {
        (Some(_), Some(ledger)) => Some(ledger.status().await?),
        _ => None,
    };
    let f = Facts {
        k,
        kpis,
        leads,
        broadcasts,
        sync,
    };
    let w = words(&k.config.program.default_language);
    let items: Vec<Check> = CHECKS
        .iter()
        .enumerate()
        .map(|(i, check)| {
            let (passed, evidence) = check(&f, w);
            let n = i + 1;
            let (key, title, next) = w.item(n);
            Check {
                n: n as u8,
                key: key.to_owned(),
                title: title.to_owned(),
                passed,
                evidence,
                next: (!passed).then(|| next.to_owned()),
            }
        })
        .collect();
    let score = items.iter().filter(|c| c.passed).count();
    let v = verdict(score);
    Ok(Diagnosis {
        score,
        verdict: v.to_owned(),
        verdict_text: w.verdict(v).to_owned(),
        items,
    })
}

type CheckFn = fn(&Facts<'_>, &Words) -> (bool, String);

const CHECKS: [CheckFn; 15] = [
    attributes,
    web_behaviour,
    opens_and_clicks,
    stages,
    segments,
    content_per_segment,
    content_fresh,
    ab_test,
    open_ctr_targets,
    mql_opportunity_targets,
    kpis_monitored,
    sales_alerts,
    crm_sync,
    unsubscribe_monitored,
    scoring_rules,
];

fn attributes(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let full = f
        .leads
        .iter()
        .filter(|l| has(&l.profile.company) && has(&l.profile.industry) && has(&l.profile.title))
        .count();
    let s = share(full, f.leads.len());
    (
        !f.leads.is_empty() && s >= ATTRIBUTES_SHARE,
        w.attributes(full, f.leads.len(), &pct(s)),
    )
}

fn web_behaviour(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let c = &f.kpis.totals.conversion;
    let s = share(c.new_leads_tracked as usize, c.new_leads as usize);
    (
        c.new_leads > 0 && s >= TRACKED_SHARE,
        w.web(c.new_leads_tracked, c.new_leads, c.campaign_visits),
    )
}

fn opens_and_clicks(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let r = &f.kpis.totals.reaction;
    let sent = f.kpis.totals.delivery.sent;
    (
        sent > 0 && r.open_hits + r.click_hits > 0,
        w.opens(
            sent,
            r.opened,
            r.clicked,
            r.machine_opens + r.scanner_clicks,
        ),
    )
}

fn stages(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let defined = f.k.config.stages.len();
    let staged = f
        .leads
        .iter()
        .filter(|l| l.stage_changes.last().is_some_and(|s| s.to.is_some()))
        .count();
    (
        defined >= 2 && staged > 0,
        w.stages(defined, &f.at("stages"), staged, f.leads.len()),
    )
}

fn segments(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let n = f.k.config.segments.len();
    (n > 0, w.segments(n, &f.at("segments")))
}

fn content_per_segment(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let mailed: Vec<String> = f
        .kpis
        .breakdowns
        .get("segment")
        .map_or_else(Vec::new, |rows| {
            rows.iter()
                .filter(|r| r.figures.delivery.sent > 0)
                .map(|r| r.value.clone())
                .collect()
        });
    let planned = |id: &str| {
        f.broadcasts
            .iter()
            .any(|b| matches!(&b.audience, Audience::Segment { segment } if segment.as_str() == id))
    };
    let enrolled = |id: &str| {
        f.k.config.triggers.iter().any(|t| {
            t.enroll.is_some()
                && matches!(&t.condition, Condition::EnteredSegment(s) if s.as_str() == id)
        })
    };
    let segments = &f.k.config.segments;
    let served: Vec<&str> = segments
        .iter()
        .map(|s| s.id.as_str())
        .filter(|id| mailed.iter().any(|m| m == id) || planned(id) || enrolled(id))
        .collect();
    let missing: Vec<&str> = segments
        .iter()
        .map(|s| s.id.as_str())
        .filter(|id| !served.contains(id))
        .collect();
    (
        !segments.is_empty() && missing.is_empty(),
        w.content(served.len(), segments.len(), &missing),
    )
}

fn content_fresh(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let newest = f.broadcasts.iter().map(|b| b.created_at).max();
    let zone = f.k.config.program.default_zone;
    (
        newest.is_some(),
        w.fresh(
            f.broadcasts.len(),
            newest.map(|t| t.with_timezone(&zone).date_naive().to_string()),
        ),
    )
}

fn ab_test(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let steps: Vec<String> =
        f.k.config
            .sequences
            .iter()
            .flat_map(|s| {
                s.steps
                    .iter()
                    .enumerate()
                    .filter(|(_, st)| st.ab.is_some())
                    .map(move |(i, _)| format!("{}/{}", s.id, i + 1))
            })
            .collect();
    let broadcasts = f.broadcasts.iter().filter(|b| b.ab.is_some()).count();
    (
        !steps.is_empty() || broadcasts > 0,
        w.ab(&steps, &f.at("ab"), broadcasts),
    )
}

fn target_lines(f: &Facts<'_>, keys: &[&str]) -> (bool, String) {
    let t = &f.k.config.kpis;
    let get = |key: &str| match key {
        "open_rate" => t.open_rate,
        "ctr" => t.ctr,
        "mqls_per_month" => t.mqls_per_month,
        "opportunity_rate" => t.opportunity_rate,
        _ => t.max_unsubscribe_rate,
    };
    let all = keys.iter().all(|k| get(k).is_some());
    let text = keys
        .iter()
        .map(|k| match get(k) {
            Some(target) => format!(
                "kpis.{k} = {} (kindling.toml:{})",
                target.value, target.line
            ),
            None => format!("kpis.{k} -"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    (all, text)
}

fn open_ctr_targets(f: &Facts<'_>, _: &Words) -> (bool, String) {
    target_lines(f, &["open_rate", "ctr"])
}

fn mql_opportunity_targets(f: &Facts<'_>, _: &Words) -> (bool, String) {
    target_lines(f, &["mqls_per_month", "opportunity_rate"])
}

fn kpis_monitored(f: &Facts<'_>, w: &Words) -> (bool, String) {
    match &f.k.config.digest {
        Some(d) => (true, w.digest(Some((d.to.len(), &f.at("digest"))))),
        None => (false, w.digest(None)),
    }
}

fn sales_alerts(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let c = &f.kpis.totals.conversion;
    (
        c.hot_alerted >= c.hot_leads,
        w.alerts(
            c.hot_leads,
            c.hot_alerted,
            f.k.config.alerts.follow_up.num_hours(),
        ),
    )
}

fn crm_sync(f: &Facts<'_>, w: &Words) -> (bool, String) {
    if f.k.config.crm.is_none() {
        return (false, w.crm_off());
    }
    let Some(s) = &f.sync else {
        return (false, w.crm_unseen(&f.at("crm")));
    };
    let when = s.last_success_at.map(|t| {
        t.with_timezone(&f.k.config.program.default_zone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    });
    // AWS counts no successes: a clean dead-letter queue is the evidence there.
    let passed = s.dead == 0 && (s.delivered.is_none() || s.last_success_at.is_some());
    (
        passed,
        w.crm(
            &f.at("crm"),
            &s.target,
            s.delivered,
            when.as_deref(),
            s.dead,
        ),
    )
}

fn unsubscribe_monitored(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let (set, text) = target_lines(f, &["max_unsubscribe_rate"]);
    let actual = f.kpis.totals.reaction.unsubscribe_rate.map(pct);
    (set, w.unsubscribe(&text, actual.as_deref()))
}

fn scoring_rules(f: &Facts<'_>, w: &Words) -> (bool, String) {
    let s = &f.k.config.scoring;
    (
        !s.rules.is_empty(),
        w.scoring(
            s.rules.len(),
            s.fit_rules.len(),
            s.thresholds.hot,
            &f.at("scoring.rules"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_follows_the_score_and_the_words_the_language() {
        let v: Vec<&str> = [15, 12, 11, 8, 7, 0].into_iter().map(verdict).collect();
        assert_eq!(v, ["ready", "ready", "gaps", "gaps", "rebuild", "rebuild"]);
        let (ja, en) = (words("ja"), words("en"));
        assert_eq!(
            ja.item(11).0,
            en.item(11).0,
            "keys do not depend on the language"
        );
        assert_eq!(en.item(1).1, "Attributes are captured");
        assert_eq!(ja.item(15).1, "スコアリングルールがある");
        assert_eq!(
            en.verdict("gaps"),
            "Some gaps: fix the unchecked items first"
        );
        assert_eq!(
            ja.verdict("rebuild"),
            "基盤から見直し: データの取得から始める"
        );
        assert_eq!(CHECKS.len(), 15);
    }
}
