//! `kindling lead show` and `kindling rescore`: what operators ask of the local store, as text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use kindling::activities::Activity;
use kindling::admin::LeadReport;
use kindling::scoring::RescoreChange;
use std::fmt::Write as _;

fn local(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn describe(a: &Activity) -> String {
    let x = &a.attrs;
    let mut parts: Vec<String> = Vec::new();
    if let Some(c) = &x.page_category {
        parts.push(format!("[{c}]"));
    }
    if let Some(u) = &x.url {
        parts.push(u.clone());
    }
    if let Some(f) = &x.form_id {
        parts.push(format!("form {f}"));
    }
    if let (Some(s), Some(step)) = (&x.sequence_id, x.step) {
        parts.push(format!("{s} step {step}"));
    }
    if let Some(l) = x.link {
        parts.push(if l == kindling::message::HIDDEN_LINK {
            "hidden link".to_owned()
        } else {
            format!("link {l}")
        });
    }
    if let Some(d) = x.dwell_ms {
        parts.push(format!("{:.1} s visible", d as f64 / 1000.0));
    }
    if let Some(s) = &x.utm_source {
        parts.push(format!("utm_source={s}"));
    }
    if let Some(v) = &x.visitor_id {
        parts.push(format!("browser {v}"));
    }
    parts.join("  ")
}

/// The lead report as text: profile and consent, the score with its breakdown, the timeline.
pub fn lead_text(r: &LeadReport, default_zone: Tz) -> String {
    let l = &r.lead;
    let zone: Tz = l
        .profile
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(default_zone);
    let p = &l.profile;
    let mut out = String::new();
    let _ = writeln!(out, "{}  ({})", l.email, l.id);
    for (label, value) in [
        ("name", &p.name),
        ("company", &p.company),
        ("title", &p.title),
        ("industry", &p.industry),
        ("company size", &p.company_size),
        ("time zone", &p.time_zone),
        ("language", &p.language),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "  {label:<13} {v}");
        }
    }
    match &l.consent {
        Some(c) => {
            let _ = writeln!(
                out,
                "  consent       {} via form {} (text {})",
                local(c.at, zone),
                c.form_id,
                c.text_version
            );
        }
        None => {
            let _ = writeln!(out, "  consent       none");
        }
    }
    if let Some(u) = l.unsubscribed_at {
        let _ = writeln!(out, "  unsubscribed  {}", local(u, zone));
    }
    if let Some(s) = &r.suppression {
        let _ = writeln!(
            out,
            "  suppressed    {} ({})",
            local(s.at, zone),
            s.reason.as_str()
        );
    }
    let _ = writeln!(
        out,
        "\nscore {} {} (as of {})",
        r.score.total,
        r.score.temperature,
        local(r.computed_at, zone)
    );
    let _ = writeln!(
        out,
        "  fit {:+}, engagement {:+}",
        r.score.fit, r.score.engagement
    );
    for f in &r.score.fit_breakdown {
        let _ = writeln!(out, "  fit: {:<23} {:<8} {:+}", f.rule, f.value, f.points);
    }
    for b in &r.score.breakdown {
        let decayed = if b.points == b.undecayed {
            String::new()
        } else {
            format!("  (decayed from {:+})", b.undecayed)
        };
        let _ = writeln!(
            out,
            "  {:<28} x{:<3} {:+}{decayed}",
            b.rule, b.count, b.points
        );
    }
    if !r.not_scored.is_empty() {
        let _ = writeln!(out, "  not scored: {} machine hit(s)", r.not_scored.len());
    }
    let sc = &r.lead.score;
    if let Some(at) = sc.mql_at {
        let _ = writeln!(out, "  MQL since {}", local(at, zone));
    }
    if sc.hot_crossings > 0 {
        let last = sc
            .hot_alerted_at
            .map_or_else(|| "-".to_owned(), |t| local(t, zone));
        let _ = writeln!(
            out,
            "  hot {} time(s); sales last alerted {last}",
            sc.hot_crossings
        );
    }
    if let Some(o) = &r.lead.owner {
        let team = o
            .team
            .as_deref()
            .map_or_else(String::new, |t| format!(", team {t}"));
        let _ = writeln!(
            out,
            "  owner {} (rule {}{team}) since {}",
            o.rep,
            o.rule,
            local(o.at, zone)
        );
    }
    if let Some(h) = &r.lead.handoff {
        let state = match (h.touched_at, h.escalated, h.reminded) {
            (Some(t), _, _) => format!("first marked {}", local(t, zone)),
            (None, true, _) => "escalated, not marked".to_owned(),
            (None, false, true) => "reminded, not marked".to_owned(),
            (None, false, false) => "open".to_owned(),
        };
        let _ = writeln!(
            out,
            "  handed to sales #{} ({}) {}, follow up by {}: {state}",
            h.n,
            h.reason,
            local(h.at, zone),
            local(h.due, zone)
        );
    }
    let b = &r.lead.bant;
    if !b.is_empty() {
        let part = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".to_owned());
        let _ = writeln!(
            out,
            "  BANT: budget {}, authority {}, need {}, timeline {}",
            part(&b.budget),
            part(&b.authority),
            part(&b.need),
            part(&b.timeline)
        );
    }
    if !r.lead.triggers.is_empty() {
        let _ = writeln!(
            out,
            "
triggers fired"
        );
        for (id, t) in &r.lead.triggers {
            let _ = writeln!(
                out,
                "  {id:<28} x{:<3} last {}",
                t.fired,
                local(t.last_at, zone)
            );
        }
    }
    if !r.lead.stage_changes.is_empty() {
        let _ = writeln!(
            out,
            "\nstage {}",
            r.lead.stage().map_or("none", |s| s.as_str())
        );
        for c in &r.lead.stage_changes {
            let _ = writeln!(
                out,
                "  {}  {} -> {}  ({} activit{})",
                local(c.at, zone),
                c.from.as_ref().map_or("none", |s| s.as_str()),
                c.to.as_ref().map_or("none", |s| s.as_str()),
                c.evidence.len(),
                if c.evidence.len() == 1 { "y" } else { "ies" }
            );
        }
    }
    if !r.segments.is_empty() {
        let _ = writeln!(out, "\nsegments");
        for seg in &r.segments {
            let label = seg
                .label
                .as_deref()
                .map(|l| format!("  {l}"))
                .unwrap_or_default();
            let until = seg
                .until
                .map(|t| format!("  until {}", local(t, zone)))
                .unwrap_or_default();
            let since = match (seg.since, seg.holds) {
                (Some(t), true) => format!("since {}", local(t, zone)),
                (Some(t), false) => format!(
                    "since {}, no longer holds: leaves at its next rescore",
                    local(t, zone)
                ),
                (None, _) => "holds, enters at its next rescore".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {:<28} {since}  {} activit{}{until}{label}",
                seg.id.as_str(),
                seg.evidence.len(),
                if seg.evidence.len() == 1 { "y" } else { "ies" }
            );
        }
    }
    if let Some(at) = r.lead.recheck_at {
        let _ = writeln!(out, "next look without new activity: {}", local(at, zone));
    }
    if !r.visitors.is_empty() {
        let ids: Vec<&str> = r.visitors.iter().map(|v| v.as_str()).collect();
        let _ = writeln!(out, "browsers: {}", ids.join(", "));
    }
    let _ = writeln!(out, "\nenrollments");
    for e in &r.enrollments {
        let name = match e.entry {
            1 => e.sequence_id.to_string(),
            n => format!("{} (entry {n})", e.sequence_id),
        };
        let _ = writeln!(
            out,
            "  {:<24} {:?}  next step {}{}",
            name,
            e.status,
            e.next_step,
            e.next_due_at
                .map(|t| format!(" at {}", local(t, zone)))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "\ntimeline (newest first; {} of {})",
        r.activities.len(),
        r.activity_count
    );
    for a in &r.activities {
        let flag = match r.not_scored.get(&a.id) {
            Some(why) => format!("  (not scored: {why})"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}  {:<20} {}{flag}",
            local(a.at, zone),
            a.kind.as_str(),
            describe(a)
        );
    }
    out
}

/// The rescore preview or result as text.
pub fn rescore_text(changes: &[RescoreChange], applied: bool) -> String {
    let mut out = String::new();
    let moving: Vec<&RescoreChange> = changes.iter().filter(|c| c.changes_temperature()).collect();
    let _ = writeln!(
        out,
        "{} lead(s) would change score, {} of them temperature{}",
        changes.len(),
        moving.len(),
        if applied {
            " (applied)"
        } else {
            " (dry run: nothing written)"
        }
    );
    for c in changes {
        let _ = writeln!(
            out,
            "  {:<32} {:>4} {:<4} -> {:>4} {:<4}{}",
            c.email,
            c.before.0,
            c.before.1.as_str(),
            c.after.0,
            c.after.1.as_str(),
            if c.changes_temperature() { "  *" } else { "" }
        );
    }
    out
}

/// `kindling ab`: one block per A/B test.
pub fn ab_text(report: &[kindling::sequences::AbReport]) -> String {
    use kindling::sending::ab::Verdict;
    let mut out = String::new();
    if report.is_empty() {
        out.push_str("no A/B tests configured\n");
    }
    for r in report {
        let _ = writeln!(
            out,
            "{} step {}: {:?} rate, {} sends per variant, {:.0} % confidence",
            r.sequence,
            r.step,
            r.metric,
            r.sample,
            r.confidence * 100.0
        );
        for v in &r.variants {
            let _ = writeln!(
                out,
                "  {:<28} sent {:>6}  opened {:>6}  clicked {:>6}  rate {:>5.1} %",
                v.template,
                v.sent,
                v.opened,
                v.clicked,
                v.rate(r.metric) * 100.0
            );
        }
        let status = match (&r.winner, &r.verdict) {
            (Some(w), _) => format!("winner: {w} (every new send gets it)"),
            (None, Verdict::NeedsSample { missing }) => {
                format!("testing: {missing} more sends before a winner can be chosen")
            }
            (None, Verdict::NotSignificant { best, p_value }) => {
                format!("testing: {best} leads, not significant yet (p = {p_value:.3})")
            }
            (None, Verdict::Winner { template, p_value }) => {
                format!("{template} has won (p = {p_value:.2e}); chosen at the next send")
            }
        };
        let _ = writeln!(out, "  {status}\n");
    }
    out
}
