//! `kindling demo`: a scripted scenario over 17 simulated days, played through the same HTTP
//! entry logic, bus, scheduler and stores as `kindling serve`, on a simulated clock that the
//! scheduler ticks every minute. It prints a timeline and a summary (JSON with `--json`).

use crate::app::LocalApp;
use crate::db::Db;
use anyhow::{bail, Context};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use kindling::alerts::ports::{Alert, Notifier};
use kindling::config::Config;
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::message::MessageKey;
use kindling::ports::Clock;
use kindling::sending::ledger::SendState;
use kindling::sending::schedule::resolve_local;
use kindling::system::UuidIds;
use kindling::testing::ManualClock;
use kindling::token::{Claim, SigningKeys};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};

struct Person {
    email: &'static str,
    name: &'static str,
    company: &'static str,
    title: &'static str,
    zone: &'static str,
    language: &'static str,
    visitor: &'static str,
}

const PEOPLE: [Person; 4] = [
    Person {
        email: "sato@kaisha-a.co.jp",
        name: "佐藤 太郎",
        company: "株式会社A製作所",
        title: "営業本部長",
        zone: "Asia/Tokyo",
        language: "ja",
        visitor: "v-sato-laptop",
    },
    Person {
        email: "tanaka@kaisha-b.co.jp",
        name: "田中 花子",
        company: "B商事株式会社",
        title: "マーケティング担当",
        zone: "Asia/Tokyo",
        language: "ja",
        visitor: "v-tanaka-phone",
    },
    Person {
        email: "john.smith@acme-corp.com",
        name: "John Smith",
        company: "Acme Corp",
        title: "VP Sales",
        zone: "America/New_York",
        language: "en",
        visitor: "v-smith-desktop",
    },
    Person {
        email: "suzuki@kaisha-c.co.jp",
        name: "鈴木 一郎",
        company: "Cシステム株式会社",
        title: "情報システム部",
        zone: "Asia/Tokyo",
        language: "ja",
        visitor: "v-suzuki-laptop",
    },
];
const SATO: usize = 0;
const TANAKA: usize = 1;
const SMITH: usize = 2;
const SUZUKI: usize = 3;

#[derive(Clone, Copy)]
enum Act {
    /// kindling.js page view from the person's browser.
    Visit(&'static str),
    /// A form submission from the person's browser.
    Submit(&'static str),
    /// kindling.js `form_start`: the person typed into a form (and may never submit it).
    StartForm(&'static str, &'static str),
    /// Opening the mail of a document_followup step.
    Open(u32),
    /// Apple Mail Privacy Protection's proxy fetching the mail's images on delivery.
    ProxyOpen(u32),
    /// Clicking link `n` of a document_followup step's mail.
    Click(u32, u16),
    /// Following the unsubscribe link (a page; changes nothing).
    UnsubscribePage,
    /// One-click unsubscribe (RFC 8058 POST).
    Unsubscribe,
}

/// When the scenario starts: Wednesday 2026-10-28, 00:00 UTC (09:00 in Tokyo).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 28, 0, 0, 0)
        .single()
        .unwrap_or_default()
}
const DAYS: i64 = 17;

fn script() -> Vec<(usize, &'static str, Act)> {
    use Act::*;
    vec![
        // Sato browses anonymously, then downloads the white paper: his earlier visits count.
        (SATO, "2026-10-28 10:05", Visit("/")),
        (SATO, "2026-10-28 10:07", Visit("/pricing.html")),
        (SATO, "2026-10-28 10:12", Submit("whitepaper")),
        (SATO, "2026-10-28 10:40", Open(0)),
        (SATO, "2026-10-28 10:41", Click(0, 0)),
        // Tanaka downloads late at night: her thank-you mail waits for 09:00.
        (TANAKA, "2026-10-28 23:30", Submit("whitepaper")),
        // Her iPhone's Mail prefetches the images through Apple's proxy: kept, scores nothing.
        (TANAKA, "2026-10-29 09:01", ProxyOpen(0)),
        (TANAKA, "2026-10-29 12:10", Open(0)),
        // Smith, in New York, downloads late in the evening, days before DST ends (Nov 1).
        (SMITH, "2026-10-29 23:15", Submit("whitepaper")),
        (SMITH, "2026-10-30 09:30", Open(0)),
        // Suzuki signs up for the seminar, then downloads: the 1-per-24h cap delays the second mail.
        (SUZUKI, "2026-10-30 10:00", Submit("seminar")),
        (SUZUKI, "2026-10-30 10:30", Submit("whitepaper")),
        // Sato reads the day-3 mail and returns to pricing twice: he turns hot, sales is alerted.
        (SATO, "2026-10-31 10:20", Open(1)),
        (SATO, "2026-10-31 10:22", Click(1, 1)),
        (SATO, "2026-10-31 10:23", Visit("/pricing.html")),
        // His third pricing view in 7 days: trigger pricing_interest invites him to a pricing
        // consultation and tells sales why (a trigger alert, not a second hot alert).
        (SATO, "2026-11-02 14:00", Visit("/pricing.html")),
        (SATO, "2026-11-02 14:05", Submit("consultation")),
        // Tanaka's mail scanner fetches the unsubscribe link (nothing happens); then she unsubscribes.
        (TANAKA, "2026-11-01 09:01", UnsubscribePage),
        (TANAKA, "2026-11-02 08:00", Open(1)),
        (TANAKA, "2026-11-02 08:05", Unsubscribe),
        (SMITH, "2026-11-06 09:15", Open(2)),
        (SMITH, "2026-11-06 09:16", Click(2, 0)),
        // Smith starts the consultation request and leaves: an hour later trigger
        // application_abandoned enrolls him in the follow-up, which waits for the 1-per-24h cap
        // (he had a mail at 09:00) and goes out once, however often he comes back.
        (
            SMITH,
            "2026-11-06 09:20",
            StartForm("/apply.html", "consultation"),
        ),
        (
            SMITH,
            "2026-11-09 10:00",
            StartForm("/apply.html", "consultation"),
        ),
        // Tanaka (unsubscribed) looks at the cancellation page: support is alerted, no mail.
        (TANAKA, "2026-11-10 15:00", Visit("/cancel.html")),
        // Suzuki never opens the document mails: after three unopened mails, trigger
        // not_opening tries a different angle (see the timeline on Nov 5).
    ]
}

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

/// The machine-readable result.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub leads: Vec<LeadSummary>,
    pub emails_sent: usize,
    pub emails: Vec<MailSummary>,
    pub alerts: Vec<AlertSummary>,
    pub checks: Checks,
}

#[derive(Debug, Serialize)]
pub struct LeadSummary {
    pub id: String,
    pub email: String,
    pub time_zone: String,
    pub score: i64,
    pub temperature: String,
    pub emails_received: usize,
    /// Hot-lead alerts.
    pub alerts: usize,
    /// Alerts raised by triggers (sales or support).
    pub trigger_alerts: usize,
    /// Triggers that fired for this lead, with how often.
    pub triggers: Vec<(String, u32)>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub emails_after_unsubscribe: usize,
}

#[derive(Debug, Serialize)]
pub struct MailSummary {
    pub to: String,
    pub sequence: String,
    pub template: String,
    pub step: u32,
    pub sent_at: DateTime<Utc>,
    pub local_time: String,
    pub in_quiet_hours: bool,
}

#[derive(Debug, Serialize)]
pub struct AlertSummary {
    pub lead_id: String,
    pub email: String,
    pub audience: String,
    pub trigger: Option<String>,
    pub score: i64,
    pub at: DateTime<Utc>,
}

/// The scenario's promises, checked against what was stored.
#[derive(Debug, Serialize)]
pub struct Checks {
    pub hot_leads: usize,
    pub every_hot_lead_alerted_exactly_once: bool,
    /// No (lead, sequence, step) mail went out twice and no trigger fired twice for a lead.
    pub no_retargeting_twice: bool,
    pub no_mail_after_unsubscribe: bool,
    pub no_mail_in_quiet_hours: bool,
}

fn zone(p: &Person) -> Tz {
    p.zone.parse().unwrap_or(Tz::Asia__Tokyo)
}

fn at_local(p: &Person, s: &str) -> anyhow::Result<DateTime<Utc>> {
    let ndt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .with_context(|| format!("bad script time {s}"))?;
    Ok(resolve_local(zone(p), ndt))
}

fn local_str(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// Runs the scenario in `data_dir` (wiped first) and returns the summary.
pub async fn run(config: Config, data_dir: &Path, print_timeline: bool) -> anyhow::Result<Summary> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .with_context(|| format!("cannot clear {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(data_dir)?;
    let clock = Arc::new(ManualClock::new(start()));
    let keys = SigningKeys::new(vec![(
        "demo".into(),
        b"kindling-demo-signing-key-not-for-production".to_vec(),
    )])?;
    let db = Db::open(&data_dir.join("kindling.db"))?;
    let notifier = Arc::new(Recording {
        inner: Arc::new(crate::alerts::JsonlNotifier::new(
            data_dir.join("alerts.jsonl"),
            false,
        )),
        seen: Mutex::new(Vec::new()),
    });
    let mailer = Arc::new(crate::outbox::OutboxMailer::new(
        data_dir.join("outbox"),
        clock.clone(),
    ));
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

    let mut script: Vec<(DateTime<Utc>, usize, Act)> = script()
        .into_iter()
        .map(|(who, t, act)| Ok((at_local(&PEOPLE[who], t)?, who, act)))
        .collect::<anyhow::Result<_>>()?;
    script.sort_by_key(|(t, _, _)| *t);
    let mut next = 0;
    let mut alerts_printed = 0;
    let say = |t: DateTime<Utc>, who: &Person, text: String| {
        if print_timeline {
            println!("{}  {:<26} {text}", local_str(t, zone(who)), who.email);
        }
    };
    if print_timeline {
        println!(
            "Kindling demo: {DAYS} simulated days from {} UTC; scheduler every minute\n",
            start().format("%Y-%m-%d %H:%M")
        );
    }

    let end = start() + Duration::days(DAYS);
    while clock.now() < end {
        let now = clock.now();
        while next < script.len() && script[next].0 <= now {
            let (_, who, act) = script[next];
            let text = perform(&app, &PEOPLE[who], act).await?;
            say(now, &PEOPLE[who], text);
            next += 1;
        }
        app.pump().await?;
        let report = app.tick().await?;
        for m in &report.sent {
            let p = PEOPLE
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
        for e in &report.ended {
            let lead = app
                .kindling
                .stores
                .leads
                .get_lead(&e.lead_id)
                .await?
                .context("lead vanished")?;
            let p = PEOPLE
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
            let p = PEOPLE
                .iter()
                .find(|p| p.email == a.email.as_str())
                .context("alert for an unknown person")?;
            let text = match &a.trigger {
                None => format!(
                    "🔥 SALES ALERT: hot at score {} (follow up by {})",
                    a.score,
                    local_str(a.follow_up_by, zone(p))
                ),
                Some(t) => format!(
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
        clock.advance(Duration::minutes(1));
    }
    let alerts = notifier
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    summarize(&app, &alerts).await
}

async fn lead_of(app: &LocalApp, p: &Person) -> anyhow::Result<kindling::leads::Lead> {
    let email = EmailAddress::parse(p.email)?;
    app.kindling
        .stores
        .leads
        .find_lead_by_email(&email)
        .await?
        .with_context(|| format!("no lead for {}", p.email))
}

async fn followup_key(app: &LocalApp, p: &Person, step: u32) -> anyhow::Result<MessageKey> {
    let lead = lead_of(app, p).await?;
    let enrollments = app
        .kindling
        .stores
        .enrollments
        .enrollments_of_lead(&lead.id)
        .await?;
    let e = enrollments
        .iter()
        .find(|e| e.sequence_id == "document_followup")
        .context("not enrolled")?;
    Ok(MessageKey::Step {
        lead_id: lead.id.clone(),
        enrollment_id: e.id.clone(),
        step,
    })
}

fn request(
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: String,
) -> anyhow::Result<http::Request<Bytes>> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("user-agent", "Mozilla/5.0 (demo)");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    Ok(b.body(Bytes::from(body))?)
}

async fn perform(app: &LocalApp, p: &Person, act: Act) -> anyhow::Result<String> {
    let keys = &app.kindling.keys;
    let now = app.kindling.clock.now();
    let (req, what) = match act {
        Act::Visit(path) => {
            let body = serde_json::json!({
                "visitor_id": p.visitor,
                "events": [{ "id": format!("pv{}", now.timestamp()), "type": "page_view", "url": format!("https://example.jp{path}"), "at": now, "tz": p.zone }]
            });
            (
                request("POST", "/t/events", Some("text/plain"), body.to_string())?,
                format!("visits {path}"),
            )
        }
        Act::StartForm(path, form) => {
            let body = serde_json::json!({
                "visitor_id": p.visitor,
                "events": [
                    { "id": format!("pv{}", now.timestamp()), "type": "page_view", "url": format!("https://example.jp{path}"), "at": now, "tz": p.zone },
                    { "id": format!("fs{}", now.timestamp()), "type": "form_start", "form_id": form, "url": format!("https://example.jp{path}"), "at": now }
                ]
            });
            (
                request("POST", "/t/events", Some("text/plain"), body.to_string())?,
                format!("visits {path}, starts form {form} and leaves without sending it"),
            )
        }
        Act::Submit(form) => {
            let fields = [
                ("email", p.email),
                ("name", p.name),
                ("company", p.company),
                ("title", p.title),
                ("time_zone", p.zone),
                ("language", p.language),
                ("visitor_id", p.visitor),
                ("consent", "on"),
            ];
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish();
            (
                request(
                    "POST",
                    &format!("/forms/{form}"),
                    Some("application/x-www-form-urlencoded"),
                    body,
                )?,
                format!("submits form {form}"),
            )
        }
        Act::Open(step) => {
            let token = keys.sign(&Claim::Open(followup_key(app, p, step).await?));
            (
                request("GET", &format!("/t/o/{token}"), None, String::new())?,
                format!("opens step {step} mail"),
            )
        }
        Act::ProxyOpen(step) => {
            let token = keys.sign(&Claim::Open(followup_key(app, p, step).await?));
            let mut req = request("GET", &format!("/t/o/{token}"), None, String::new())?;
            req.headers_mut().insert(
                http::header::USER_AGENT,
                http::HeaderValue::from_static("Mozilla/5.0"),
            );
            req.extensions_mut().insert(kindling::web::ClientInfo {
                ip: Some("17.58.101.3".into()),
            });
            (
                req,
                format!("Apple Mail's privacy proxy fetches step {step} mail's images (machine open: 0 points)"),
            )
        }
        Act::Click(step, link) => {
            let token = keys.sign(&Claim::Click(followup_key(app, p, step).await?, link));
            (
                request("GET", &format!("/t/c/{token}"), None, String::new())?,
                format!("clicks link {link} in step {step} mail"),
            )
        }
        Act::UnsubscribePage | Act::Unsubscribe => {
            let token = keys.sign(&Claim::Unsubscribe(lead_of(app, p).await?.id));
            if matches!(act, Act::UnsubscribePage) {
                (
                    request("GET", &format!("/u/{token}"), None, String::new())?,
                    "opens the unsubscribe page (no change)".to_owned(),
                )
            } else {
                let body = "List-Unsubscribe=One-Click".to_owned();
                (
                    request(
                        "POST",
                        &format!("/u/{token}"),
                        Some("application/x-www-form-urlencoded"),
                        body,
                    )?,
                    "unsubscribes (one click)".to_owned(),
                )
            }
        }
    };
    let res = app.http(req).await;
    if !(res.status().is_success() || res.status().is_redirection()) {
        bail!(
            "{} {what}: HTTP {} {}",
            p.email,
            res.status(),
            String::from_utf8_lossy(res.body())
        );
    }
    app.pump().await?;
    let lead = lead_of(app, p).await.ok();
    let score = lead
        .map(|l| format!("  [score {} {}]", l.score.total, l.score.temperature))
        .unwrap_or_default();
    Ok(format!("{what} -> {}{score}", res.status().as_u16()))
}

async fn summarize(app: &LocalApp, alerts: &[Alert]) -> anyhow::Result<Summary> {
    let k = &app.kindling;
    let mut leads = Vec::new();
    let mut emails = Vec::new();
    for id in k.stores.leads.list_lead_ids(None, 1000).await? {
        let lead = k
            .stores
            .leads
            .get_lead(&id)
            .await?
            .context("lead vanished")?;
        let tz = lead.zone(k.config.program.default_zone);
        let sent: Vec<_> = k
            .stores
            .sends
            .sends_of_lead(&id)
            .await?
            .into_iter()
            .filter(|s| s.state == SendState::Sent)
            .collect();
        let mut after_unsubscribe = 0;
        for s in &sent {
            let at = s.sent_at.unwrap_or(s.claimed_at);
            if lead.unsubscribed_at.is_some_and(|u| at > u) {
                after_unsubscribe += 1;
            }
            emails.push(MailSummary {
                to: lead.email.to_string(),
                sequence: s.sequence_id.clone(),
                template: s.template.clone(),
                step: s.key.as_step().map_or(0, |(_, step)| step),
                sent_at: at,
                local_time: local_str(at, tz),
                in_quiet_hours: k
                    .config
                    .sending
                    .quiet_hours
                    .contains(at.with_timezone(&tz).time()),
            });
        }
        leads.push(LeadSummary {
            id: id.to_string(),
            email: lead.email.to_string(),
            time_zone: tz.name().to_owned(),
            score: lead.score.total,
            temperature: lead.score.temperature.to_string(),
            emails_received: sent.len(),
            alerts: alerts
                .iter()
                .filter(|a| a.lead_id == id && a.trigger.is_none())
                .count(),
            trigger_alerts: alerts
                .iter()
                .filter(|a| a.lead_id == id && a.trigger.is_some())
                .count(),
            triggers: lead
                .triggers
                .iter()
                .map(|(t, s)| (t.clone(), s.fired))
                .collect(),
            unsubscribed_at: lead.unsubscribed_at,
            emails_after_unsubscribe: after_unsubscribe,
        });
    }
    emails.sort_by_key(|m| m.sent_at);
    let hot: Vec<_> = leads.iter().filter(|l| l.temperature == "hot").collect();
    let checks = Checks {
        hot_leads: hot.len(),
        every_hot_lead_alerted_exactly_once: hot.iter().all(|l| l.alerts == 1),
        no_retargeting_twice: {
            let mut seen = std::collections::HashSet::new();
            emails
                .iter()
                .all(|m| seen.insert((m.to.clone(), m.sequence.clone(), m.step)))
                && leads
                    .iter()
                    .all(|l| l.triggers.iter().all(|(_, n)| *n == 1))
        },
        no_mail_after_unsubscribe: leads.iter().all(|l| l.emails_after_unsubscribe == 0),
        no_mail_in_quiet_hours: emails.iter().all(|m| !m.in_quiet_hours),
    };
    Ok(Summary {
        emails_sent: emails.len(),
        leads,
        emails,
        alerts: alerts
            .iter()
            .map(|a| AlertSummary {
                lead_id: a.lead_id.to_string(),
                email: a.email.to_string(),
                audience: a.audience.as_str().to_owned(),
                trigger: a.trigger.clone(),
                score: a.score,
                at: a.at,
            })
            .collect(),
        checks,
    })
}

/// Prints the human summary.
pub fn print_summary(s: &Summary, data_dir: &Path) {
    println!("\nLeads:");
    for l in &s.leads {
        let unsub = l.unsubscribed_at.map(|_| "  unsubscribed").unwrap_or("");
        println!(
            "  {:<26} {:<17} score {:>3} {:<5} mails {}  hot alerts {}{unsub}",
            l.email, l.time_zone, l.score, l.temperature, l.emails_received, l.alerts
        );
        if !l.triggers.is_empty() {
            let fired: Vec<String> = l.triggers.iter().map(|(t, _)| t.clone()).collect();
            println!("  {:<26} triggers fired: {}", "", fired.join(", "));
        }
    }
    println!(
        "\nMails sent: {} (outbox: {})",
        s.emails_sent,
        data_dir.join("outbox").display()
    );
    println!(
        "Alerts: {} ({} hot, {} from triggers; log: {})",
        s.alerts.len(),
        s.alerts.iter().filter(|a| a.trigger.is_none()).count(),
        s.alerts.iter().filter(|a| a.trigger.is_some()).count(),
        data_dir.join("alerts.jsonl").display()
    );
    let c = &s.checks;
    let mark = |b: bool| if b { "yes" } else { "NO" };
    println!("\nChecks:");
    println!(
        "  hot leads: {}; each alerted exactly once: {}",
        c.hot_leads,
        mark(c.every_hot_lead_alerted_exactly_once)
    );
    println!(
        "  no retargeting mail or trigger twice: {}",
        mark(c.no_retargeting_twice)
    );
    println!(
        "  no mail after unsubscribe: {}",
        mark(c.no_mail_after_unsubscribe)
    );
    println!(
        "  no mail in quiet hours (lead's own zone): {}",
        mark(c.no_mail_in_quiet_hours)
    );
}
