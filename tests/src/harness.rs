//! Runs the local pipeline in a temporary directory on a manual clock, with a mailer and a
//! notifier that can be told to fail, so tests can drive every path deterministically.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::Activity;
use kindling::alerts::ports::{Alert, Notifier};
use kindling::app::ScheduleReport;
use kindling::config::Config;
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::leads::Lead;
use kindling::ports::Clock;
use kindling::sending::ledger::SendRecord;
use kindling::sending::ports::{MailError, Mailer, OutgoingMail};
use kindling::sequences::Enrollment;
use kindling::testing::{ManualClock, SequentialIds};
use kindling::token::SigningKeys;
use kindling_local::db::Db;
use kindling_local::outbox::OutboxMailer;
use kindling_local::LocalApp;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// The repository's `config/` directory.
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// The shipped configuration.
pub fn shipped_config() -> Config {
    Config::load(&config_dir()).unwrap()
}

/// The shipped configuration without its triggers: for tests that count a sequence's mails to
/// leads who never open them (trigger `not_opening` would add a different-angle mail).
pub fn config_without_triggers() -> Config {
    let mut c = shipped_config();
    c.triggers.clear();
    c
}

/// The shipped configuration with `kindling.toml` edited by `edit`.
pub fn config_with(edit: impl FnOnce(String) -> String) -> Config {
    let dir = config_dir();
    let toml = edit(std::fs::read_to_string(dir.join("kindling.toml")).unwrap());
    let templates = std::fs::read_dir(dir.join("templates"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    Config::from_sources("kindling.toml", &toml, "templates", templates)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `kindling.toml` without the shipped program's `[[reps]]`, `[[routing]]` and the rep it
/// escalates to (a test adds its own).
pub fn without_shipped_routing(toml: &str) -> String {
    let start = toml.find("[[reps]]").expect("the shipped program has reps");
    let end = toml[start..]
        .find("# Buying stages")
        .map_or(toml.len(), |i| start + i);
    format!("{}{}", &toml[..start], &toml[end..]).replace("escalate_to = \"kobayashi\"\n", "")
}

/// The signing keys of every test app.
pub fn test_keys() -> SigningKeys {
    SigningKeys::new(vec![("t1".into(), vec![42; 32])]).unwrap()
}

/// A mailer that writes the real outbox, counts sends, and fails as told first.
pub struct TestMailer {
    outbox: OutboxMailer,
    pub failures: Mutex<VecDeque<MailError>>,
    pub sent: Mutex<Vec<OutgoingMail>>,
}

impl TestMailer {
    /// Makes the next `n` sends fail with `e`.
    pub fn fail_next(&self, n: usize, e: MailError) {
        let mut f = self.failures.lock().unwrap();
        for _ in 0..n {
            f.push_back(e.clone());
        }
    }

    /// How many mails were accepted.
    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

#[async_trait]
impl Mailer for TestMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        if let Some(e) = self.failures.lock().unwrap().pop_front() {
            return Err(e);
        }
        let id = self.outbox.send(mail).await?;
        self.sent.lock().unwrap().push(mail.clone());
        Ok(id)
    }
}

/// A notifier that records alerts and fails as told first.
#[derive(Default)]
pub struct TestNotifier {
    pub failures: Mutex<FailFirst>,
    pub alerts: Mutex<Vec<Alert>>,
    pub ops: Mutex<Vec<kindling::alerts::ports::OpsAlert>>,
}

#[async_trait]
impl Notifier for TestNotifier {
    async fn notify(&self, alert: &Alert) -> Result<(), PortError> {
        if self.failures.lock().unwrap().fires() {
            return Err(PortError::new("notifier", "simulated outage"));
        }
        self.alerts.lock().unwrap().push(alert.clone());
        Ok(())
    }

    async fn notify_ops(&self, alert: &kindling::alerts::ports::OpsAlert) -> Result<(), PortError> {
        if self.failures.lock().unwrap().fires() {
            return Err(PortError::new("notifier", "simulated outage"));
        }
        self.ops.lock().unwrap().push(alert.clone());
        Ok(())
    }
}

/// A local Kindling in a temporary directory.
/// The webhook and hook secret of [`TestApp::with_crm`].
pub const CRM_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub use kindling::crm::webhook::Secret;
pub use kindling_local::fake_crm::FakeCrm;

pub struct TestApp {
    pub app: LocalApp,
    pub clock: Arc<ManualClock>,
    pub mailer: Arc<TestMailer>,
    pub notifier: Arc<TestNotifier>,
    pub dir: TempDir,
}

/// 10:00 in Tokyo on Monday 2026-11-02.
/// A one-language (ja) broadcast content with a fallback and one tracked link.
pub fn broadcast_content() -> kindling::broadcasts::content::Content {
    kindling::broadcasts::content::Content::from_files(
        "test",
        &[
            (
                "ja.txt".into(),
                "Subject: 12月のお知らせ\n\n{{ lead.name or \"ご担当者\" }} 様\n{{ link(\"https://example.jp/news\") }}\n".into(),
            ),
            (
                "ja.html".into(),
                "<p>{{ lead.name or \"ご担当者\" }} 様</p><a href=\"{{ link(\"https://example.jp/news\") }}\">news</a>".into(),
            ),
        ],
    )
    .unwrap()
}

pub fn monday_10_jst() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap()
}

impl TestApp {
    /// With the shipped configuration, at [`monday_10_jst`].
    pub fn new() -> Self {
        Self::with_config(shipped_config(), monday_10_jst())
    }

    /// With a configuration and a start time; without its `[crm]` (see [`TestApp::with_crm`]).
    pub fn with_config(mut config: Config, at: DateTime<Utc>) -> Self {
        config.crm = None;
        Self::assembled(config, at)
    }

    /// With the configuration's `[crm]`: its upserts go to a [`FakeCrm`] on loopback, signed
    /// with [`CRM_SECRET`], and its source `salesforce` signs hooks with [`CRM_SECRET`] too.
    pub async fn with_crm(mut config: Config, at: DateTime<Utc>) -> (Self, FakeCrm) {
        let secret = Secret::parse(CRM_SECRET).unwrap();
        let crm = config.crm.as_mut().expect("a [crm] section");
        crm.read_secrets(|_| Some(CRM_SECRET.to_owned()));
        let mut t = Self::assembled(config, at);
        let fake = FakeCrm::start(secret.clone(), t.clock.clone())
            .await
            .unwrap();
        let webhook =
            kindling_local::crm::Webhook::new(Some(fake.url.clone()), secret, t.clock.clone());
        t.app = t.app.with_crm_webhook(webhook);
        (t, fake)
    }

    fn assembled(config: Config, at: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(at));
        let mailer = Arc::new(TestMailer {
            outbox: OutboxMailer::new(dir.path().join("outbox"), clock.clone()),
            failures: Mutex::new(VecDeque::new()),
            sent: Mutex::new(Vec::new()),
        });
        let notifier = Arc::new(TestNotifier::default());
        let db = Db::open(&dir.path().join("kindling.db")).unwrap();
        // Scenario tests count what each scheduled run sends: the day-0 mail waits for one.
        // `first_mail` turns the immediate path on ([`TestApp::sending_at_once`]).
        let app = LocalApp::assemble(
            db,
            dir.path().to_path_buf(),
            config,
            test_keys(),
            clock.clone(),
            Arc::new(SequentialIds::new("id")),
            mailer.clone(),
            notifier.clone(),
        )
        .without_immediate_sends();
        Self {
            app,
            clock,
            mailer,
            notifier,
            dir,
        }
    }

    /// Sends a step due at enrollment at once, as `kindling serve` and AWS do.
    pub fn sending_at_once(mut self) -> Self {
        self.app.immediate = true;
        self
    }

    /// Now, on the app's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Sends a request through the HTTP entry logic, then delivers what it published.
    pub async fn request(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: impl Into<Bytes>,
    ) -> http::Response<Bytes> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("user-agent", "test-agent/1.0");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let mut req = b.body(body.into()).unwrap();
        req.extensions_mut().insert(kindling::web::ClientInfo {
            ip: Some("192.0.2.10".into()),
            ..Default::default()
        });
        let res = self.app.http(req).await;
        self.app.pump().await.unwrap();
        res
    }

    /// A GET from a given agent (none: no header) and address, then what it published delivered.
    pub async fn get_as(
        &self,
        path: &str,
        user_agent: Option<&str>,
        ip: &str,
    ) -> http::Response<Bytes> {
        let mut b = http::Request::builder().method("GET").uri(path);
        if let Some(ua) = user_agent {
            b = b.header("user-agent", ua);
        }
        let mut req = b.body(Bytes::new()).unwrap();
        req.extensions_mut().insert(kindling::web::ClientInfo {
            ip: Some(ip.to_owned()),
            ..Default::default()
        });
        let res = self.app.http(req).await;
        self.app.pump().await.unwrap();
        res
    }

    /// Follows a tracked link (`/t/c/...`) as a browser with `user_agent` at `ip` would, then
    /// delivers what it published.
    pub async fn click_as(&self, path: &str, user_agent: &str, ip: &str) {
        assert_eq!(self.get_as(path, Some(user_agent), ip).await.status(), 302);
    }

    /// Submits a form as a browser would (urlencoded).
    pub async fn submit(&self, form: &str, fields: &[(&str, &str)]) -> http::Response<Bytes> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(
            "POST",
            &format!("/forms/{form}"),
            Some("application/x-www-form-urlencoded"),
            body,
        )
        .await
    }

    /// One scheduler run at the current time.
    pub async fn tick(&self) -> ScheduleReport {
        self.app.tick().await.unwrap()
    }

    /// Runs the scheduler every `step` until `until`, collecting every report.
    pub async fn run_until(&self, until: DateTime<Utc>, step: Duration) -> Vec<ScheduleReport> {
        let mut reports = Vec::new();
        while self.now() < until {
            reports.push(self.tick().await);
            self.clock.advance(step);
        }
        reports
    }

    /// Rows in every table: what "nothing was written" is checked against.
    pub fn counts(&self) -> Vec<(String, i64)> {
        let conn = self.app.store.db().conn();
        [
            "leads",
            "visitors",
            "activities",
            "enrollments",
            "sends",
            "suppressions",
            "alerts",
            "bus",
            "dead_letters",
            "broadcasts",
            "broadcast_recipients",
        ]
        .iter()
        .map(|t| {
            (
                (*t).to_owned(),
                conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                    .unwrap(),
            )
        })
        .collect()
    }

    /// The lead with this address (it must exist).
    /// The broadcast `id` as stored (it must exist).
    pub async fn broadcast(
        &self,
        id: &kindling::ids::BroadcastId,
    ) -> kindling::broadcasts::Broadcast {
        self.app
            .kindling
            .stores
            .broadcasts
            .get_broadcast(id)
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn lead(&self, email: &str) -> Lead {
        let email = EmailAddress::parse(email).unwrap();
        self.app
            .kindling
            .stores
            .leads
            .find_lead_by_email(&email)
            .await
            .unwrap()
            .unwrap()
    }

    /// Every activity of the lead with this address, its browsers' included.
    pub async fn activities(&self, email: &str) -> Vec<Activity> {
        let id = self.lead(email).await.id;
        kindling::scoring::lead_activities(&self.app.kindling.scoring(), &id)
            .await
            .unwrap()
    }

    /// Every enrollment of the lead with this address.
    pub async fn enrollments(&self, email: &str) -> Vec<Enrollment> {
        let id = self.lead(email).await.id;
        self.app
            .kindling
            .stores
            .enrollments
            .enrollments_of_lead(&id)
            .await
            .unwrap()
    }

    /// Every send record of the lead with this address.
    pub async fn sends(&self, email: &str) -> Vec<SendRecord> {
        let id = self.lead(email).await.id;
        self.app
            .kindling
            .stores
            .sends
            .sends_of_lead(&id)
            .await
            .unwrap()
    }

    /// Every `.eml` in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<Vec<u8>> {
        let dir = self.dir.path().join("outbox");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        names.sort();
        names.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

/// Form fields of a typical Japanese lead who consents.
pub fn lead_fields<'a>(email: &'a str, zone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("name", "佐藤 太郎"),
        ("company", "株式会社A"),
        ("time_zone", zone),
        ("consent", "on"),
    ]
}

/// A fault that fires on the first `n` calls, then never again.
#[derive(Debug, Default)]
pub struct FailFirst(AtomicUsize);

impl FailFirst {
    /// Fails the next `n` calls.
    pub fn new(n: usize) -> Self {
        Self(AtomicUsize::new(n))
    }

    /// True if this call must fail.
    pub fn fires(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// A bus that fails the first `n` publishes (after whatever the caller stored), then delivers.
pub struct FlakyBus {
    pub inner: Arc<dyn kindling::events::EventBus>,
    pub failures: FailFirst,
}

#[async_trait]
impl kindling::events::EventBus for FlakyBus {
    async fn publish(&self, events: &[kindling::events::Envelope]) -> Result<(), PortError> {
        if self.failures.fires() {
            return Err(PortError::new("bus", "PutEvents failed"));
        }
        self.inner.publish(events).await
    }
}
