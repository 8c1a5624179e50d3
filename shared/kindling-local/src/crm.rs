//! The CRM sync locally: each `lead.crm_upsert.v1` on the bus is POSTed to `[crm] webhook_url`
//! (or `KINDLING_CRM_WEBHOOK_URL`) signed by the Standard Webhooks scheme, its `webhook-id` the
//! upsert's id. The bus retries a failure with backoff for 24 hours, then keeps it as a dead
//! letter; a receiver's 4xx but 408 and 429 is dead at once (sending it again cannot help until
//! someone fixes the receiver, then `sync replay`). Each delivery is recorded in `crm_synced`
//! after the receiver's 2xx: a crash between the two delivers once more with the same id, which
//! an upsert keyed by email or external id makes harmless.

use crate::db::{err, parse_ts, ts, Db};
use async_trait::async_trait;
use kindling::crm::events::{CrmUpsert, LEAD_CRM_UPSERT_V1};
use kindling::crm::ports::{Replay, SyncFailure, SyncLedger, SyncStatus, MAX_FAILURES};
use kindling::crm::webhook::{Secret, ID, SIGNATURE, TIMESTAMP};
use kindling::error::{Error, PortError};
use kindling::ports::Clock;
use rusqlite::params;
use std::path::Path;
use std::sync::Arc;

/// The variable that overrides `[crm] webhook_url`.
pub const WEBHOOK_URL_ENV: &str = "KINDLING_CRM_WEBHOOK_URL";
/// How long the receiver may take.
const TIMEOUT_SECONDS: u64 = 10;

/// Posts upserts to the CRM's webhook.
#[derive(Clone)]
pub struct Webhook {
    /// `None`: no URL is set; every upsert waits (and says why) until one is.
    pub url: Option<String>,
    pub secret: Secret,
    clock: Arc<dyn Clock>,
    /// One agent for every delivery: its connections and TLS setup are kept.
    agent: ureq::Agent,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish()
    }
}

impl Webhook {
    /// A webhook to `url` signed with `secret`.
    pub fn new(url: Option<String>, secret: Secret, clock: Arc<dyn Clock>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(TIMEOUT_SECONDS)))
            .build()
            .into();
        Self {
            url,
            secret,
            clock,
            agent,
        }
    }

    /// The program's webhook: its URL from `KINDLING_CRM_WEBHOOK_URL`, else `[crm] webhook_url`;
    /// its secret from the variable `[crm] webhook_secret_env` names, else the data directory's
    /// `crm_webhook.secret` (made on first use: give it to the receiver).
    pub fn of_program(
        crm: &kindling::crm::config::Settings,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let url = std::env::var(WEBHOOK_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| crm.webhook_url.clone());
        let secret =
            match std::env::var(&crm.webhook_secret_env) {
                Ok(s) => Secret::parse(&s)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", crm.webhook_secret_env))?,
                Err(_) => {
                    let path = secret_path(data_dir);
                    match std::fs::read_to_string(&path) {
                        Ok(s) => Secret::parse(&s)
                            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                        Err(_) => {
                            let mut key = [0u8; 32];
                            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
                            let secret = Secret::from_bytes(&key);
                            std::fs::create_dir_all(data_dir)?;
                            std::fs::write(&path, secret.encoded())?;
                            secret
                        }
                    }
                }
            };
        Ok(Self::new(url, secret, clock))
    }

    /// Delivers one upsert: `Ok` on a 2xx (with its status), a retryable error on a transport
    /// failure, a 408, a 429 or a 5xx, a permanent one on another answer.
    pub async fn deliver(&self, upsert: &CrmUpsert) -> Result<u16, Error> {
        let Some(url) = self.url.clone() else {
            return Err(Error::Port(PortError::new(
                "crm webhook",
                format!("no webhook URL: set [crm] webhook_url or {WEBHOOK_URL_ENV}"),
            )));
        };
        let body = serde_json::to_vec(upsert)
            .map_err(|e| Error::Port(PortError::new("crm webhook", e)))?;
        let at = self.clock.now();
        let req = http::Request::post(&url)
            .header("content-type", "application/json")
            .header("user-agent", "kindling-crm-sync")
            .header(ID, &upsert.id)
            .header(TIMESTAMP, at.timestamp().to_string())
            .header(SIGNATURE, self.secret.sign(&upsert.id, at, &body))
            .body(body)
            .map_err(|e| Error::Port(PortError::new("crm webhook", e)))?;
        let agent = self.agent.clone();
        let status = tokio::task::spawn_blocking(move || post(&agent, req))
            .await
            .map_err(|e| Error::Port(PortError::new("crm webhook", e)))?
            .map_err(|e| Error::Port(PortError::new("crm webhook", e)))?;
        match status {
            200..=299 => Ok(status),
            408 | 429 | 500..=599 => Err(Error::Port(PortError::new(
                "crm webhook",
                format!("the receiver answered {status}"),
            ))),
            _ => Err(Error::Refused(format!(
                "the receiver refused the upsert with {status}; fix it, then `kindling sync replay`"
            ))),
        }
    }
}

/// Where the generated webhook secret is kept.
pub fn secret_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("crm_webhook.secret")
}

fn post(agent: &ureq::Agent, req: http::Request<Vec<u8>>) -> Result<u16, String> {
    let res = agent
        .run(req)
        .map_err(|e| format!("the request did not complete: {e}"))?;
    Ok(res.status().as_u16())
}

/// The sync's state in the local database: the bus's waiting upserts, its dead letters, and
/// `crm_synced`.
#[derive(Clone)]
pub struct LocalSync {
    db: Db,
    clock: Arc<dyn Clock>,
    /// Where the upserts go, as the status names it.
    target: String,
}

impl LocalSync {
    /// The ledger of `db`.
    pub fn new(db: Db, clock: Arc<dyn Clock>, target: String) -> Self {
        Self { db, clock, target }
    }

    /// The same ledger naming another target.
    pub fn with_target(mut self, target: String) -> Self {
        self.target = target;
        self
    }

    /// Records a delivery (after the receiver's 2xx).
    pub fn record(&self, upsert: &CrmUpsert, status: u16) -> Result<(), PortError> {
        self.db
            .conn()
            .execute(
                "INSERT INTO crm_synced (id, lead_id, delivered_at, status) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET delivered_at = excluded.delivered_at, status = excluded.status",
                params![upsert.id, upsert.lead_id.as_str(), ts(self.clock.now()), status],
            )
            .map_err(err)?;
        Ok(())
    }
}

/// The `id` and `lead_id` of an upsert's JSON.
fn ids_of(detail: &str) -> (String, Option<String>) {
    let v: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    (s("id").unwrap_or_default(), s("lead_id"))
}

#[async_trait]
impl SyncLedger for LocalSync {
    async fn status(&self) -> Result<SyncStatus, PortError> {
        let conn = self.db.conn();
        let (backlog, oldest): (i64, Option<String>) = conn
            .query_row(
                "SELECT count(*), min(published_at) FROM bus WHERE detail_type = ?1",
                [LEAD_CRM_UPSERT_V1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err)?;
        let (delivered, last): (i64, Option<String>) = conn
            .query_row(
                "SELECT count(*), max(delivered_at) FROM crm_synced",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(err)?;
        let dead: i64 = conn
            .query_row(
                "SELECT count(*) FROM dead_letters WHERE detail_type = ?1",
                [LEAD_CRM_UPSERT_V1],
                |r| r.get(0),
            )
            .map_err(err)?;
        let mut failures = Vec::new();
        let mut stmt = conn
            .prepare(
                "SELECT detail, attempts, error, at, dead FROM (
                   SELECT detail, attempts, last_error AS error, next_attempt_at AS at, 0 AS dead
                     FROM bus WHERE detail_type = ?1 AND last_error IS NOT NULL
                   UNION ALL
                   SELECT detail, attempts, error, dead_at AS at, 1 AS dead
                     FROM dead_letters WHERE detail_type = ?1)
                 ORDER BY at DESC LIMIT ?2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![LEAD_CRM_UPSERT_V1, MAX_FAILURES as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (detail, attempts, error, at, dead) = row.map_err(err)?;
            let (id, lead_id) = ids_of(&detail);
            failures.push(SyncFailure {
                id,
                lead_id,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                error,
                at: parse_ts(&at)?,
                dead: dead == 1,
            });
        }
        Ok(SyncStatus {
            target: self.target.clone(),
            backlog: Some(u64::try_from(backlog).unwrap_or(0)),
            oldest_waiting_at: oldest.as_deref().map(parse_ts).transpose()?,
            delivered: Some(u64::try_from(delivered).unwrap_or(0)),
            last_success_at: last.as_deref().map(parse_ts).transpose()?,
            dead: u64::try_from(dead).unwrap_or(0),
            failures,
        })
    }

    async fn replay(&self, which: &Replay) -> Result<Vec<String>, PortError> {
        let now = ts(self.clock.now());
        let mut conn = self.db.conn();
        let tx = conn.transaction().map_err(err)?;
        let rows: Vec<(i64, String)> = {
            let mut stmt = tx
                .prepare("SELECT id, detail FROM dead_letters WHERE detail_type = ?1 ORDER BY id")
                .map_err(err)?;
            let all = stmt
                .query_map([LEAD_CRM_UPSERT_V1], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            all
        };
        let mut replayed = Vec::new();
        for (row, detail) in rows {
            let (id, _) = ids_of(&detail);
            if let Replay::One(want) = which {
                if *want != id {
                    continue;
                }
            }
            // Back on the bus as if just published: 24 more hours of retries.
            tx.execute(
                "INSERT INTO bus (detail_type, detail, published_at, next_attempt_at) VALUES (?1, ?2, ?3, ?3)",
                params![LEAD_CRM_UPSERT_V1, detail, now],
            )
            .map_err(err)?;
            tx.execute("DELETE FROM dead_letters WHERE id = ?1", [row])
                .map_err(err)?;
            replayed.push(id);
        }
        tx.commit().map_err(err)?;
        Ok(replayed)
    }
}

/// `sync status` as text, times in `zone`.
pub fn status_text(s: &SyncStatus, zone: chrono_tz::Tz) -> String {
    use std::fmt::Write;
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "never".to_owned(),
            |t| {
                t.with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            },
        )
    };
    let count = |n: Option<u64>| n.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    let mut out = String::new();
    let _ = writeln!(out, "CRM sync to {}", s.target);
    let _ = writeln!(out, "  waiting:       {}", count(s.backlog));
    if s.oldest_waiting_at.is_some() {
        let _ = writeln!(out, "  oldest since:  {}", when(s.oldest_waiting_at));
    }
    let _ = writeln!(out, "  delivered:     {}", count(s.delivered));
    let _ = writeln!(out, "  last success:  {}", when(s.last_success_at));
    let _ = writeln!(out, "  dead:          {}", s.dead);
    if !s.failures.is_empty() {
        let _ = writeln!(out, "Failures (newest first):");
        for f in &s.failures {
            let _ = writeln!(
                out,
                "  {} {} lead {} after {} attempt(s) at {}: {}",
                f.id,
                if f.dead { "dead" } else { "retrying" },
                f.lead_id.as_deref().unwrap_or("-"),
                f.attempts,
                when(Some(f.at)),
                f.error
            );
        }
    }
    if s.dead > 0 {
        let _ = writeln!(
            out,
            "Replay with `kindling sync replay <id>` or `kindling sync replay --dead`."
        );
    }
    out
}
