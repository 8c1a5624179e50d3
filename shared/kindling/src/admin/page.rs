//! The KPI report (`kindling report`, `GET /admin/report`, the weekly copy the digest links): one
//! self-contained HTML page of the KPIs and the diagnosis that opens with no network. The charts
//! are drawn by Chart.js ([`CHARTJS`], vendored by `scripts/vendor-chartjs`, MIT), embedded with
//! the data they draw (`<script id="kpis">`, the answer of `kindling kpis --json`), and the
//! tables are written here, in the program's language (Japanese, else English).

use super::diagnose::Diagnosis;
use crate::app::Kindling;
use crate::error::{Error, PortError};
use crate::kpis::archive::ReportArchive;
use crate::kpis::{KpiQuery, KpiReport};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Chart.js, as vendored (its MIT banner first).
pub const CHARTJS: &str = include_str!("../../assets/chart.umd.min.js");
/// The page.
const TEMPLATE: &str = include_str!("../../assets/report.html");

/// The breakdowns the report shows: per step, per broadcast, per A/B variant, per owner (the
/// follow-up of the hand-offs to sales).
pub const BREAKDOWNS: [&str; 4] = ["step", "broadcast", "variant", "owner"];

/// The KPI query of a report over `since..until` per `period`.
pub fn query(since: Option<String>, until: Option<String>, period: Option<String>) -> KpiQuery {
    KpiQuery {
        since,
        until,
        period,
        by: BREAKDOWNS.iter().map(|s| s.to_string()).collect(),
    }
}

/// The report of `query` (its breakdowns are the report's): the KPIs and the diagnosis, read
/// through the in-process admin backend, as a page.
pub async fn build(k: &Kindling, query: &KpiQuery) -> Result<String, Error> {
    use super::interface::Admin;
    let admin = super::InProcess::new(k);
    let q = self::query(
        query.since.clone(),
        query.until.clone(),
        query.period.clone(),
    );
    let kpis = admin.kpis(&q).await?;
    let diagnosis = admin.diagnose().await?;
    html(&k.config.program, &kpis, &diagnosis)
}

/// The digest's report kept in an archive ([`crate::app::WeeklyReport`]).
pub struct Weekly(pub Arc<dyn ReportArchive>);

#[async_trait::async_trait]
impl crate::app::WeeklyReport for Weekly {
    /// Writes the report of the digest of `day` (the twelve weeks up to the day before) and
    /// gives its link. A failure is logged: the digest goes without the link.
    async fn keep(&self, k: &Kindling, day: NaiveDate) -> Option<String> {
        let query = KpiQuery {
            until: Some((day - chrono::Days::new(1)).to_string()),
            ..KpiQuery::default()
        };
        let kept = async {
            let page = build(k, &query).await?;
            let name = crate::kpis::archive::name_of(day);
            let link = self.0.keep(&name, &page).await?;
            Ok::<_, Error>((page.len(), link))
        }
        .await;
        match kept {
            Ok((bytes, link)) => {
                tracing::info!(day = %day, bytes, linked = link.is_some(), "weekly report kept");
                link
            }
            Err(e) => {
                tracing::error!(day = %day, error = %e, "the weekly report could not be kept; the digest goes without its link");
                None
            }
        }
    }
}

/// (key, Japanese, English).
const LABELS: &[(&str, &str, &str)] = &[
    ("title", "KPIレポート", "KPI report"),
    ("week", "週次", "by week"),
    ("month", "月次", "by month"),
    ("tree", "KPIツリー", "The KPI tree"),
    ("delivery", "配信", "Delivery"),
    ("reaction", "反応", "Reaction"),
    ("conversion", "転換", "Conversion"),
    ("final", "最終成果", "Final"),
    ("sent", "配信数", "Sent"),
    ("delivered", "到達", "Delivered"),
    ("bounces", "バウンス(ハード/ソフト)", "Bounces (hard/soft)"),
    ("opened", "開封", "Opened"),
    ("clicked", "クリック", "Clicked"),
    ("open_rate", "開封率", "Open rate"),
    ("click_to_open", "開封後クリック率", "Click-to-open"),
    ("unsub_rate", "配信停止率", "Unsubscribe rate"),
    ("machine", "機械の開封/全開封", "Machine/all opens"),
    ("new_leads", "新規リード", "New leads"),
    ("opportunities", "商談化", "Opportunities"),
    ("won", "受注", "Won"),
    ("won_amount", "受注額", "Won amount"),
    ("funnel", "ファネル", "Funnel"),
    ("stages", "ステージファネル", "Stage funnel"),
    ("entered", "流入", "Entered"),
    ("to_next", "次へ", "To the next"),
    ("median_days", "滞在日数(中央値)", "Median days"),
    (
        "trends",
        "推移(開封率・CTR・配信停止率)",
        "Trends (open rate, CTR, unsubscribe rate)",
    ),
    ("per_step", "ステップ別", "Per step"),
    ("per_broadcast", "配信別", "Per broadcast"),
    ("ab", "A/Bテスト", "A/B tests"),
    (
        "influence",
        "ナーチャリングの影響(任意接触 / 最終接触)",
        "What each nurture influenced (any touch / last touch)",
    ),
    (
        "influence_note",
        "転換前に人が開封・クリックしたメール",
        "mails a person opened or clicked before converting, within",
    ),
    ("days", "日", "days"),
    ("health", "リストの健全性", "List health"),
    ("lost", "喪失", "Lost"),
    ("net", "純増", "Net"),
    ("fatigue", "疲労", "Fatigue"),
    ("targets", "目標", "Targets"),
    ("target", "目標", "Target"),
    ("actual", "実績", "Actual"),
    ("met", "達成", "met"),
    ("missed", "未達", "missed"),
    ("diagnosis", "診断", "Diagnosis"),
    (
        "follow_up",
        "営業フォロー(48時間ルール)",
        "Sales follow-up (the follow-up rule)",
    ),
    ("owner", "担当", "Owner"),
    ("handoff_alerts", "引き渡し通知", "Hand-off alerts"),
    ("alert_delay", "通知までの平均", "mean delay to the alert"),
    ("first_touches", "初回対応", "First marks"),
    ("touch_delay", "対応までの平均", "mean delay to the mark"),
    ("in_time", "期限内", "in time"),
    ("reminders", "リマインド", "Reminders"),
    ("escalations", "エスカレーション", "Escalations"),
    ("none", "なし", "none"),
];

fn labels(ja: bool) -> BTreeMap<&'static str, &'static str> {
    LABELS
        .iter()
        .map(|(k, j, e)| (*k, if ja { *j } else { *e }))
        .collect()
}

fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    Error::Port(PortError::caused_by("report", "rendering the page", e))
}

/// JSON safe inside a `<script>` element.
fn script_json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    Ok(serde_json::to_string(v)
        .map_err(failed)?
        .replace("</", "<\\/"))
}

/// The report's HTML.
pub fn html(
    program: &crate::program::Program,
    k: &KpiReport,
    d: &Diagnosis,
) -> Result<String, Error> {
    let ja = program.default_language.starts_with("ja");
    let mut env = minijinja::Environment::new();
    env.add_filter("pct", |r: Option<f64>| {
        r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
    });
    env.add_template("report.html", TEMPLATE).map_err(failed)?;
    let t = labels(ja);
    let (data, label_json) = (script_json(k)?, script_json(&t)?);
    env.get_template("report.html")
        .and_then(|page| {
            page.render(minijinja::context! {
            lang => if ja { "ja" } else { "en" },
            program => program.name,
            t => t,
            k => k,
            d => d,
            data => data,
            labels => label_json,
            chartjs => CHARTJS,
            })
        })
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn chartjs_is_the_pinned_version_with_its_license() {
        let pinned = include_str!("../../../../scripts/vendor-chartjs")
            .lines()
            .find_map(|l| l.strip_prefix("VERSION="))
            .unwrap()
            .to_owned();
        assert!(super::CHARTJS.starts_with("/*!\n * Chart.js v"));
        assert!(super::CHARTJS[..200].contains(&format!("Chart.js v{pinned}")));
        assert!(super::CHARTJS[..200].contains("Released under the MIT License"));
    }
}
