//! The `kindling` command: serve, demo, check.

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
            let (config, problems) = check::check(&cli.config);
            if problems.is_empty() {
                let c = config.context("no configuration")?;
                println!(
                    "{}: ok ({} scoring rules, {} forms, {} sequences, {} templates)",
                    cli.config.display(),
                    c.rules.len(),
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
            config.program.public_url = public_url
                .unwrap_or_else(|| format!("http://{addr}"))
                .trim_end_matches('/')
                .to_owned();
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
