//! `kindling segment list | show | members | rebuild`: segments in the local store.

use crate::commands::{load_config, open_store};
use anyhow::Context;
use kindling::admin::segments::{
    find_segment, segment_list, segment_view, MemberView, SegmentSummary, SegmentView,
    MAX_MEMBERS_PAGE, RECENT_CHANGES,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `kindling segment list`: every segment with its member count.
pub async fn list(config_dir: &Path, data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
    print_list(&segment_list(&app.kindling).await?, json)
}

/// What `segment list` prints.
pub(crate) fn print_list(list: &[SegmentSummary], json: bool) -> anyhow::Result<()> {
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
    config_dir: &Path,
    id: String,
    data_dir: PathBuf,
    json: bool,
) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
    let k = &app.kindling;
    let s = find_segment(k, &id).with_context(|| unknown(k, &id))?;
    let view = segment_view(k, s, None, 1).await?;
    print_show(&view, k.config.program.default_zone, json)
}

/// What `segment show` prints.
pub(crate) fn print_show(
    view: &SegmentView,
    zone: chrono_tz::Tz,
    json: bool,
) -> anyhow::Result<()> {
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
            c.at.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
            if c.entered { "entered" } else { "left" },
            c.lead_id
        );
    }
    print!("{out}");
    Ok(())
}

/// `kindling segment members <id>`: every member, page by page from the index.
pub async fn members(
    config_dir: &Path,
    id: String,
    data_dir: PathBuf,
    json: bool,
) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
    let k = &app.kindling;
    let s = find_segment(k, &id).with_context(|| unknown(k, &id))?;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = segment_view(k, s, after.as_ref(), MAX_MEMBERS_PAGE).await?;
        all.extend(page.members);
        match page.next {
            Some(c) => after = Some(c.parse().map_err(anyhow::Error::msg)?),
            None => break,
        }
    }
    print_members(&all, k.config.program.default_zone, json)
}

/// What `segment members` prints.
pub(crate) fn print_members(
    all: &[MemberView],
    zone: chrono_tz::Tz,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    for m in all {
        println!(
            "{:<40} since {}",
            m.email.as_deref().unwrap_or(m.lead_id.as_str()),
            m.since.with_timezone(&zone).format("%Y-%m-%d %H:%M")
        );
    }
    Ok(())
}

/// `kindling segments rebuild [--dry-run]`: re-evaluates every lead's segments under the
/// current definitions; lists who enters and who leaves (and with `--dry-run` writes nothing).
pub async fn rebuild(
    config_dir: &Path,
    data_dir: PathBuf,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
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

fn unknown(k: &kindling::app::Kindling, id: &str) -> String {
    let ids: Vec<&str> = k.config.segments.iter().map(|s| s.id.as_str()).collect();
    format!(
        "no segment {id:?} in the program (one of: {})",
        ids.join(", ")
    )
}
