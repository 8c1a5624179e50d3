//! The `kindling` command line: every command, subcommand and option (clap).

use crate::broadcast_commands;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kindling",
    version,
    about = "Kindling: B2B lead nurturing, run locally"
)]
pub(crate) struct Cli {
    /// The nurture program: kindling.toml and templates/.
    #[arg(
        long,
        global = true,
        default_value = "config",
        env = "KINDLING_CONFIG_DIR"
    )]
    pub(crate) config: PathBuf,
    /// An admin API instead of the local store, for the admin commands (lead show and mark,
    /// sending, segment, broadcast): a deployed stack's ApiUrl output (requests signed with SigV4
    /// from the AWS credential chain), or a `kindling serve` on loopback (its admin token, from
    /// KINDLING_ADMIN_TOKEN or the --data-dir's admin.token). Other commands refuse it.
    #[arg(long, global = true, env = "KINDLING_API")]
    pub(crate) api: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Play a scenario of timed steps (17 simulated days unless given another) on a simulated
    /// clock and print what happened.
    Demo {
        #[arg(long, default_value = ".kindling/demo")]
        data_dir: PathBuf,
        /// The scenario to play (TOML; see shared/kindling-local/src/demo/scenario.toml, the
        /// default).
        #[arg(long)]
        scenario: Option<PathBuf>,
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
    /// The CRM sync: its health (`sync status`: backlog, last success, failures with reasons),
    /// or dead upserts delivered again (`sync replay <id>` or `sync replay --dead`).
    Sync {
        #[command(subcommand)]
        command: SyncCommand,
        #[arg(long, default_value = ".kindling", global = true)]
        data_dir: PathBuf,
        /// Print as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The program as a scenario sheet: one row per sequence step (entry, stage, timing,
    /// subject with A/B variants, first line, CTA links, next action).
    Scenario {
        /// CSV (RFC 4180) for a spreadsheet instead of a Markdown table.
        #[arg(long, conflicts_with = "md")]
        csv: bool,
        /// A Markdown table (the default).
        #[arg(long)]
        md: bool,
    },
    /// Segments: their counts, definitions, latest changes and members; `rebuild` after a
    /// definition changed.
    #[command(visible_alias = "segments")]
    Segment {
        #[command(subcommand)]
        command: SegmentCommand,
        #[arg(long, default_value = ".kindling", global = true)]
        data_dir: PathBuf,
        /// Print as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Broadcasts (newsletters and segment mail): create, dry-run, approve, schedule, pause,
    /// resume, confirm, cancel, show, preview, and one sender run.
    #[command(visible_alias = "broadcasts")]
    Broadcast {
        #[command(subcommand)]
        command: Box<broadcast_commands::BroadcastCommand>,
        #[arg(long, default_value = ".kindling", global = true)]
        data_dir: PathBuf,
        /// Who acts (kept in the broadcast's history; the second-approver rule reads it).
        #[arg(long, global = true, env = "KINDLING_USER")]
        by: Option<String>,
        /// Print as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The KPIs: delivery, reaction, conversion and final figures of a range of days, per
    /// week or month, with breakdowns, the stage funnel, influence, list health, fatigue and
    /// the targets of [kpis].
    Kpis {
        /// First day, 2026-09-01 (default: 12 periods before --until).
        #[arg(long)]
        since: Option<String>,
        /// Last day (default: today in the program's zone).
        #[arg(long)]
        until: Option<String>,
        /// week (default) or month.
        #[arg(long)]
        period: Option<String>,
        /// Breakdowns: sequence, step, template, variant, broadcast, topic, segment, stage,
        /// form, campaign (repeat or separate with commas).
        #[arg(long, value_delimiter = ',')]
        by: Vec<String>,
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Print as JSON (what GET /admin/kpis returns).
        #[arg(long)]
        json: bool,
    },
    /// One self-contained HTML file (opens with no network): the KPI tree and funnel, the stage
    /// funnel, weekly trends, per step, per broadcast and A/B results, influence, list health,
    /// targets and the diagnosis, in the program's language, with charts.
    Report {
        /// Where to write it.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
        /// Instead of writing a file, print a one-time link to the report of the `kindling
        /// serve` at --api (valid 60 s; exchanged for a one-hour session cookie).
        #[arg(long)]
        open: bool,
        /// First day, 2026-09-01 (default: 12 periods before --until).
        #[arg(long)]
        since: Option<String>,
        /// Last day (default: today in the program's zone).
        #[arg(long)]
        until: Option<String>,
        /// week (default) or month.
        #[arg(long)]
        period: Option<String>,
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
    },
    /// The 15-point checklist of the program, scored from the config and the data, each item
    /// with its evidence and what to do next, and a verdict.
    Diagnose {
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
        /// Print as JSON (what GET /admin/diagnose returns).
        #[arg(long)]
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
pub(crate) enum SyncCommand {
    /// Backlog, last success, dead upserts and the newest failures with their reasons.
    Status,
    /// Put dead upserts back on the bus (and, locally, deliver them now).
    Replay {
        /// One dead upsert's id (`crm_...`, from `sync status`).
        #[arg(required_unless_present = "dead", conflicts_with = "dead")]
        id: Option<String>,
        /// Every dead upsert.
        #[arg(long)]
        dead: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum SendingCommand {
    /// Resume step mails after the breaker paused them (clean the list first); counting
    /// restarts at the next hour.
    Resume {
        /// Why it is safe now, kept with the resume.
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum SegmentCommand {
    /// Every segment with its member count.
    List,
    /// A segment's definition, member count and latest entries and departures.
    Show { segment: String },
    /// A segment's members, with when each entered.
    Members { segment: String },
    /// Re-evaluate every lead's segments under the current definitions: lists who enters and
    /// who leaves; members already in are not announced again.
    Rebuild {
        /// Only list the moves.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum LeadCommand {
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
    /// Record where sales stands with a lead (working, opportunity, won, lost, disqualified);
    /// sequences with the `sales_marked` exit goal stop mailing it.
    Mark {
        /// The lead's id or email address.
        lead: String,
        /// working, opportunity, won, lost or disqualified.
        status: String,
        #[arg(long)]
        note: Option<String>,
        /// The deal's amount (with opportunity or won): 1500000 or 1234.50.
        #[arg(long)]
        amount: Option<String>,
        /// Its ISO 4217 currency (default: [kpis] currency).
        #[arg(long)]
        currency: Option<String>,
        #[arg(long, default_value = ".kindling")]
        data_dir: PathBuf,
    },
}
