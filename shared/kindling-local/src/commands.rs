//! What each `kindling` command does, given its arguments.

use anyhow::Context;
use kindling::config::Config;
use kindling::system::{SystemClock, UuidIds};
use kindling_local::{check, demo, keys, server, LocalApp};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens the local store of `data_dir` for inspection (no server, no scheduler).
pub(crate) fn open_store(config: Config, data_dir: &std::path::Path) -> anyhow::Result<LocalApp> {
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

pub(crate) fn load_config(dir: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(dir).map_err(|e| anyhow::anyhow!("invalid configuration:\n{e}"))
}

/// `kindling check`: validates the configuration; exits 1 with file:line messages.
pub async fn check(config_dir: &Path) -> anyhow::Result<()> {
    let check::Report {
        config,
        problems,
        warnings,
    } = check::check(config_dir);
    for w in &warnings {
        eprintln!("{w}");
    }
    if problems.is_empty() {
        let c = config.context("no configuration")?;
        println!(
                    "{}: ok ({} scoring rules, {} fit rules, {} triggers, {} segments, {} stages, {} forms, {} sequences, {} templates)",
                    config_dir.display(),
                    c.scoring.rules.len(),
                    c.scoring.fit_rules.len(),
                    c.triggers.len(),
                    c.segments.len(),
                    c.stages.len(),
                    c.forms.len(),
                    c.sequences.len(),
                    c.templates.all().count()
                );
        Ok(())
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("{} problem(s) in {}", problems.len(), config_dir.display());
        std::process::exit(1);
    }
}

/// `kindling demo`: plays a scenario and prints the timeline and summary.
pub async fn demo(
    config_dir: &Path,
    data_dir: PathBuf,
    scenario: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let config = load_config(config_dir)?;
    let text = match &scenario {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => demo::scenario::DEFAULT.to_owned(),
    };
    let scenario = demo::scenario::Scenario::parse(&text)?;
    let summary = demo::run(config, &scenario, &data_dir, !json).await?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        demo::print_summary(&summary, &data_dir);
        demo::print_crm(&summary);
    }
    Ok(())
}

/// `kindling preview`: the exact mail a step makes for a lead.
pub async fn preview(
    config_dir: &Path,
    sequence: String,
    step: u32,
    lead: String,
    data_dir: PathBuf,
    out: Option<PathBuf>,
    raw: bool,
) -> anyhow::Result<()> {
    let config = load_config(config_dir)?;
    let app = if data_dir.join("kindling.db").exists() {
        open_store(config, &data_dir)?
    } else {
        preview_app(config)?
    };
    let p = kindling_local::preview::preview(&app, &sequence, step, &lead).await?;
    if !p.stored_lead {
        eprintln!(
            "note: no lead {lead} in {}: a sample lead with only this address (fallbacks show)",
            data_dir.display()
        );
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

/// `kindling ab`: where each A/B test stands.
pub async fn ab(config_dir: &Path, data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
    let report = kindling::sequences::ab_report(&app.kindling.sequences()).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", kindling_local::inspect::ab_text(&report));
    }
    Ok(())
}

/// `kindling scenario`: the program as a scenario sheet, Markdown or CSV.
pub fn scenario(config_dir: &Path, csv: bool) -> anyhow::Result<()> {
    let config = load_config(config_dir)?;
    let rows = kindling::admin::scenario::scenario_sheet(&config);
    if csv {
        print!("{}", kindling::admin::scenario::to_csv(&rows));
    } else {
        print!("{}", kindling::admin::scenario::to_markdown(&rows));
        println!("\n## Hand-off to sales\n");
        for line in kindling::admin::handoff_rule::handoff_rule(&config) {
            println!("- {line}");
        }
    }
    Ok(())
}

/// `kindling rescore`: rescores every lead under the current rules (or previews it).
pub async fn rescore(
    config_dir: &Path,
    data_dir: PathBuf,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    let app = open_store(load_config(config_dir)?, &data_dir)?;
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

/// `kindling serve`: the local server, bus and scheduler.
pub async fn serve(
    config_dir: &Path,
    port: u16,
    data_dir: PathBuf,
    public_url: Option<String>,
    site: PathBuf,
    tick_seconds: u64,
) -> anyhow::Result<()> {
    let mut config = load_config(config_dir)?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    let public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
    kindling::program::check_public_url(&public_url)
        .map_err(|why| anyhow::anyhow!("--public-url: {why}"))?;
    config.program.public_url = public_url.trim_end_matches('/').to_owned();
    kindling_local::app::announce_public_url(&data_dir, &config.program.public_url)
        .with_context(|| format!("cannot write to {}", data_dir.display()))?;
    let keys = keys::load_or_create(&data_dir)?;
    let mut app = LocalApp::open(
        &data_dir,
        config,
        keys,
        Arc::new(SystemClock),
        Arc::new(UuidIds),
        true,
    )?;
    app.route_limits = true;
    let site = site.is_dir().then_some(site);
    server::serve(
        app,
        listener,
        site,
        std::time::Duration::from_secs(tick_seconds.max(1)),
    )
    .await
}
