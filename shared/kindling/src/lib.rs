//! Kindling's domain: leads, activities, explainable scores, step sequences and compliance,
//! with the HTTP and event entry logic that every runtime (Lambda, local server) shares.
//!
//! One folder per capability, each with its rules, its use cases and its HTTP routes:
//! [`activities`], [`leads`], [`sending`], [`tracking`], [`segments`], [`triggers`],
//! [`deliverability`], [`broadcasts`], [`sequences`], [`scoring`], [`alerts`], [`forms`] and [`admin`]. Beneath them the kernel every
//! capability shares: [`ids`], [`email`], [`error`], [`names`], [`events`], the [`ports`] and
//! [`api`] (the route table and its limits).
//! Above them the assembly: [`config`] (loading and checking the program), [`http`] (the router) and [`app`] (the wired [`app::Kindling`] and the event dispatch).
//!
//! Nothing here does I/O directly: stores, the mailer, the bus, the notifier, the clock and id
//! generation are ports ([`ports`]) implemented by `kindling-local` and `kindling-aws`.

// Kernel.
pub mod api;
pub mod diag;
pub mod email;
pub mod error;
pub mod events;
pub mod fasthash;
pub mod ids;
pub mod message;
pub mod names;
pub mod ports;
pub mod program;
pub mod system;
pub mod testing;
pub mod token;
pub mod web;

// Capabilities.
pub mod activities;
pub mod admin;
pub mod alerts;
pub mod broadcasts;
pub mod deliverability;
pub mod dispatch;
pub mod forms;
pub mod leads;
pub mod scoring;
pub mod segments;
pub mod sending;
pub mod sequences;
pub mod tracking;
pub mod triggers;

// Assembly.
pub mod app;
pub mod config;
pub mod http;

pub use config::Config;
pub use error::{Error, Result};
