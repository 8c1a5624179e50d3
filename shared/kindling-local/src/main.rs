//! The `kindling` command: serve, demo, check, lead show, rescore.

use anyhow::Context;
use clap::{Parser, Subcommand};
use kindling::config::Config;
use kindling::system::{SystemClock, UuidIds};
use kindling_local::{check, demo, keys, server, LocalApp};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "kindling",
    version,
    about = "Kindling: B2B lead nurturing, run locally"
)]
struct Cli {
    /// The nurture program: kindling.toml and templates/.
    #[arg(
        long,
        global = true,
        default_value = "config",
        env = "KINDLING_CONFIG_DIR"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API, the example site, the bus and the scheduler on loopback.
    Serve {
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Where the SQLite database, the outbox and the alert log live.
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Public base URL for links in mails (default: this server's own address).
        #[arg(long)]
        public_url: Option<String>,
        /// Static site to serve beside the API.
        #[arg(long, default_value = "examples/site")]
        site: PathBuf,
        /// Seconds between scheduler runs (EventBridge runs send-steps every 60).
        #[arg(long, default_value_t = 60)]
        tick_seconds: u64,
    },
    /// Play a scripted 17-day scenario on a simulated clock and print what happened.
    Demo {
        #[arg(long, default_value = ".kindling/demo")]
        data_dir: PathBuf,
        /// Print the summary as one JSON object on the last line of stdout.
        #[arg(long)]
        json: bool,
    },
    /// Validate the configuration; exits non-zero with file:line messages.
    Check,
    /// Inspect leads in the local store.
    Lead {
        #[command(subcommand)]
        command: LeadCommand,
    },
    /// Show the exact mail a sequence step would send a lead: headers and both parts, or the
    /// exact bytes with `--raw` or `--out`.
    Preview {
        /// The sequence id.
        sequence: String,
        /// The step, counted from 0.
        step: u32,
        /// The lead's address: its profile from the local store, else a sample lead with only
        /// this address (fallbacks show).
        #[arg(long)]
        lead: String,
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Write the exact RFC 5322 bytes to this file (an .eml any mail client opens).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the exact bytes instead of the readable view.
        #[arg(long)]
        raw: bool,
    },
    /// Every A/B test: sends, people's opens and clicks per variant, the winner or what it
    /// still needs.
    Ab {
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Whether step mails are sending or paused by the bounce/complaint breaker, with the counts
    /// of its window; `sending resume` resumes them.
    Sending {
        #[command(subcommand)]
        command: Option<SendingCommand>,
        #[arg(long, default_value = ".kindling", global = true)]
        data_dir: PathBuf,
        /// Print as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Recompute every lead's score under the current rules; list who changes, and with
    /// `--dry-run` write nothing.
    Rescore {
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Only list the changes.
        #[arg(long)]
        dry_run: bool,
        /// Print the changes as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SendingCommand {
    /// Resume step mails after the breaker paused them (clean the list first); counting
    /// restarts at the next hour.
    Resume {
        /// Why it is safe now, kept with the resume.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum LeadCommand {
    /// A lead's profile, consent, score breakdown, enrollments and timeline.
    Show {
        /// The lead's id or email address.
        lead: String,
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Print the report as JSON (what `GET /admin/leads/{lead}` returns).
        #[arg(long)]
        json: bool,
    },
    /// Record where sales stands with a lead (working, won, lost, disqualified); sequences with
    /// the `sales_marked` exit goal stop mailing it.
    Mark {
        /// The lead's id or email address.
        lead: String,
        /// working, won, lost or disqualified.
        status: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
    },
}

/// Opens the local store of `data_dir` for inspection (no server, no scheduler).
fn open_store(config: Config, data_dir: &std::path::Path) -> anyhow::Result<LocalApp> {
    anyhow::ensure!(
        data_dir.join("kindling.db").exists(),
        "no local store in {} (run `kindling serve` or pass --data-dir)",
        data_dir.display()
    );
    let keys = keys::load_or_create(data_dir)?;
    Ok(LocalApp::open(
        data_dir,
        config,
        keys,
        Arc::new(SystemClock),
        Arc::new(UuidIds),
        // Alerts a rescore raises go to alerts.jsonl; stdout stays the command's output.
        false,
    )?)
}

/// An app over an in-memory store, for previews without a local store (nothing is written).
fn preview_app(config: Config) -> anyhow::Result<LocalApp> {
    let keys = kindling::token::SigningKeys::new(vec![(
        "preview".into(),
        b"kindling-preview-key-links-do-not-verify".to_vec(),
    )])?;
    let tmp = std::env::temp_dir().join("kindling-preview");
    Ok(LocalApp::assemble(
        kindling_local::db::Db::in_memory()?,
        tmp.clone(),
        config,
        keys,
        Arc::new(SystemClock),
        Arc::new(UuidIds),
        Arc::new(kindling_local::outbox::OutboxMailer::new(
            tmp.join("outbox"),
            Arc::new(SystemClock),
        )),
        Arc::new(kindling_local::alerts::JsonlNotifier::new(
            tmp.join("alerts.jsonl"),
            false,
        )),
    ))
}

fn load_config(dir: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(dir).map_err(|e| anyhow::anyhow!("invalid configuration:\n{e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KINDLING_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Check => {
            let check::Report {
                config,
                problems,
                warnings,
            } = check::check(&cli.config);
            for w in &warnings {
                eprintln!("{w}");
            }
            if problems.is_empty() {
                let c = config.context("no configuration")?;
                println!(
                    "{}: ok ({} scoring rules, {} fit rules, {} triggers, {} forms, {} sequences, {} templates)",
                    cli.config.display(),
                    c.scoring.rules.len(),
                    c.scoring.fit_rules.len(),
                    c.triggers.len(),
                    c.forms.len(),
                    c.sequences.len(),
                    c.templates.all().count()
                );
                Ok(())
            } else {
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!("{} problem(s) in {}", problems.len(), cli.config.display());
                std::process::exit(1);
            }
        }
        Command::Demo { data_dir, json } => {
            let config = load_config(&cli.config)?;
            let summary = demo::run(config, &data_dir, !json).await?;
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                demo::print_summary(&summary, &data_dir);
            }
            Ok(())
        }
        Command::Lead {
            command:
                LeadCommand::Show {
                    lead,
                    data_dir,
                    json,
                },
        } => {
            let app = open_store(load_config(&cli.config)?, &data_dir)?;
            let key = kindling::leads::parse_lead_key(&lead)
                .with_context(|| format!("{lead:?} is neither a lead id nor an email address"))?;
            let report = kindling::admin::lead_report(&app.kindling, &key)
                .await?
                .with_context(|| format!("no lead {lead}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!(
                    "{}",
                    kindling_local::inspect::lead_text(
                        &report,
                        app.kindling.config.program.default_zone
                    )
                );
            }
            Ok(())
        }
        Command::Lead {
            command:
                LeadCommand::Mark {
                    lead,
                    status,
                    note,
                    data_dir,
                },
        } => {
            let app = open_store(load_config(&cli.config)?, &data_dir)?;
            let key = kindling::leads::parse_lead_key(&lead)
                .with_context(|| format!("{lead:?} is neither a lead id nor an email address"))?;
            let status = kindling::leads::SalesStatus::parse(&status).with_context(|| {
                format!("{status:?} is not one of working, won, lost, disqualified")
            })?;
            let marked = kindling::leads::mark_lead(
                &*app.kindling.stores.leads,
                &*app.kindling.clock,
                &key,
                status,
                note,
            )
            .await?
            .with_context(|| format!("no lead {lead}"))?;
            println!("{} marked {status:?}", marked.email);
            Ok(())
        }
        Command::Preview {
            sequence,
            step,
            lead,
            data_dir,
            out,
            raw,
        } => {
            let config = load_config(&cli.config)?;
            let app = if data_dir.join("kindling.db").exists() {
                open_store(config, &data_dir)?
            } else {
                preview_app(config)?
            };
            let p = kindling_local::preview::preview(&app, &sequence, step, &lead).await?;
            if !p.stored_lead {
                eprintln!("note: no lead {lead} in {}: a sample lead with only this address (fallbacks show)", data_dir.display());
            }
            if let Some(path) = out {
                std::fs::write(&path, &p.mail.raw)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {} ({} bytes)", path.display(), p.mail.raw.len());
            } else if raw {
                use std::io::Write as _;
                std::io::stdout().write_all(&p.mail.raw)?;
            } else {
                print!("{}", kindling_local::preview::readable(&p.mail.raw)?);
            }
            Ok(())
        }
        Command::Ab { data_dir, json } => {
            let app = open_store(load_config(&cli.config)?, &data_dir)?;
            let report = kindling::sequences::ab_report(&app.kindling.sequences()).await?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", kindling_local::inspect::ab_text(&report));
            }
            Ok(())
        }
        Command::Sending {
            command,
            data_dir,
            json,
        } => {
            let app = open_store(load_config(&cli.config)?, &data_dir)?;
            match command {
                None => {
                    let status =
                        kindling::deliverability::sending_status(&app.kindling.deliverability())
                            .await?;
                    if json {
                        println!("{}", serde_json::to_string(&status)?);
                    } else {
                        print!("{}", status.text());
                    }
                }
                Some(SendingCommand::Resume { note }) => {
                    let resumed = kindling::deliverability::resume_sending(
                        &app.kindling.deliverability(),
                        note,
                    )
                    .await?;
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
            }
            Ok(())
        }
        Command::Rescore {
            data_dir,
            dry_run,
            json,
        } => {
            let app = open_store(load_config(&cli.config)?, &data_dir)?;
            let changes = kindling::scoring::rescore_all(&app.kindling.scoring(), !dry_run).await?;
            if !dry_run {
                // Deliver what rescoring published (hot crossings alert sales).
                app.pump().await?;
            }
            if json {
                println!("{}", serde_json::to_string(&changes)?);
            } else {
                print!(
                    "{}",
                    kindling_local::inspect::rescore_text(&changes, !dry_run)
                );
            }
            Ok(())
        }
        Command::Serve {
            port,
            data_dir,
            public_url,
            site,
            tick_seconds,
        } => {
            let mut config = load_config(&cli.config)?;
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
            let addr = listener.local_addr()?;
            let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            kindling::program::check_public_url(&public_url)
                .map_err(|why| anyhow::anyhow!("--public-url: {why}"))?;
            config.program.public_url = public_url.trim_end_matches('/').to_owned();
            let keys = keys::load_or_create(&data_dir)?;
            let app = LocalApp::open(
                &data_dir,
                config,
                keys,
                Arc::new(SystemClock),
                Arc::new(UuidIds),
                true,
            )?;
            let site = site.is_dir().then_some(site);
            server::serve(
                app,
                listener,
                site,
                std::time::Duration::from_secs(tick_seconds.max(1)),
            )
            .await
        }
    }
}
