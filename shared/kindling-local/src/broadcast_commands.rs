//! `kindling broadcast ...`: newsletters and segment mail in the local store, from creation to
//! the sender's run.

use crate::commands::{load_config, open_store};
use anyhow::Context;
use clap::Subcommand;
use kindling::broadcasts::content::Content;
use kindling::broadcasts::lifecycle::{self, Edit, NewBroadcast};
use kindling::broadcasts::status::status;
use kindling::broadcasts::{Audience, Broadcast, Schedule};
use kindling::ids::{BroadcastId, TopicId};
use kindling::names::Named;
use std::path::{Path, PathBuf};

use crate::broadcast_args::{AbArgs, AudienceArgs};

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum BroadcastCommand {
    /// Create a draft. Its content is linted as `kindling check` lints config.
    Create {
        /// For people: "December newsletter".
        #[arg(long)]
        name: String,
        #[command(flatten)]
        audience: AudienceArgs,
        /// A template of templates/ (copied), or a directory of <lang>.txt and <lang>.html.
        #[arg(long)]
        template: String,
        /// When: "2026-12-08 10:00", in the program's zone, or with --local in each lead's.
        #[arg(long)]
        at: String,
        /// At that wall-clock time in each lead's own zone.
        #[arg(long)]
        local: bool,
        /// The [[topics]] id it belongs to (leads who left it get none). Required when topics
        /// exist; a correction takes its original's.
        #[arg(long)]
        topic: Option<String>,
        /// Its id (default: a fresh one).
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        ab: AbArgs,
    },
    /// Change a broadcast that has not started; voids its approval.
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        audience: AudienceArgs,
        #[arg(long)]
        template: Option<String>,
        /// A new time (with --local: in each lead's zone).
        #[arg(long)]
        at: Option<String>,
        #[arg(long, requires = "at")]
        local: bool,
        #[arg(long)]
        topic: Option<String>,
        /// A new A/B test (replaces the one it had).
        #[command(flatten)]
        ab: AbArgs,
        /// Remove its A/B test.
        #[arg(long, conflicts_with_all = ["ab_subject", "ab_at"])]
        no_ab: bool,
    },
    /// Every broadcast, newest first.
    List,
    /// A broadcast: state, audience, schedule, approval, dry run, progress, ETA, history.
    Show {
        id: String,
    },
    /// The exact mail one lead would get.
    Preview {
        id: String,
        /// The lead's address (not in the store: a sample lead with only that address).
        #[arg(long)]
        lead: String,
        /// The exact RFC 5322 bytes.
        #[arg(long)]
        raw: bool,
    },
    /// Send the mail, marked [TEST] and untracked, to the internal reviewers of
    /// [broadcasts.test_send] addresses (the outbox locally); nobody else.
    Test {
        id: String,
        /// One of the test addresses (repeatable; default: all of them).
        #[arg(long)]
        to: Vec<String>,
        /// Render with this lead's profile (default: a sample lead, where fallbacks show).
        #[arg(long = "as")]
        as_lead: Option<String>,
    },
    /// Render for every recipient and count who would get it and who not, and why. Sends
    /// nothing.
    DryRun {
        id: String,
    },
    /// Approve it as it is now (needs a dry run of exactly this).
    Approve {
        id: String,
    },
    /// Arm an approved broadcast: it starts at its time.
    Schedule {
        id: String,
    },
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    /// Go on past a guard: a stale start or an audience above the size guard.
    Confirm {
        id: String,
    },
    /// Stop it for good.
    Cancel {
        id: String,
    },
    /// One sender run now: start what is due, freeze, send due recipients to the outbox.
    Run,
}

pub(crate) fn parse_at(s: &str) -> anyhow::Result<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M")
        .with_context(|| format!("--at {s:?}: write a time like \"2026-12-08 10:00\""))
}

pub(crate) fn load_content(config: &kindling::Config, template: &str) -> anyhow::Result<Content> {
    let path = Path::new(template);
    let content = if path.is_dir() {
        let mut files = Vec::new();
        for e in std::fs::read_dir(path)? {
            let p = e?.path();
            if p.is_file() {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let body = std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                files.push((name, body));
            }
        }
        Content::from_files(&format!("dir {template}"), &files)
    } else {
        Content::from_template(&config.templates, template)
    };
    content.map_err(|e| anyhow::anyhow!("--template {template}: {e}"))
}

/// One line of `broadcast list`.
pub(crate) fn print_row(
    id: &str,
    state: kindling::broadcasts::State,
    schedule: &Schedule,
    audience: &Audience,
    name: &str,
) {
    println!(
        "{:<24} {:<10} {}  {}  {}",
        id,
        state.name(),
        schedule.at.format("%Y-%m-%d %H:%M"),
        audience,
        name
    );
}

/// What `broadcast test` prints.
pub(crate) fn print_test(
    r: &kindling::broadcasts::test_send::TestReport,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    println!("{}", r.subject);
    for (i, v) in r.variant_subjects.iter().enumerate() {
        println!("{}: {v}", kindling::broadcasts::ab::LABELS[i + 1]);
    }
    for a in &r.sent {
        println!("sent     {a}");
    }
    for s in &r.skipped {
        println!("skipped  {}  ({})", s.to, s.reason);
    }
    Ok(())
}

/// Runs one subcommand as `by`.
pub async fn run(
    config_dir: &Path,
    command: BroadcastCommand,
    data_dir: PathBuf,
    by: String,
    json: bool,
) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
    let kd = &app.kindling;
    let k = kd.broadcasts();
    let id = |s: &str| BroadcastId::new(s);
    let moved: Broadcast = match command {
        BroadcastCommand::Create {
            name,
            audience,
            template,
            at,
            local,
            topic,
            id,
            ab,
        } => {
            let audience = audience
                .audience()
                .context("name the audience: --segment <id>, --all or --correct <broadcast>")?;
            let new = NewBroadcast {
                id,
                name,
                audience,
                content: load_content(&kd.config, &template)?,
                schedule: Schedule {
                    at: parse_at(&at)?,
                    local,
                },
                topic: topic.map(TopicId::new),
                ab: ab.spec(),
                by,
            };
            let (b, lint) = lifecycle::create(&k, new).await?;
            for w in &lint.warnings {
                eprintln!("warning: {w}");
            }
            b
        }
        BroadcastCommand::Edit {
            id: bid,
            name,
            audience,
            template,
            at,
            local,
            topic,
            ab,
            no_ab,
        } => {
            let edit = Edit {
                ab: if no_ab {
                    Some(None)
                } else {
                    ab.spec().map(Some)
                },
                topic: topic.map(TopicId::new),
                name,
                audience: audience.audience(),
                content: template.map(|t| load_content(&kd.config, &t)).transpose()?,
                schedule: at
                    .map(|a| parse_at(&a).map(|at| Schedule { at, local }))
                    .transpose()?,
            };
            lifecycle::edit(&k, &id(&bid), edit, &by).await?
        }
        BroadcastCommand::List => {
            let all = kd.stores.broadcasts.list_broadcasts().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            for b in &all {
                print_row(b.id.as_str(), b.state, &b.schedule, &b.audience, &b.name);
            }
            return Ok(());
        }
        BroadcastCommand::Show { id: bid } => {
            let s = status(&k, &id(&bid)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print!(
                    "{}",
                    crate::broadcast_show::show_text(&s, kd.config.program.default_zone)
                );
            }
            return Ok(());
        }
        BroadcastCommand::Preview { id: bid, lead, raw } => {
            let email = kindling::email::EmailAddress::parse(&lead)
                .map_err(|_| anyhow::anyhow!("--lead {lead:?} is not an email address"))?;
            let mail = kindling::broadcasts::compose::preview(&k, &id(&bid), &email).await?;
            if raw {
                use std::io::Write as _;
                std::io::stdout().write_all(&mail.raw)?;
            } else {
                print!("{}", kindling_local::preview::readable(&mail.raw)?);
            }
            return Ok(());
        }
        BroadcastCommand::Test {
            id: bid,
            to,
            as_lead,
        } => {
            let email = |flag: &str, a: &str| {
                kindling::email::EmailAddress::parse(a)
                    .map_err(|_| anyhow::anyhow!("{flag} {a:?} is not an email address"))
            };
            let request = kindling::broadcasts::test_send::TestRequest {
                to: to
                    .iter()
                    .map(|a| email("--to", a))
                    .collect::<anyhow::Result<_>>()?,
                as_lead: as_lead.as_deref().map(|a| email("--as", a)).transpose()?,
            };
            let r =
                kindling::broadcasts::test_send::test_send(&k, &*app.mailer, &id(&bid), &request)
                    .await?;
            print_test(&r, json)?;
            return Ok(());
        }
        BroadcastCommand::DryRun { id: bid } => {
            kindling::broadcasts::dry_run::dry_run(&k, &id(&bid), &by).await?
        }
        BroadcastCommand::Approve { id: bid } => lifecycle::approve(&k, &id(&bid), &by).await?,
        BroadcastCommand::Schedule { id: bid } => lifecycle::schedule(&k, &id(&bid), &by).await?,
        BroadcastCommand::Pause { id: bid } => lifecycle::pause(&k, &id(&bid), &by).await?,
        BroadcastCommand::Resume { id: bid } => lifecycle::resume(&k, &id(&bid), &by).await?,
        BroadcastCommand::Confirm { id: bid } => lifecycle::confirm(&k, &id(&bid), &by).await?,
        BroadcastCommand::Cancel { id: bid } => lifecycle::cancel(&k, &id(&bid), &by).await?,
        BroadcastCommand::Run => {
            let r = kindling::broadcasts::send_due_broadcasts(
                &k,
                &*app.mailer,
                kindling_local::app::SEND_BUDGET,
            )
            .await?;
            app.pump().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "sent {}  skipped {}  deferred {}  failed {}  unknown {}  started {}  held {}  finished {}",
                    r.sent.len(),
                    r.skipped,
                    r.deferred,
                    r.failed,
                    r.unknown,
                    r.started.len(),
                    r.held.len(),
                    r.finished.len()
                );
                if let Some(p) = &r.paused {
                    println!("paused by the breaker: {p}");
                }
            }
            return Ok(());
        }
    };
    let s = status(&k, &moved.id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!(
            "{}",
            crate::broadcast_show::show_text(&s, kd.config.program.default_zone)
        );
    }
    Ok(())
}
