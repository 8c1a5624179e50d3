//! The `kindling` command. The admin commands (`lead show` and `mark`, `sending`, `segment`,
//! `broadcast`) are written once against the admin interface, on the local store or over
//! `--api`; the rest work on this machine only and refuse `--api`.

mod admin_commands;
mod args;
mod broadcast_args;
mod broadcast_commands;
mod broadcast_show;
mod commands;
mod segment_commands;

use args::{Cli, Command, LeadCommand, SegmentCommand, SendingCommand};
use clap::Parser;
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // A server logs what it decides; a command prints what it did, and logs only errors.
    let default_log = if matches!(cli.command, Command::Serve { .. }) {
        "warn"
    } else {
        "error"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KINDLING_LOG")
                .unwrap_or_else(|_| default_log.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A message and an exit code, never a backtrace (whatever RUST_BACKTRACE says).
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code of a failed command (README: "Exit codes"): 2 bad input or usage, 3 not found,
/// 4 refused by the state of what it names, 1 anything else (a store or the API failed).
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.chain().find_map(|c| c.downcast_ref::<kindling::Error>()) {
        Some(kindling::Error::Invalid(_)) => 2,
        Some(kindling::Error::NotFound(_)) => 3,
        Some(kindling::Error::Refused(_)) => 4,
        _ => 1,
    }
}

/// The error of a command that works on this machine only, given `--api`.
pub(crate) fn local_only(command: &str, why: &str) -> anyhow::Error {
    kindling::Error::Invalid(format!(
        "`kindling {command}` does not run over --api (KINDLING_API): {why}"
    ))
    .into()
}

/// Refuses `--api` for a command that works on this machine only.
fn here_only(api: &Option<String>, command: &str) -> anyhow::Result<()> {
    match api {
        Some(_) => Err(local_only(
            command,
            "it works on this machine's config and store; unset KINDLING_API or drop --api",
        )),
        None => Ok(()),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    use admin_commands::AdminCommand as A;
    let api = cli.api.clone();
    let admin = |data_dir: PathBuf, command: A, json: bool| {
        admin_commands::run(api.clone(), cli.config.clone(), data_dir, command, json)
    };
    match cli.command {
        Command::Check => {
            here_only(&cli.api, "check")?;
            commands::check(&cli.config).await
        }
        Command::Demo {
            data_dir,
            scenario,
            json,
        } => {
            here_only(&cli.api, "demo")?;
            commands::demo(&cli.config, data_dir, scenario, json).await
        }
        Command::Lead {
            command:
                LeadCommand::Show {
                    lead,
                    data_dir,
                    json,
                },
        } => admin(data_dir, A::LeadShow { lead }, json).await,
        Command::Lead {
            command:
                LeadCommand::Mark {
                    lead,
                    status,
                    note,
                    amount,
                    currency,
                    data_dir,
                },
        } => {
            let mark = kindling::admin::interface::MarkLead {
                status,
                note,
                amount: amount.map(kindling::admin::interface::Amount::Text),
                currency,
            };
            admin(data_dir, A::LeadMark { lead, mark }, false).await
        }
        Command::Kpis {
            since,
            until,
            period,
            by,
            data_dir,
            json,
        } => {
            let query = kindling::kpis::KpiQuery {
                since,
                until,
                period,
                by,
            };
            admin(data_dir, A::Kpis(query), json).await
        }
        Command::Diagnose { data_dir, json } => admin(data_dir, A::Diagnose, json).await,
        Command::Report {
            open: true,
            data_dir,
            ..
        } => {
            if cli.api.is_none() {
                return Err(kindling::Error::Invalid(
                    "report --open needs --api <the kindling serve's URL>".into(),
                )
                .into());
            }
            admin(data_dir, A::ReportLink, false).await
        }
        Command::Report {
            out,
            since,
            until,
            period,
            data_dir,
            open: false,
        } => {
            let query = kindling::admin::page::query(since, until, period);
            admin(data_dir, A::Report { query, out }, false).await
        }
        Command::Preview {
            sequence,
            step,
            lead,
            data_dir,
            out,
            raw,
        } => {
            here_only(&cli.api, "preview")?;
            commands::preview(&cli.config, sequence, step, lead, data_dir, out, raw).await
        }
        Command::Ab { data_dir, json } => {
            here_only(&cli.api, "ab")?;
            commands::ab(&cli.config, data_dir, json).await
        }
        Command::Sending {
            command,
            data_dir,
            json,
        } => {
            let note = command.map(|SendingCommand::Resume { note }| note);
            admin(data_dir, A::Sending { resume: note }, json).await
        }
        Command::Sync {
            command,
            data_dir,
            json,
        } => {
            let c = match command {
                args::SyncCommand::Status => A::SyncStatus,
                args::SyncCommand::Replay { id, dead } => {
                    A::SyncReplay(kindling::admin::interface::ReplaySync { id, dead })
                }
            };
            admin(data_dir, c, json).await
        }
        Command::Scenario { csv, md: _ } => {
            here_only(&cli.api, "scenario")?;
            commands::scenario(&cli.config, csv)
        }
        Command::Segment {
            command: SegmentCommand::Rebuild { dry_run },
            data_dir,
            json,
        } => {
            if cli.api.is_some() {
                return Err(local_only(
                    "segment rebuild",
                    "on AWS a rebuild is the score function's rebuild_segments invocation (see README: Rescoring on AWS)",
                ));
            }
            let app = commands::open_store(commands::load_config(&cli.config)?, &data_dir)?;
            segment_commands::rebuild(&app, dry_run, json).await
        }
        Command::Segment {
            command,
            data_dir,
            json,
        } => admin(data_dir, A::Segment(command), json).await,
        Command::Broadcast {
            command,
            data_dir,
            by: _,
            json,
        } if matches!(*command, broadcast_commands::BroadcastCommand::Run) => {
            if cli.api.is_some() {
                return Err(local_only(
                    "broadcast run",
                    "on AWS the sender runs every minute (send-steps); `broadcast show` follows it",
                ));
            }
            let app = commands::open_store(commands::load_config(&cli.config)?, &data_dir)?;
            broadcast_commands::send_run(&app, json).await
        }
        Command::Broadcast {
            command,
            data_dir,
            by,
            json,
        } => {
            let by = by
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "local".into());
            admin(data_dir, A::Broadcast { command, by }, json).await
        }
        Command::Rescore {
            data_dir,
            dry_run,
            json,
        } => {
            here_only(&cli.api, "rescore")?;
            commands::rescore(&cli.config, data_dir, dry_run, json).await
        }
        Command::Serve {
            port,
            data_dir,
            public_url,
            site,
            tick_seconds,
        } => {
            here_only(&cli.api, "serve")?;
            commands::serve(&cli.config, port, data_dir, public_url, site, tick_seconds).await
        }
    }
}
