//! `kindling broadcast ...`: newsletters and segment mail, each subcommand written once against
//! the admin interface (the local store, or `--api`), but `run`, which is one sender run on the
//! local store.

use anyhow::Context;
use clap::Subcommand;
use kindling::admin::interface::{
    Actor, Admin, ContentSpec, CreateBroadcast, EditBroadcast, PartSpec, TestBroadcast,
};
use kindling::broadcasts::content::Content;
use kindling::broadcasts::moves::Move;
use kindling::broadcasts::status::Status;
use kindling::names::Named;
use std::path::Path;

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
    /// Change a broadcast that has not started: what is given changes (--name, --segment |
    /// --all | --correct, --template, --at [--local], --topic, --ab-*, --no-ab); voids its
    /// approval.
    Edit {
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        audience: AudienceArgs,
        /// New content: a template of templates/, or a directory of <lang>.txt and <lang>.html.
        #[arg(long)]
        template: Option<String>,
        /// A new time (with --local: in each lead's zone).
        #[arg(long)]
        at: Option<String>,
        /// The new time is in each lead's own zone.
        #[arg(long, requires = "at")]
        local: bool,
        /// A new topic.
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
    Show { id: String },
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
    DryRun { id: String },
    /// Approve it as it is now (needs a dry run of exactly this).
    Approve { id: String },
    /// Arm an approved broadcast: it starts at its time.
    Schedule { id: String },
    /// Stop sending it; `resume` goes on where it stood.
    Pause { id: String },
    /// Go on with a paused broadcast where it stood (one a guard holds needs `confirm`).
    Resume { id: String },
    /// Go on past a guard: a stale start or an audience above the size guard.
    Confirm { id: String },
    /// Stop it for good.
    Cancel { id: String },
    /// One sender run now: start what is due, freeze, send due recipients to the outbox.
    Run,
}

/// The content a `--template` names: a directory's `<lang>.txt` and `<lang>.html` files, read
/// here and sent as parts; else a template of the program's `templates/` (the local one, or the
/// deployed program's over `--api`).
fn content(template: &str) -> anyhow::Result<ContentSpec> {
    let path = Path::new(template);
    if !path.is_dir() {
        return Ok(ContentSpec {
            template: Some(template.to_owned()),
            parts: None,
        });
    }
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
    let content = Content::from_files(&format!("dir {template}"), &files)
        .map_err(|e| kindling::Error::Invalid(format!("--template {template}: {e}")))?;
    Ok(ContentSpec {
        template: None,
        parts: Some(
            content
                .parts
                .into_iter()
                .map(|(lang, p)| {
                    let part = PartSpec {
                        txt: p.txt,
                        html: p.html,
                    };
                    (lang, part)
                })
                .collect(),
        ),
    })
}

/// One line of `broadcast list`.
fn print_row(b: &kindling::admin::interface::BroadcastRow) {
    println!(
        "{:<24} {:<10} {}  {}  {}",
        b.id,
        b.state.name(),
        b.schedule.at.format(kindling::broadcasts::TIME_FORMAT),
        b.audience,
        b.name
    );
}

/// What `broadcast test` prints.
fn print_test(r: &kindling::broadcasts::test_send::TestReport, json: bool) -> anyhow::Result<()> {
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

/// What a broadcast's status prints: `show`, and every command that changes one.
fn print_status(s: &Status, zone: chrono_tz::Tz, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        print!("{}", crate::broadcast_show::show_text(s, zone));
    }
    Ok(())
}

/// Runs one subcommand (all but `run`) as `by`.
pub async fn run(
    admin: &dyn Admin,
    zone: chrono_tz::Tz,
    command: BroadcastCommand,
    by: String,
    json: bool,
) -> anyhow::Result<()> {
    let actor = Actor {
        by: Some(by.clone()),
    };
    let moved = |id: String, mv: Move| async move {
        let s = admin.move_broadcast(&id, mv, &actor).await?;
        print_status(&s, zone, json)
    };
    match command {
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
            let audience = audience.audience().ok_or_else(|| {
                kindling::Error::Invalid(
                    "name the audience: --segment <id>, --all or --correct <broadcast>".into(),
                )
            })?;
            let create = CreateBroadcast {
                id,
                name,
                audience,
                content: content(&template)?,
                at,
                local,
                topic,
                ab: ab.spec(),
                by: Some(by),
            };
            let created = admin.create_broadcast(&create).await?;
            for w in &created.warnings {
                eprintln!("warning: {w}");
            }
            print_status(&created.status, zone, json)
        }
        BroadcastCommand::Edit {
            id,
            name,
            audience,
            template,
            at,
            local,
            topic,
            ab,
            no_ab,
        } => {
            let edit = EditBroadcast {
                name,
                audience: audience.audience(),
                content: template.as_deref().map(content).transpose()?,
                local: at.as_ref().map(|_| local),
                at,
                topic,
                ab: ab.spec(),
                remove_ab: no_ab,
                by: Some(by),
            };
            print_status(&admin.edit_broadcast(&id, &edit).await?, zone, json)
        }
        BroadcastCommand::List => {
            let rows = admin.broadcasts().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                rows.iter().for_each(print_row);
            }
            Ok(())
        }
        BroadcastCommand::Show { id } => print_status(&admin.broadcast(&id).await?, zone, json),
        BroadcastCommand::Preview { id, lead, raw } => {
            let mail = admin.preview_broadcast(&id, &lead).await?;
            if raw {
                use std::io::Write as _;
                std::io::stdout().write_all(&mail)?;
            } else {
                print!("{}", kindling_local::preview::readable(&mail)?);
            }
            Ok(())
        }
        BroadcastCommand::Test { id, to, as_lead } => {
            let test = TestBroadcast {
                to,
                as_lead,
                by: Some(by),
            };
            print_test(&admin.test_broadcast(&id, &test).await?, json)
        }
        BroadcastCommand::DryRun { id } => moved(id, Move::DryRun).await,
        BroadcastCommand::Approve { id } => moved(id, Move::Approve).await,
        BroadcastCommand::Schedule { id } => moved(id, Move::Schedule).await,
        BroadcastCommand::Pause { id } => moved(id, Move::Pause).await,
        BroadcastCommand::Resume { id } => moved(id, Move::Resume).await,
        BroadcastCommand::Confirm { id } => moved(id, Move::Confirm).await,
        BroadcastCommand::Cancel { id } => moved(id, Move::Cancel).await,
        BroadcastCommand::Run => Err(crate::local_only(
            "broadcast run",
            "on AWS the sender runs every minute (send-steps); `broadcast show` follows it",
        )),
    }
}

/// `broadcast run`: one sender run on the local store.
pub async fn send_run(app: &kindling_local::LocalApp, json: bool) -> anyhow::Result<()> {
    let r = kindling::broadcasts::send_due_broadcasts(
        &app.kindling.broadcasts(),
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
    Ok(())
}
