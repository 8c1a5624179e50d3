//! `kindling demo`: a scenario of timed steps ([`scenario`], `scenario.toml` by default) played
//! through the same HTTP entry logic, bus, scheduler and stores as `kindling serve`, on a
//! simulated clock that the scheduler ticks every minute. It prints a timeline and a summary
//! (JSON with `--json`).

mod crm;
mod newsletter;
mod perform;
pub mod scenario;
mod summary;

use crate::app::LocalApp;
use crate::db::Db;
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use kindling::alerts::ports::{Alert, Notifier};
use kindling::config::Config;
use kindling::error::PortError;
use kindling::ports::Clock;
use kindling::system::UuidIds;
use kindling::testing::ManualClock;
use kindling::token::SigningKeys;
use scenario::{Person, Scenario};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use summary::{print_summary, Summary};

/// A sales notifier that also remembers alerts for the timeline.
struct Recording {
    inner: Arc<dyn Notifier>,
    seen: Mutex<Vec<Alert>>,
}

#[async_trait]
impl Notifier for Recording {
    async fn notify(&self, alert: &Alert) -> Result<(), PortError> {
        self.inner.notify(alert).await?;
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(alert.clone());
        Ok(())
    }

    async fn notify_ops(&self, alert: &kindling::alerts::ports::OpsAlert) -> Result<(), PortError> {
        self.inner.notify_ops(alert).await
    }
}

fn local_str(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// Runs the scenario in `data_dir` (wiped first) and returns the summary.
pub async fn run(
    config: Config,
    scenario: &Scenario,
    data_dir: &Path,
    print_timeline: bool,
) -> anyhow::Result<Summary> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .with_context(|| format!("cannot clear {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(data_dir)?;
    let clock = Arc::new(ManualClock::new(scenario.start));
    let keys = SigningKeys::new(vec![(
        "demo".into(),
        b"kindling-demo-signing-key-not-for-production".to_vec(),
    )])?;
    let db = Db::open(&data_dir.join("kindling.db"))?;
    let mailer = Arc::new(crate::outbox::OutboxMailer::new(
        data_dir.join("outbox"),
        clock.clone(),
    ));
    let notifier = Arc::new(Recording {
        inner: Arc::new(
            crate::alerts::JsonlNotifier::new(data_dir.join("alerts.jsonl"), false)
                .mailing_owners(mailer.clone(), config.sender.from_address.clone()),
        ),
        seen: Mutex::new(Vec::new()),
    });
    let app = LocalApp::assemble(
        db,
        data_dir.to_path_buf(),
        config,
        keys,
        clock.clone(),
        Arc::new(UuidIds),
        mailer,
        notifier.clone(),
    );
    let (app, fake_crm) = crm::start(app).await?;

    let script = &scenario.steps;
    let people = &scenario.people;
    let mut next = 0;
    let mut alerts_printed = 0;
    let mut crm_printed = 0;
    let say = |t: DateTime<Utc>, who: &Person, text: String| {
        if print_timeline {
            println!("{}  {:<26} {text}", local_str(t, who.tz()), who.email);
        }
    };
    if print_timeline {
        println!(
            "Kindling demo: {} simulated days from {} UTC; scheduler every minute\n",
            scenario.days,
            scenario.start.format("%Y-%m-%d %H:%M")
        );
    }

    let end = scenario.end();
    let zone = app.kindling.config.program.default_zone;
    let mut prepared = vec![false; scenario.broadcasts.len()];
    while clock.now() < end {
        let now = clock.now();
        for (i, b) in scenario.broadcasts.iter().enumerate() {
            if !prepared[i] && newsletter::created_at(b, zone)? <= now {
                let line = newsletter::prepare(&app, b).await?;
                if print_timeline {
                    println!("{}  {:<26} {line}", local_str(now, zone), b.by);
                }
                prepared[i] = true;
            }
        }
        while next < script.len() && script[next].at <= now {
            let step = &script[next];
            let who = &people[step.who];
            let text = perform::perform(&app, scenario, who, &step.act).await?;
            say(now, who, text);
            next += 1;
        }
        app.pump().await?;
        let report = app.tick().await?;
        for m in &report.steps.sent {
            let p = people
                .iter()
                .find(|p| p.email == m.to.as_str())
                .context("mail to an unknown person")?;
            say(
                m.at,
                p,
                format!(
                    "✉  {} step {} sent: \"{}\"",
                    m.sequence_id,
                    m.key.as_step().map_or(0, |(_, step)| step),
                    m.subject
                ),
            );
        }
        for m in &report.broadcasts.sent {
            let p = people
                .iter()
                .find(|p| p.email == m.to.as_str())
                .context("mail to an unknown person")?;
            say(
                m.at,
                p,
                format!("📰 broadcast {} sent: \"{}\"", m.broadcast_id, m.subject),
            );
        }
        for e in &report.steps.ended {
            let lead = app
                .kindling
                .stores
                .leads
                .get_lead(&e.lead_id)
                .await?
                .context("lead vanished")?;
            let p = people
                .iter()
                .find(|p| p.email == lead.email.as_str())
                .context("unknown person")?;
            say(now, p, format!("⏹  {} ended: {}", e.sequence_id, e.reason));
        }
        let seen = notifier
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for a in &seen[alerts_printed..] {
            let p = people
                .iter()
                .find(|p| p.email == a.email.as_str())
                .context("alert for an unknown person")?;
            use kindling::scoring::events::FollowUpKind;
            let to = a.owner.as_ref().map_or("the sales team", |o| o.id.as_str());
            let text = match (&a.follow_up, &a.trigger) {
                (Some(FollowUpKind::Reminder), _) => format!(
                    "⏰ REMINDER to {to}: not followed up yet (due {})",
                    local_str(a.follow_up_by, p.tz())
                ),
                (Some(FollowUpKind::Escalation), _) => format!(
                    "🚨 ESCALATION to {to}: nobody followed up by {}",
                    local_str(a.follow_up_by, p.tz())
                ),
                (None, None) => format!(
                    "🔥 SALES ALERT: hot at score {}, to {} (follow up by {})",
                    a.score,
                    to,
                    local_str(a.follow_up_by, p.tz())
                ),
                (None, Some(t)) => format!(
                    "📣 {} ALERT from trigger {t}: {}",
                    a.audience.as_str().to_uppercase(),
                    a.reasons
                        .first()
                        .and_then(|r| r.split_once(": "))
                        .map_or("", |(_, why)| why)
                ),
            };
            say(a.at, p, text);
        }
        alerts_printed = seen.len();
        if let Some(c) = &fake_crm {
            for d in &c.deliveries()[crm_printed..] {
                let u: kindling::crm::events::CrmUpsert = serde_json::from_slice(&d.body)?;
                use kindling::crm::events::Change;
                if let Some(p) = people.iter().find(|p| p.email == u.email) {
                    if u.changes.contains(&Change::Hot) {
                        let owner = u.owner.as_deref().unwrap_or("no owner");
                        say(
                            now,
                            p,
                            format!(
                                "🔄 CRM upsert: hot, owner {owner} ({} record(s) in the CRM)",
                                c.contacts()
                            ),
                        );
                    }
                }
            }
            crm_printed = c.deliveries().len();
        }
        clock.advance(Duration::minutes(1));
    }
    let alerts = notifier
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut summary = summary::summarize(&app, &alerts).await?;
    if let Some(c) = &fake_crm {
        summary.crm = Some(crm::summarize(&app, c).await?);
    }
    Ok(summary)
}

/// The CRM lines of the summary, if the program syncs one.
pub fn print_crm(s: &Summary) {
    if let Some(c) = &s.crm {
        crm::print(c);
    }
}
