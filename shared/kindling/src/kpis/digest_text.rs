//! The digest's words, in the program's language (Japanese, else English): the subject, a
//! plain-text part and an HTML part saying the same.

use super::figures::Figures;
use super::{KpiReport, Sections};
use crate::leads::Lead;
use crate::web::escape_html;
use chrono::NaiveDate;

/// Hot leads listed by name (the count says how many in all).
pub const MAX_HOT_LISTED: usize = 20;

/// Everything the digest says.
pub struct Digest {
    pub day: NaiveDate,
    pub week: KpiReport,
    pub before: KpiReport,
    /// The last twelve weeks: list health, fatigue and targets.
    pub trend: KpiReport,
    pub breaker: crate::deliverability::SendingStatus,
    pub hot: Vec<Lead>,
    pub hot_count: usize,
    /// A link to the full report of the twelve weeks ([`super::archive`]), if one was kept.
    pub report: Option<String>,
}

/// A figure of a week: a count or a rate.
enum Value {
    Count(u64),
    Rate(Option<f64>),
}

type Row = (&'static str, &'static str, fn(&Figures) -> Value);

const ROWS: [Row; 10] = [
    ("配信数", "Sent", |f| Value::Count(f.delivery.sent)),
    ("到達率", "Delivery rate", |f| {
        Value::Rate(f.delivery.delivery_rate)
    }),
    ("開封率", "Open rate", |f| {
        Value::Rate(f.reaction.open_rate)
    }),
    ("クリック率", "CTR", |f| Value::Rate(f.reaction.ctr)),
    ("配信停止率", "Unsubscribe rate", |f| {
        Value::Rate(f.reaction.unsubscribe_rate)
    }),
    ("新規リード", "New leads", |f| {
        Value::Count(f.conversion.new_leads)
    }),
    ("ホットリード", "Hot leads", |f| {
        Value::Count(f.conversion.hot_leads)
    }),
    ("MQL", "MQLs", |f| Value::Count(f.conversion.mqls)),
    ("商談化", "Opportunities", |f| {
        Value::Count(f.conversion.opportunities)
    }),
    ("受注", "Won", |f| Value::Count(f.fin.won)),
];

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// `(before, now, change)` as text.
fn cells(v: (Value, Value)) -> (String, String, String) {
    match v {
        (Value::Count(a), Value::Count(b)) => (
            a.to_string(),
            b.to_string(),
            format!("{:+}", i128::from(b) - i128::from(a)),
        ),
        (Value::Rate(a), Value::Rate(b)) => (
            pct(a),
            pct(b),
            match (a, b) {
                (Some(a), Some(b)) => format!("{:+.1}pt", (b - a) * 100.0),
                _ => "-".to_owned(),
            },
        ),
        _ => ("-".into(), "-".into(), "-".into()),
    }
}

/// The flagged items: a shrinking list, fatigue, missed targets.
fn flags(d: &Digest, ja: bool) -> Vec<String> {
    let mut out = Vec::new();
    for w in d
        .trend
        .list_health
        .iter()
        .rev()
        .take(4)
        .filter(|w| w.shrinking)
    {
        out.push(if ja {
            format!(
                "リストが縮小: {}週 (新規 {}, 喪失 {})",
                w.start, w.new_leads, w.lost
            )
        } else {
            format!(
                "List shrank: week of {} ({} new, {} lost)",
                w.start, w.new_leads, w.lost
            )
        });
    }
    for f in &d.trend.fatigue {
        let (rate, what) = (f.rate.as_str(), f.what.as_str());
        out.push(if ja {
            format!(
                "疲労: {what} の {rate} が {} → {} (p = {:.4})",
                pct(Some(f.before)),
                pct(Some(f.after)),
                f.p_value
            )
        } else {
            format!(
                "Fatigue: {what} {rate} fell from {} to {} (p = {:.4})",
                pct(Some(f.before)),
                pct(Some(f.after)),
                f.p_value
            )
        });
    }
    for t in d.week.targets.iter().filter(|t| t.met == Some(false)) {
        let (target, actual) = if t.kpi == "mqls_per_month" {
            (
                t.target.to_string(),
                t.actual.map_or("-".into(), |a| a.to_string()),
            )
        } else {
            (pct(Some(t.target)), pct(t.actual))
        };
        out.push(if ja {
            format!(
                "目標未達: {} 目標 {target}, 実績 {actual} (kindling.toml:{})",
                t.kpi, t.line
            )
        } else {
            format!(
                "Target missed: {} target {target}, actual {actual} (kindling.toml:{})",
                t.kpi, t.line
            )
        });
    }
    out
}

/// Subject, text and HTML.
pub(crate) fn render(c: Sections<'_>, d: &Digest) -> (String, String, String) {
    let ja = c.program.default_language.starts_with("ja");
    let (since, until) = (d.week.since, d.week.until);
    let subject = if ja {
        format!("【{}】週次KPI {since}〜{until}", c.program.name)
    } else {
        format!("[{}] Weekly KPIs {since} to {until}", c.program.name)
    };
    let rows: Vec<(&str, (String, String, String))> = ROWS
        .iter()
        .map(|(j, e, f)| {
            (
                if ja { *j } else { *e },
                cells((f(&d.before.totals), f(&d.week.totals))),
            )
        })
        .collect();
    let won: Vec<String> = d
        .week
        .totals
        .fin
        .won_amount
        .iter()
        .map(|(cur, v)| format!("{cur} {v}"))
        .collect();
    let flags = flags(d, ja);
    let paused = d.breaker.paused.is_some();
    let breaker = match (&d.breaker.paused, ja) {
        (Some(t), true) => format!(
            "停止中 ({} から: {})",
            t.at.format("%Y-%m-%d %H:%M UTC"),
            t.reason
        ),
        (Some(t), false) => format!(
            "PAUSED since {}: {}",
            t.at.format("%Y-%m-%d %H:%M UTC"),
            t.reason
        ),
        (None, true) => "配信中".to_owned(),
        (None, false) => "sending".to_owned(),
    };
    let hot: Vec<String> = d
        .hot
        .iter()
        .map(|l| {
            let name = l.profile.name.as_deref().unwrap_or("-");
            let company = l.profile.company.as_deref().unwrap_or("-");
            format!(
                "{name} <{}> {company} ({} {})",
                l.email,
                if ja { "スコア" } else { "score" },
                l.score.total
            )
        })
        .collect();
    let more = d.hot_count.saturating_sub(d.hot.len().min(MAX_HOT_LISTED));
    let (h_before, h_week, h_change, h_flags, h_none, h_breaker, h_hot, h_more) = if ja {
        (
            "前の7日",
            "この7日",
            "増減",
            "要注意",
            "なし",
            "配信状態",
            "ホットになったリード",
            "ほか",
        )
    } else {
        (
            "7 days before",
            "These 7 days",
            "Change",
            "Flagged",
            "none",
            "Sending",
            "Leads that turned hot",
            "and",
        )
    };

    let mut text = format!("{subject} ({})\n\n", c.zone.name());
    text.push_str(&format!(
        "{:<16} {:>14} {:>14} {:>10}\n",
        "", h_before, h_week, h_change
    ));
    for (label, (a, b, ch)) in &rows {
        text.push_str(&format!("{label:<16} {a:>14} {b:>14} {ch:>10}\n"));
    }
    if !won.is_empty() {
        text.push_str(&format!(
            "{}: {}\n",
            if ja { "受注額" } else { "Won amount" },
            won.join(", ")
        ));
    }
    text.push_str(&format!("\n{h_flags}:\n"));
    if flags.is_empty() {
        text.push_str(&format!("- {h_none}\n"));
    }
    for f in &flags {
        text.push_str(&format!("- {f}\n"));
    }
    text.push_str(&format!(
        "\n{h_breaker}: {breaker}\n\n{h_hot} ({}):\n",
        d.hot_count
    ));
    for h in &hot {
        text.push_str(&format!("- {h}\n"));
    }
    if more > 0 {
        text.push_str(&format!("- {h_more} {more}\n"));
    }
    let h_report = if ja {
        "レポート(グラフ付き、リンクは7日間有効)"
    } else {
        "The full report (charts; the link works for 7 days)"
    };
    if let Some(link) = &d.report {
        text.push_str(&format!("\n{h_report}:\n{link}\n"));
    }
    text.push_str(&format!(
        "\nkindling kpis --since {since} --until {until}\n"
    ));

    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><h1>{}</h1><table><tr><th></th><th>{h_before}</th><th>{h_week}</th><th>{h_change}</th></tr>",
        escape_html(&subject)
    );
    for (label, (a, b, ch)) in &rows {
        html.push_str(&format!(
            "<tr><td>{label}</td><td>{a}</td><td>{b}</td><td>{ch}</td></tr>"
        ));
    }
    html.push_str("</table>");
    if !won.is_empty() {
        html.push_str(&format!("<p>{}</p>", escape_html(&won.join(", "))));
    }
    html.push_str(&format!("<h2>{h_flags}</h2><ul>"));
    if flags.is_empty() {
        html.push_str(&format!("<li>{h_none}</li>"));
    }
    for f in &flags {
        html.push_str(&format!("<li>{}</li>", escape_html(f)));
    }
    let style = if paused { " style=\"color:#b00\"" } else { "" };
    html.push_str(&format!(
        "</ul><h2>{h_breaker}</h2><p{style}>{}</p><h2>{h_hot} ({})</h2><ul>",
        escape_html(&breaker),
        d.hot_count
    ));
    for h in &hot {
        html.push_str(&format!("<li>{}</li>", escape_html(h)));
    }
    if more > 0 {
        html.push_str(&format!("<li>{h_more} {more}</li>"));
    }
    html.push_str("</ul>");
    if let Some(link) = &d.report {
        html.push_str(&format!(
            "<p><a href=\"{}\">{h_report}</a></p>",
            escape_html(link)
        ));
    }
    html.push_str("</body></html>");
    (subject, text, html)
}
