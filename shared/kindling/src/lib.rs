//! Kindling's domain: leads, activities, explainable scores, step sequences and compliance,
//! with the HTTP and event entry logic that every runtime (Lambda, local server) shares.
//!
//! Three layers, each naming only itself and those below (checked by
//! `tests/tests/local/layout.rs`, which holds the same list):
//!
//! - the kernel every capability shares: [`ids`], [`names`], [`error`], [`email`], [`message`],
//!   [`token`], [`diag`], [`program`], [`fasthash`], [`offset`], [`ports`], [`system`],
//!   [`events`] (the bus and its envelope), [`web`] (the HTTP vocabulary, the route table and its
//!   limits), [`testing`];
//! - the capabilities, bottom up, one folder each with its rules, its use cases and its payloads:
//!   [`activities`], [`leads`], [`sending`], [`tracking`], [`segments`], [`triggers`],
//!   [`deliverability`], [`dispatch`] (the one send protocol), [`broadcasts`], [`sequences`],
//!   [`routing`] (who in sales owns a lead), [`scoring`], [`alerts`], [`forms`], [`kpis`];
//! - the assembly: [`config`] (loading and checking the program), [`app`] (the wired
//!   [`app::Kindling`], the event catalog, the dispatch of events, the schedule's run),
//!   [`admin`] (the admin interface and its routes) and [`router`] (every request to its route).
//!
//! Nothing here does I/O directly: stores, the mailer, the bus, the notifier, the clock and id
//! generation are ports ([`ports`]) implemented by `kindling-local` and `kindling-aws`.

// Kernel.
pub mod diag;
pub mod email;
pub mod error;
pub mod events;
pub mod fasthash;
pub mod ids;
pub mod message;
pub mod names;
pub mod offset;
pub mod ports;
pub mod program;
pub mod system;
pub mod testing;
pub mod token;
pub mod web;

// Capabilities, bottom up.
pub mod activities;
pub mod alerts;
pub mod broadcasts;
pub mod crm;
pub mod deliverability;
pub mod dispatch;
pub mod forms;
pub mod kpis;
pub mod leads;
pub mod routing;
pub mod scoring;
pub mod segments;
pub mod sending;
pub mod sequences;
pub mod tracking;
pub mod triggers;

// Assembly.
pub mod admin;
pub mod app;
pub mod config;
pub mod router;

pub use config::Config;
pub use error::{Error, Result};
