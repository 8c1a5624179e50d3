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
