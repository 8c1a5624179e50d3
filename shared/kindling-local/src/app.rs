//! Wires the embedded adapters into one running Kindling: the same use cases and HTTP entry
//! logic as on AWS, over SQLite, the outbox, the alert log and the local bus.

use crate::alerts::JsonlNotifier;
use crate::bus::{Dispatched, LocalBus};
use crate::db::Db;
use crate::outbox::OutboxMailer;
use crate::store::SqliteStore;
use bytes::Bytes;
use kindling::config::Config;
use kindling::error::PortError;
use kindling::http::{handle, Routes};
use kindling::ports::{Clock, Ids, Mailer, Notifier, Stores};
use kindling::token::SigningKeys;
use kindling::usecases::{handle_event, send_due_steps, Kindling, SendReport};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Enrollments handled per scheduler run.
pub const SEND_BUDGET: usize = 500;
/// Bus deliveries per pump, so a handler that keeps publishing cannot spin forever.
const PUMP_LIMIT: usize = 10_000;

/// A running local Kindling.
#[derive(Clone)]
pub struct LocalApp {
    pub kindling: Kindling,
    pub store: Arc<SqliteStore>,
    pub bus: LocalBus,
    pub mailer: Arc<dyn Mailer>,
    pub notifier: Arc<dyn Notifier>,
    pub data_dir: PathBuf,
}

impl LocalApp {
    /// Opens the data directory: `kindling.db`, `outbox/`, `alerts.jsonl`.
    pub fn open(
        data_dir: &Path,
        config: Config,
        keys: SigningKeys,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn Ids>,
        print_alerts: bool,
    ) -> Result<Self, PortError> {
        let db = Db::open(&data_dir.join("kindling.db"))?;
        let mailer = Arc::new(OutboxMailer::new(data_dir.join("outbox"), clock.clone()));
        let notifier = Arc::new(JsonlNotifier::new(
            data_dir.join("alerts.jsonl"),
            print_alerts,
        ));
        Ok(Self::assemble(
            db,
            data_dir.to_path_buf(),
            config,
            keys,
            clock,
            ids,
            mailer,
            notifier,
        ))
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
        let bus = LocalBus::new(db, clock.clone());
        let kindling = Kindling {
            config: Arc::new(config),
            keys: Arc::new(keys),
            stores: Stores::from_one(store.clone()),
            bus: Arc::new(bus.clone()),
            clock,
            ids,
        };
        Self {
            kindling,
            store,
            bus,
            mailer,
            notifier,
            data_dir,
        }
    }

    /// Handles one HTTP request with every public route.
    pub async fn http(&self, req: http::Request<Bytes>) -> http::Response<Bytes> {
        handle(&self.kindling, Routes::All, req).await
    }

    /// Delivers every ready bus event (scoring, alerts) until none is ready.
    pub async fn pump(&self) -> Result<Dispatched, PortError> {
        let k = &self.kindling;
        let notifier = self.notifier.as_ref();
        self.bus
            .dispatch(PUMP_LIMIT, |event| async move {
                handle_event(k, notifier, &event).await
            })
            .await
    }

    /// One scheduler run: sends due steps, then delivers what that published.
    pub async fn tick(&self) -> Result<SendReport, kindling::Error> {
        let report = send_due_steps(&self.kindling, self.mailer.as_ref(), SEND_BUDGET).await?;
        self.pump().await?;
        Ok(report)
    }
}
