//! `kindling segment list | show | members` against the admin interface (the local store, or
//! `--api`), and `rebuild` on the local store.

use kindling::admin::interface::{Admin, SegmentPage};
use kindling::admin::segments::{
    MemberView, SegmentSummary, SegmentView, MAX_MEMBERS_PAGE, RECENT_CHANGES,
};
use std::fmt::Write as _;

/// `kindling segment list`: every segment with its member count.
pub async fn list(admin: &dyn Admin, json: bool) -> anyhow::Result<()> {
    print_list(&admin.segments().await?, json)
}

fn print_list(list: &[SegmentSummary], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for s in list {
        println!(
            "{:<32} {:>7}  {}",
            s.id.as_str(),
            s.count,
            s.label.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

/// `kindling segment show <id>`: the definition, the count and the latest changes.
pub async fn show(
    admin: &dyn Admin,
    zone: chrono_tz::Tz,
    id: &str,
    json: bool,
) -> anyhow::Result<()> {
    let page = SegmentPage {
        after: None,
        limit: Some(1),
    };
    print_show(&admin.segment(id, &page).await?, zone, json)
}

fn print_show(view: &SegmentView, zone: chrono_tz::Tz, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(());
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", view.id, view.label.as_deref().unwrap_or(""));
    let _ = writeln!(
        out,
        "definition  {}",
        serde_json::to_string(&view.definition)?
    );
    let _ = writeln!(out, "members     {}", view.count);
    let _ = writeln!(out, "latest changes (at most {RECENT_CHANGES})");
    if view.recent.is_empty() {
        let _ = writeln!(out, "  none yet");
    }
    for c in &view.recent {
        let _ = writeln!(
            out,
            "  {}  {:<6} {}",
            c.at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
            if c.entered { "entered" } else { "left" },
            c.email.as_deref().unwrap_or(c.lead_id.as_str())
        );
    }
    print!("{out}");
    Ok(())
}

/// `kindling segment members <id>`: every member, page by page from the index.
pub async fn members(
    admin: &dyn Admin,
    zone: chrono_tz::Tz,
    id: &str,
    json: bool,
) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut page = SegmentPage {
        after: None,
        limit: Some(MAX_MEMBERS_PAGE),
    };
    loop {
        let view = admin.segment(id, &page).await?;
        all.extend(view.members);
        match view.next {
            Some(c) => page.after = Some(c),
            None => break,
        }
    }
    print_members(&all, zone, json)
}

fn print_members(all: &[MemberView], zone: chrono_tz::Tz, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    for m in all {
        println!(
            "{:<40} since {}",
            m.email.as_deref().unwrap_or(m.lead_id.as_str()),
            m.since.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z")
        );
    }
    Ok(())
}

/// `kindling segments rebuild [--dry-run]`: re-evaluates every lead's segments under the
/// current definitions; lists who enters and who leaves (and with `--dry-run` writes nothing).
pub async fn rebuild(
    app: &kindling_local::LocalApp,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let r = kindling::scoring::rebuild_segments(&app.kindling.scoring(), !dry_run).await?;
    if !dry_run {
        // Deliver what the rebuild published (entered_segment triggers may alert).
        app.pump().await?;
    }
    if json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    let entering = r.moves.iter().filter(|m| m.entered).count();
    println!(
        "{} lead(s) looked at: {entering} entr{} and {} departure(s){}",
        r.leads,
        if entering == 1 { "y" } else { "ies" },
        r.moves.len() - entering,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            " (applied)"
        }
    );
    for m in &r.moves {
        println!(
            "  {} {:<32} {}",
            if m.entered { "+" } else { "-" },
            m.segment.as_str(),
            m.email
        );
    }
    for (seg, lead) in &r.stale {
        println!(
            "  index entry without a lead behind it: {seg} {lead}{}",
            if dry_run { "" } else { " (removed)" }
        );
    }
    Ok(())
}
