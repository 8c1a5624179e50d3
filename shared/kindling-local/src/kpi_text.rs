//! `kindling kpis` as text: the tree, one line per period, then breakdowns, stages, influence,
//! health and targets. (`--json` prints the answer itself.)

use kindling::kpis::figures::Figures;
use kindling::kpis::KpiReport;
use std::fmt::Write as _;

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn amounts(a: &std::collections::BTreeMap<String, String>) -> String {
    a.iter()
        .map(|(c, v)| format!("{c} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(label: &str, f: &Figures) -> String {
    format!(
        "{label:<24} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5} {:>5}\n",
        f.delivery.sent,
        pct(f.reaction.open_rate),
        pct(f.reaction.ctr),
        pct(f.reaction.unsubscribe_rate),
        f.delivery.bounced_hard + f.delivery.bounced_soft,
        f.conversion.new_leads,
        f.conversion.mqls,
        f.fin.won
    )
}

fn header(first: &str) -> String {
    format!(
        "{first:<24} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5} {:>5}\n",
        "sent", "open", "ctr", "unsub", "bounce", "leads", "mql", "won"
    )
}

/// The report as text: the tree, then per period, each breakdown, the stage funnel,
/// influence, health and the targets.
pub fn text(r: &KpiReport) -> String {
    let mut s = tree(r);
    s.push('\n');
    s.push_str(&details(r));
    s.push_str(&targets(r));
    s
}

/// The four levels of the KPI tree over the whole range.
pub fn tree(r: &KpiReport) -> String {
    let t = &r.totals;
    let mut s = String::new();
    let period = match r.period {
        kindling::kpis::period::Period::Week => "week",
        kindling::kpis::period::Period::Month => "month",
    };
    let _ = writeln!(
        s,
        "KPIs {} to {} by {period} ({})",
        r.since, r.until, r.zone
    );
    let _ = writeln!(
        s,
        "Delivery    sent {}, delivered {} ({}), bounced {} hard and {} soft",
        t.delivery.sent,
        t.delivery.delivered,
        pct(t.delivery.delivery_rate),
        t.delivery.bounced_hard,
        t.delivery.bounced_soft
    );
    let _ = writeln!(
        s,
        "Reaction    opened {} ({}), clicked {} ({}; {} of opens), unsubscribed {} ({}), topics left {}, complaints {} ({})",
        t.reaction.opened,
        pct(t.reaction.open_rate),
        t.reaction.clicked,
        pct(t.reaction.ctr),
        pct(t.reaction.click_to_open),
        t.reaction.unsubscribed,
        pct(t.reaction.unsubscribe_rate),
        t.reaction.topic_opt_outs,
        t.reaction.complained,
        pct(t.reaction.complaint_rate)
    );
    let _ = writeln!(
        s,
        "            raw: {} open hits ({} by machines), {} link hits ({} by scanners)",
        t.reaction.open_hits,
        t.reaction.machine_opens,
        t.reaction.click_hits,
        t.reaction.scanner_clicks
    );
    let _ = writeln!(
        s,
        "Conversion  new leads {}, hot {}, MQLs {}, sales accepted {}, opportunities {} ({} of MQLs)",
        t.conversion.new_leads,
        t.conversion.hot_leads,
        t.conversion.mqls,
        t.conversion.sales_accepted,
        t.conversion.opportunities,
        pct(t.conversion.opportunity_rate)
    );
    let _ = writeln!(
        s,
        "Final       won {} ({} of opportunities){}",
        t.fin.won,
        pct(t.fin.win_rate),
        if t.fin.won_amount.is_empty() {
            String::new()
        } else {
            format!(", {}", amounts(&t.fin.won_amount))
        }
    );
    let f = &t.follow_up;
    let num =
        |v: Option<f64>, unit: &str| v.map_or_else(|| "-".to_owned(), |v| format!("{v}{unit}"));
    let _ = writeln!(
        s,
        "Follow-up   alerts {} (mean {} after the hand-off), first marks {} (mean {} after the alert, {} in time), reminders {}, escalations {}",
        f.alerts,
        num(f.alert_delay_s, " s"),
        f.first_touches,
        num(f.touch_delay_h, " h"),
        pct(f.in_time_rate),
        f.reminders,
        f.escalations
    );
    s
}

fn details(r: &KpiReport) -> String {
    let mut s = String::new();
    let period = match r.period {
        kindling::kpis::period::Period::Week => "week",
        kindling::kpis::period::Period::Month => "month",
    };
    s.push_str(&header(period));
    for p in &r.periods {
        s.push_str(&row(&p.start.to_string(), &p.figures));
    }
    for (dim, rows) in &r.breakdowns {
        s.push('\n');
        // Where leads came from has no mails: its own columns.
        let source = dim == "form" || dim == "campaign";
        if source {
            let _ = writeln!(
                s,
                "{:<24} {:>11} {:>7} {:>7}",
                format!("by {dim}"),
                "submissions",
                "visits",
                "leads"
            );
        } else {
            s.push_str(&header(&format!("by {dim}")));
        }
        for b in rows {
            if source {
                let c = &b.figures.conversion;
                let _ = writeln!(
                    s,
                    "{:<24} {:>11} {:>7} {:>7}",
                    b.value, c.form_submissions, c.campaign_visits, c.new_leads
                );
            } else {
                s.push_str(&row(&b.value, &b.figures));
            }
        }
    }
    if r.stages.iter().any(|st| st.entered > 0 || st.left > 0) {
        let _ = writeln!(s, "\nStages (entered, to the next, median days in it)");
        for st in &r.stages {
            let _ = writeln!(
                s,
                "  {:<16} {:>6} {:>7} {:>5}",
                st.label.as_deref().unwrap_or(&st.stage),
                st.entered,
                pct(st.to_next),
                st.median_days.map_or("-".to_owned(), |d| d.to_string())
            );
        }
    }
    if !r.influence.is_empty() {
        let _ = writeln!(
            s,
            "\nInfluence (opened or clicked within {} days before converting; any touch / last touch)",
            r.influence_window_days
        );
        for i in &r.influence {
            let _ = writeln!(
                s,
                "  {:<32} MQL {}/{}, opportunities {}/{}, won {}/{}{}",
                i.nurture,
                i.any.mql,
                i.last.mql,
                i.any.opportunity,
                i.last.opportunity,
                i.any.won,
                i.last.won,
                if i.any.won_amount.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({} / {})",
                        amounts(&i.any.won_amount),
                        amounts(&i.last.won_amount)
                    )
                }
            );
        }
    }
    let shrinking: Vec<String> = r
        .list_health
        .iter()
        .filter(|w| w.shrinking)
        .map(|w| format!("{} ({:+})", w.start, w.net))
        .collect();
    if !shrinking.is_empty() {
        let _ = writeln!(s, "\nList shrank in: {}", shrinking.join(", "));
    }
    for f in &r.fatigue {
        let _ = writeln!(
            s,
            "Fatigue: {} {} fell from {} to {} (p = {:.4}, {} and {} delivered)",
            f.what,
            f.rate,
            pct(Some(f.before)),
            pct(Some(f.after)),
            f.p_value,
            f.before_delivered,
            f.after_delivered
        );
    }
    s
}

/// The diagnosis as text: each item, passed or not, with its evidence and next step, then the
/// score and the verdict.
pub fn diagnosis(d: &kindling::admin::diagnose::Diagnosis) -> String {
    let mut s = String::new();
    for c in &d.items {
        let mark = if c.passed { "✔" } else { "✘" };
        let _ = writeln!(
            s,
            "{mark} {:>2}. {}
       {}",
            c.n, c.title, c.evidence
        );
        if let Some(next) = &c.next {
            let _ = writeln!(s, "       → {next}");
        }
    }
    let _ = writeln!(
        s,
        "
{}/{}: {}",
        d.score,
        d.items.len(),
        d.verdict_text
    );
    s
}

/// Each target of `[kpis]` against its figure.
pub fn targets(r: &KpiReport) -> String {
    let mut s = String::new();
    if !r.targets.is_empty() {
        let _ = writeln!(s, "\nTargets ([kpis])");
        for t in &r.targets {
            let (target, actual) = if t.kpi == "mqls_per_month" {
                (
                    t.target.to_string(),
                    t.actual.map_or("-".into(), |a| a.to_string()),
                )
            } else {
                (pct(Some(t.target)), pct(t.actual))
            };
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "missed",
                None => "no data",
            };
            let _ = writeln!(
                s,
                "  {:<22} target {target:>7}, actual {actual:>7}: {verdict}",
                t.kpi
            );
        }
    }
    s
}
