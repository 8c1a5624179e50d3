//! `kindling broadcast show`: a broadcast's state, audience, schedule, approval, dry run,
//! progress, ETA and history, as text.

use kindling::broadcasts::lifecycle::hold_text;
use kindling::broadcasts::status::Status;
use kindling::names::Named;
use std::fmt::Write as _;

/// A broadcast for people.
pub fn show_text(s: &Status, zone: chrono_tz::Tz) -> String {
    let b = &s.broadcast;
    let at = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
    let mut o = String::new();
    let _ = writeln!(o, "{}  {}", b.id, b.name);
    let _ = writeln!(o, "state      {}", b.state.name());
    if let Some(h) = &b.hold {
        let _ = writeln!(o, "held       {}", hold_text(h));
    }
    let _ = writeln!(o, "audience   {}", b.audience);
    if let Some(t) = &b.topic {
        let _ = writeln!(o, "topic      {t}");
    }
    let _ = writeln!(
        o,
        "schedule   {}{}",
        b.schedule.at.format("%Y-%m-%d %H:%M"),
        if b.schedule.local {
            " in each lead's own zone"
        } else {
            " in the program's zone"
        }
    );
    let _ = writeln!(
        o,
        "content    {} ({})",
        b.content.source,
        b.content
            .parts
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    ab_text(&mut o, s, &at);
    match &b.approval {
        Some(a) if s.approved => {
            let _ = writeln!(o, "approved   by {} at {}", a.by, at(a.at));
        }
        Some(a) => {
            let _ = writeln!(o, "approval   by {} is void: edited since", a.by);
        }
        None => {
            let _ = writeln!(o, "approval   none");
        }
    }
    if let Some(d) = &b.dry_run {
        let current = if d.hash == s.hash {
            ""
        } else {
            " (of an earlier version)"
        };
        let _ = writeln!(
            o,
            "dry run    {}{current}: audience {}, would send {}, failures {}",
            at(d.at),
            d.audience,
            d.recipients,
            d.failures
        );
        for (why, n) in &d.excluded {
            let _ = writeln!(o, "           excluded {why}: {n}");
        }
        for (why, n) in &d.deferred {
            let _ = writeln!(o, "           deferred {why}: {n}");
        }
        if !d.cells.is_empty() {
            let cells: Vec<String> = d.cells.iter().map(|(c, n)| format!("{c} {n}")).collect();
            let _ = writeln!(o, "           cells: {}", cells.join(", "));
        }
        for (lead, e) in &d.failed {
            let _ = writeln!(o, "           failed {lead}: {e}");
        }
    }
    let p = &s.progress;
    if p.total() > 0 {
        let _ = writeln!(
            o,
            "progress   queued {}, sent {}, failed {}, unknown {}",
            p.queued, p.sent, p.failed, p.unknown
        );
        for (why, n) in &p.skipped {
            let _ = writeln!(o, "           skipped {why}: {n}");
        }
    }
    if let (Some(r), Some(eta)) = (s.rate_per_minute, s.eta) {
        let _ = writeln!(o, "rate       {r:.0}/min; done around {}", at(eta));
    }
    let _ = writeln!(o, "history");
    for c in &b.history {
        let _ = writeln!(o, "  {}  {:<10} {}", at(c.at), c.by, c.what);
    }
    o
}

/// The A/B test: its cells and variants, the counts so far, and the decision.
fn ab_text<T: std::fmt::Display>(
    o: &mut String,
    s: &Status,
    at: &dyn Fn(chrono::DateTime<chrono::Utc>) -> T,
) {
    use kindling::broadcasts::ab::LABELS;
    use kindling::sending::ab::Verdict;
    let b = &s.broadcast;
    let Some(plan) = &b.ab else { return };
    let _ = writeln!(
        o,
        "ab         {} cells of {} % ({}), judged by {}s {} h after the last cell is due (sample {}, confidence {})",
        plan.cells(),
        plan.cell_percent,
        LABELS[..plan.cells()].join(", "),
        plan.metric.name(),
        plan.wait_hours,
        plan.sample,
        plan.confidence
    );
    for (i, v) in plan.variants.iter().enumerate() {
        let mut what = Vec::new();
        if let Some(subj) = &v.subject {
            for (lang, t) in subj {
                what.push(format!("{lang} subject {t:?}"));
            }
        }
        if let Some(t) = v.at {
            what.push(format!("at {}", t.format("%Y-%m-%d %H:%M")));
        }
        let _ = writeln!(o, "           {}: {}", LABELS[i + 1], what.join("; "));
    }
    if let Some(st) = &s.ab {
        if let Some(d) = st.decides_at {
            let _ = writeln!(o, "           judged at {}", at(d));
        }
        for c in &st.cells {
            let pct = |n: u64| {
                if c.sent == 0 {
                    0.0
                } else {
                    100.0 * n.min(c.sent) as f64 / c.sent as f64
                }
            };
            let _ = writeln!(
                o,
                "           {}: sent {}, opened {} ({:.1} %), clicked {} ({:.1} %)",
                c.template,
                c.sent,
                c.opened,
                pct(c.opened),
                c.clicked,
                pct(c.clicked)
            );
        }
        if b.decision.is_none() {
            let now = match &st.verdict {
                Verdict::Winner { template, p_value } => {
                    format!("{template} leads (p = {p_value:.4})")
                }
                Verdict::NotSignificant { best, p_value } => {
                    format!("{best} is best, not significantly (p = {p_value:.4})")
                }
                Verdict::NeedsSample { missing } => format!("{missing} more sends needed"),
            };
            let _ = writeln!(o, "           so far: {now}");
        }
    }
    if let Some(d) = &b.decision {
        let why = match &d.verdict {
            Verdict::Winner { p_value, .. } => format!("won (p = {p_value:.4})"),
            Verdict::NotSignificant { p_value, .. } => {
                format!("stays: no significant winner (p = {p_value:.4})")
            }
            Verdict::NeedsSample { missing } => {
                format!("stays: {missing} sends short of the sample")
            }
        };
        let _ = writeln!(
            o,
            "decision   {} {why}, at {}; the rest gets {}",
            LABELS[d.winner],
            at(d.at),
            LABELS[d.winner]
        );
    }
}
