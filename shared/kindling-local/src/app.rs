//! Wires the embedded adapters into one running Kindling: the same use cases and HTTP entry
//! logic as on AWS, over SQLite, the outbox, the alert log and the local bus.

use crate::alerts::JsonlNotifier;
use crate::bus::{Dispatched, LocalBus};
use crate::db::Db;
use crate::outbox::OutboxMailer;
use crate::ratelimit::{RateLimiter, BEACONS_PER_IP, BEACONS_PER_VISITOR, FORMS_PER_IP};
use crate::store::SqliteStore;
use bytes::Bytes;
use kindling::alerts::ports::Notifier;
use kindling::app::Stores;
use kindling::app::{handle_event, Kindling};
use kindling::app::{run_schedule, ScheduleReport};
use kindling::config::Config;
use kindling::error::PortError;
use kindling::ports::{Clock, Ids};
use kindling::router::{handle, Routes};
use kindling::sending::ports::Mailer;
use kindling::token::SigningKeys;
use kindling::web::ApiError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Enrollments handled per scheduler run.
pub const SEND_BUDGET: usize = 500;
/// Bus deliveries per pump, so a handler that keeps publishing cannot spin forever.
const PUMP_LIMIT: usize = 10_000;

/// The target `sync status` names while no webhook URL is set.
const NO_WEBHOOK: &str = "(no webhook URL: [crm] webhook_url or KINDLING_CRM_WEBHOOK_URL)";

/// The file of a data directory that holds the public URL its `kindling serve` runs under.
pub const PUBLIC_URL_FILE: &str = "public_url";

/// The public URL the data directory's server announced, if any.
pub fn served_public_url(data_dir: &Path) -> Option<String> {
    let url = std::fs::read_to_string(data_dir.join(PUBLIC_URL_FILE)).ok()?;
    let url = url.trim().trim_end_matches('/').to_owned();
    kindling::program::check_public_url(&url).ok().map(|()| url)
}

/// Records the public URL `kindling serve` runs under, for every other command on its store.
pub fn announce_public_url(data_dir: &Path, url: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(data_dir.join(PUBLIC_URL_FILE), format!("{url}\n"))
}

/// A running local Kindling.
#[derive(Clone)]
pub struct LocalApp {
    pub kindling: Kindling,
    pub store: Arc<SqliteStore>,
    pub bus: LocalBus,
    pub mailer: Arc<dyn Mailer>,
    pub notifier: Arc<dyn Notifier>,
    pub data_dir: PathBuf,
    /// Bearer token of the `/admin/` routes (IAM does this job in AWS).
    pub admin_token: Arc<String>,
    /// Per-address and per-visitor limits (API Gateway throttling does this job in AWS).
    pub limiter: Arc<RateLimiter>,
    /// One-time report links and report sessions ([`crate::report_session`]).
    pub report_sessions: Arc<crate::report_session::Sessions>,
    /// Also apply `[api]`'s per-route limits, for all clients together, as API Gateway does
    /// on AWS: `kindling serve` does; the in-process entry of tests and the demo does not (it
    /// runs many requests within one simulated instant).
    pub route_limits: bool,
    /// Where the bus delivers CRM upserts (`[crm]`); `None` without the section.
    pub crm: Option<crate::crm::Webhook>,
    /// The sync's ledger (what `sync status` reads).
    pub sync: crate::crm::LocalSync,
    /// Whether the pump sends a step due at enrollment at once (`sequence.step_due.v1`), as
    /// send-steps does on AWS; otherwise the scheduled run sends it.
    pub immediate: bool,
}

impl LocalApp {
    /// Opens the data directory: `kindling.db`, `outbox/`, `alerts.jsonl`.
    /// The links of every mail made on this store (the scheduler's, `broadcast run`'s, a
    /// preview's, a test send's) start with the public URL its `kindling serve` announced
    /// ([`PUBLIC_URL_FILE`]), else the program's.
    pub fn open(
        data_dir: &Path,
        mut config: Config,
        keys: SigningKeys,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn Ids>,
        print_alerts: bool,
    ) -> Result<Self, PortError> {
        if let Some(url) = served_public_url(data_dir) {
            config.program.public_url = url;
        }
        if let Some(crm) = config.crm.as_mut() {
            let problems = crm.read_secrets(|name| std::env::var(name).ok());
            if !problems.is_empty() {
                return Err(PortError::new("crm secret", problems.join("; ")));
            }
        }
        let db = Db::open(&data_dir.join("kindling.db"))?;
        let mailer = Arc::new(OutboxMailer::new(data_dir.join("outbox"), clock.clone()));
        let notifier = Arc::new(
            JsonlNotifier::new(data_dir.join("alerts.jsonl"), print_alerts)
                .mailing_owners(mailer.clone(), config.sender.from_address.clone()),
        );
        let admin_token = crate::keys::load_or_create_admin_token(data_dir)
            .map_err(|e| PortError::new("admin token", e))?;
        let mut app = Self::assemble(
            db,
            data_dir.to_path_buf(),
            config,
            keys,
            clock,
            ids,
            mailer,
            notifier,
        );
        app.admin_token = Arc::new(admin_token);
        if let Some(crm) = app.kindling.config.crm.clone() {
            let webhook =
                crate::crm::Webhook::of_program(&crm, data_dir, app.kindling.clock.clone())
                    .map_err(|e| PortError::new("crm webhook", format!("{e:#}")))?;
            app = app.with_crm_webhook(webhook);
        }
        Ok(app)
    }

    /// Assembles an app from parts (tests swap the mailer or notifier).
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        db: Db,
        data_dir: PathBuf,
        config: Config,
        keys: SigningKeys,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn Ids>,
        mailer: Arc<dyn Mailer>,
        notifier: Arc<dyn Notifier>,
    ) -> Self {
        let store = Arc::new(SqliteStore::new(db.clone()));
        let bus = LocalBus::new(db.clone(), clock.clone());
        let sync = crate::crm::LocalSync::new(db, clock.clone(), NO_WEBHOOK.to_owned());
        let kindling = Kindling {
            config: Arc::new(config),
            keys: Arc::new(keys),
            stores: Stores::from_one(store.clone()),
            bus: Arc::new(bus.clone()),
            clock,
            ids,
            test_mailer: Some(mailer.clone()),
            reports: Some(Arc::new(kindling::admin::page::Weekly(Arc::new(
                crate::reports::FolderReports {
                    dir: data_dir.join("reports"),
                },
            )))),
            sync: Some(Arc::new(sync.clone())),
        };
        Self {
            kindling,
            store,
            bus,
            mailer,
            notifier,
            data_dir,
            // Unguessable until `open` (or a test) sets the real one.
            admin_token: Arc::new(crate::keys::random_token()),
            limiter: Arc::new(RateLimiter::default()),
            report_sessions: Arc::default(),
            route_limits: false,
            crm: None,
            sync,
            immediate: true,
        }
    }

    /// Leaves steps due at enrollment to the scheduled run ([`LocalApp::pump`] takes their
    /// announcements and sends nothing): for tests that count what each run sends.
    pub fn without_immediate_sends(mut self) -> Self {
        self.immediate = false;
        self
    }

    /// Delivers CRM upserts to `webhook` (a test's receiver, or the program's).
    pub fn with_crm_webhook(mut self, webhook: crate::crm::Webhook) -> Self {
        let target = webhook.url.clone().unwrap_or_else(|| NO_WEBHOOK.to_owned());
        self.sync = self.sync.with_target(target);
        self.kindling.sync = Some(Arc::new(self.sync.clone()));
        self.crm = Some(webhook);
        self
    }

    /// Handles one HTTP request with every route; `/admin/` ones need the admin bearer token.
    pub async fn http(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        use crate::report_session::{self as report, PATH};
        // The report in a browser: a session cookie (or the token) instead of the token alone.
        let report_page = req.uri().path() == PATH && req.method() == http::Method::GET;
        if !report_page && req.uri().path().starts_with("/admin/") && !self.is_admin(&req) {
            return ApiError::unauthorized("admin routes need Authorization: Bearer <admin token>")
                .into_response();
        }
        if let Err(retry_after) = self.rate_limit(&req) {
            let mut res = ApiError::new(
                http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry later",
            )
            .into_response();
            if let Ok(v) = http::HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            return res;
        }
        if report_page {
            let admin = self.is_admin(&req);
            return report::report(self, req, admin).await;
        }
        if req.uri().path() == "/admin/report/link" && req.method() == http::Method::POST {
            return report::link(self);
        }
        handle(&self.kindling, Routes::All, req).await
    }

    /// The route's limit (with [`LocalApp::route_limits`]), then beacons per address and per
    /// visitor, form posts per address.
    fn rate_limit(&self, req: &http::Request<Bytes>) -> Result<(), u64> {
        if self.route_limits {
            use kindling::router::resolve::{resolve, Resolved};
            if let Resolved::Route(id, _) = resolve(Routes::All, req.method(), req.uri().path()) {
                if let Some(t) = self.kindling.config.api.of(id) {
                    let limit = crate::ratelimit::Limit {
                        burst: f64::from(t.burst),
                        per_second: f64::from(t.rate),
                    };
                    let key = format!("route:{}", kindling::names::Named::name(id));
                    self.limiter.take(&key, limit, self.kindling.clock.now())?;
                }
            }
        }
        if req.method() != http::Method::POST {
            return Ok(());
        }
        let now = self.kindling.clock.now();
        let ip = req
            .extensions()
            .get::<kindling::web::ClientInfo>()
            .and_then(|c| c.ip.clone());
        let path = req.uri().path();
        if path == "/t/events" {
            if let Some(ip) = &ip {
                self.limiter
                    .take(&format!("beacon-ip:{ip}"), BEACONS_PER_IP, now)?;
            }
            let visitor = serde_json::from_slice::<serde_json::Value>(req.body())
                .ok()
                .and_then(|b| b.get("visitor_id")?.as_str().map(str::to_owned));
            if let Some(v) = visitor {
                self.limiter
                    .take(&format!("beacon-visitor:{v}"), BEACONS_PER_VISITOR, now)?;
            }
        } else if path.starts_with("/forms/") {
            if let Some(ip) = &ip {
                self.limiter
                    .take(&format!("form-ip:{ip}"), FORMS_PER_IP, now)?;
            }
        }
        Ok(())
    }

    fn is_admin(&self, req: &http::Request<Bytes>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        given.as_bytes().ct_eq(self.admin_token.as_bytes()).into()
    }

    /// Delivers every ready bus event (scoring, alerts, steps due now) until none is ready.
    pub async fn pump(&self) -> Result<Dispatched, PortError> {
        let k = &self.kindling;
        let notifier = self.notifier.as_ref();
        let (crm, sync) = (self.crm.as_ref(), &self.sync);
        let mailer = self.mailer.as_ref();
        let immediate = self.immediate;
        self.bus
            .dispatch(PUMP_LIMIT, |event| async move {
                match (&event, crm) {
                    // A step due as its lead was enrolled: sent now, as send-steps does on AWS.
                    (kindling::app::Event::StepDue(due), _) if immediate => {
                        kindling::sequences::send_step_now(&k.sequences(), mailer, due)
                            .await
                            .map(|_| ())
                    }
                    // The bus's target for the CRM, as an API destination is on AWS.
                    (kindling::app::Event::CrmUpsert(u), Some(webhook)) => {
                        let status = webhook.deliver(u).await?;
                        sync.record(u, status).map_err(kindling::Error::from)
                    }
                    (kindling::app::Event::CrmUpsert(_), None) => Err(kindling::Error::Port(
                        PortError::new("crm webhook", NO_WEBHOOK),
                    )),
                    _ => handle_event(k, notifier, &event).await,
                }
            })
            .await
    }

    /// One run of the schedule ([`run_schedule`]), then delivers what that published.
    pub async fn tick(&self) -> Result<ScheduleReport, kindling::Error> {
        self.store
            .sweep_visitor_history(self.kindling.clock.now())
            .map_err(kindling::Error::from)?;
        let report = run_schedule(&self.kindling, self.mailer.as_ref(), SEND_BUDGET).await?;
        self.pump().await?;
        Ok(report)
    }
}
