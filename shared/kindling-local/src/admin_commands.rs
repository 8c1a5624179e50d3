//! The admin commands, each written once against [`Admin`]: the local store in process, or with
//! `--api` a deployed stack or a `kindling serve` over HTTP. Both backends give the same typed
//! answers and errors, so a command prints the same text, JSON and exit code either way.

use crate::args::SegmentCommand;
use crate::broadcast_commands::{self, BroadcastCommand};
use crate::commands::{load_config, open_store};
use crate::segment_commands;
use kindling::admin::interface::{Admin, MarkLead, ResumeSending};
use kindling::admin::InProcess;
use kindling_local::http_admin::HttpAdmin;
use std::path::{Path, PathBuf};

/// An admin command with its arguments.
pub(crate) enum AdminCommand {
    LeadShow {
        lead: String,
    },
    LeadMark {
        lead: String,
        mark: MarkLead,
    },
    Kpis(kindling::kpis::KpiQuery),
    Diagnose,
    /// `report --open`: a one-time link to the report of the `kindling serve` at `--api`.
    ReportLink,
    /// `report`: the KPIs of the query and the diagnosis, as one HTML file at `out`.
    Report {
        query: kindling::kpis::KpiQuery,
        out: PathBuf,
    },
    /// `sending`, or with `resume` `sending resume` and its note.
    Sending {
        resume: Option<Option<String>>,
    },
    /// `sync status`.
    SyncStatus,
    /// `sync replay <id|--dead>`.
    SyncReplay(kindling::admin::interface::ReplaySync),
    /// `segment list | show | members`.
    Segment(SegmentCommand),
    Broadcast {
        command: Box<BroadcastCommand>,
        by: String,
    },
}

/// The admin token of a `kindling serve` at a loopback `--api`: `KINDLING_ADMIN_TOKEN`, else
/// the data directory's `admin.token` if there is one; `None` means SigV4 (a deployed stack).
fn admin_token(api: &str, data_dir: &Path) -> Option<String> {
    if let Ok(t) = std::env::var(kindling_local::keys::ADMIN_TOKEN_ENV) {
        return Some(t);
    }
    if !kindling_local::remote::is_loopback(api) {
        return None;
    }
    std::fs::read_to_string(kindling_local::keys::admin_token_path(data_dir))
        .ok()
        .map(|t| t.trim().to_owned())
}

/// Runs `command` against `--api` if given, else the local store of `data_dir`.
pub(crate) async fn run(
    api: Option<String>,
    config_dir: PathBuf,
    data_dir: PathBuf,
    command: AdminCommand,
    json: bool,
) -> anyhow::Result<()> {
    // The program's zone, for printing times: the local config's, also over --api.
    let config = load_config(&config_dir)?;
    let zone = config.program.default_zone;
    let http = match &api {
        Some(url) => Some(HttpAdmin::connect(url, admin_token(url, &data_dir)).await?),
        None => None,
    };
    let app = match &http {
        Some(_) => None,
        None => Some(open_store(config, &data_dir)?),
    };
    let local = app.as_ref().map(|a| InProcess::new(&a.kindling));
    let admin: &dyn Admin = match (&http, &local) {
        (Some(h), _) => h,
        (None, Some(l)) => l,
        (None, None) => anyhow::bail!("no admin backend"),
    };
    if let AdminCommand::ReportLink = &command {
        let Some(h) = &http else {
            anyhow::bail!("report --open needs --api");
        };
        println!("{}", h.report_link().await?);
        eprintln!("(one use, within 60 s; the browser then keeps a session for an hour)");
        return Ok(());
    }
    if let AdminCommand::Report { query, out } = &command {
        let page = admin.report(query).await?;
        std::fs::write(out, &page)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
        println!("wrote {} ({} KB)", out.display(), page.len() / 1024);
        return Ok(());
    }
    execute(admin, zone, command, json).await?;
    if let Some(app) = &app {
        // Deliver what a change published (a sales mark's rescore: segment entries, stage
        // changes; over HTTP the server's bus does).
        app.pump().await?;
    }
    Ok(())
}

async fn execute(
    admin: &dyn Admin,
    zone: chrono_tz::Tz,
    command: AdminCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::LeadShow { lead } => {
            let report = admin.lead(&lead).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", kindling_local::inspect::lead_text(&report, zone));
            }
        }
        AdminCommand::LeadMark { lead, mark } => {
            let marked = admin.mark_lead(&lead, &mark).await?;
            match &marked.sales {
                Some(m) => match &m.amount {
                    Some(a) => println!("{} marked {} ({a})", marked.email, m.status.as_str()),
                    None => println!("{} marked {}", marked.email, m.status.as_str()),
                },
                None => println!("{} not marked", marked.email),
            }
        }
        AdminCommand::Kpis(query) => {
            let report = admin.kpis(&query).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", kindling_local::kpi_text::text(&report));
            }
        }
        AdminCommand::Report { .. } | AdminCommand::ReportLink => {
            anyhow::bail!("report is written by run")
        }
        AdminCommand::SyncStatus => {
            let status = admin.sync_status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", kindling_local::crm::status_text(&status, zone));
            }
        }
        AdminCommand::SyncReplay(replay) => {
            let r = admin.replay_sync(&replay).await?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else if r.replayed.is_empty() {
                println!("No dead upserts to replay.");
            } else {
                println!(
                    "Replayed {} upsert(s): {}",
                    r.replayed.len(),
                    r.replayed.join(", ")
                );
            }
        }
        AdminCommand::Diagnose => {
            let d = admin.diagnose().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print!("{}", kindling_local::kpi_text::diagnosis(&d));
            }
        }
        AdminCommand::Sending { resume: None } => {
            let status = admin.sending().await?;
            if json {
                println!("{}", serde_json::to_string(&status)?);
            } else {
                print!("{}", status.text());
            }
        }
        AdminCommand::Sending { resume: Some(note) } => {
            let resumed = admin.resume_sending(&ResumeSending { note }).await?;
            if json {
                println!("{}", serde_json::to_string(&resumed)?);
            } else if let Some(trip) = &resumed.was_paused {
                println!(
                    "Step mails resumed (paused since {}: {}). Counting restarts at the next hour.",
                    trip.at.format("%Y-%m-%d %H:%M UTC"),
                    trip.reason
                );
            } else {
                println!("Step mails were not paused; counting restarts at the next hour.");
            }
        }
        AdminCommand::Segment(SegmentCommand::List) => segment_commands::list(admin, json).await?,
        AdminCommand::Segment(SegmentCommand::Show { segment }) => {
            segment_commands::show(admin, zone, &segment, json).await?
        }
        AdminCommand::Segment(SegmentCommand::Members { segment }) => {
            segment_commands::members(admin, zone, &segment, json).await?
        }
        AdminCommand::Segment(SegmentCommand::Rebuild { .. }) => {
            return Err(crate::local_only(
                "segment rebuild",
                "on AWS a rebuild is the score function's rebuild_segments invocation",
            ))
        }
        AdminCommand::Broadcast { command, by } => {
            broadcast_commands::run(admin, zone, *command, by, json).await?
        }
    }
    Ok(())
}
