//! Kindling on a laptop: the embedded adapters (SQLite store, `.eml` outbox, JSON-lines alert
//! log, durable in-process bus), the local HTTP server, the demo, and `kindling check`.

pub mod alerts;
pub mod app;
pub mod bus;
pub mod check;
pub mod crm;
pub mod db;
pub mod demo;
pub mod fake_crm;
pub mod http_admin;
pub mod inspect;
pub mod keys;
pub mod kpi_text;
pub mod outbox;
pub mod preview;
pub mod ratelimit;
pub mod remote;
pub mod report_session;
pub mod reports;
pub mod server;
pub mod store;

pub use app::LocalApp;
