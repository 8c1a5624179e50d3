//! Kindling's domain: leads, activities, explainable scores, step sequences and compliance,
//! with the HTTP and event entry logic that every runtime (Lambda, local server) shares.
//!
//! Nothing here does I/O directly: stores, the mailer, the bus, the notifier, the clock and id
//! generation are ports ([`ports`]) implemented by `kindling-local` and `kindling-aws`.

pub mod ab;
pub mod activity;
pub mod calendar;
pub mod classify;
pub mod config;
pub mod deliverability;
pub mod email;
pub mod error;
pub mod events;
pub mod fasthash;
pub mod http;
pub mod ids;
pub mod lead;
pub mod mail;
pub mod names;
pub mod ports;
pub mod schedule;
pub mod score;
pub mod sequence;
pub mod suppression;
pub mod system;
pub mod testing;
pub mod token;
pub mod trigger;
pub mod usecases;

pub use config::Config;
pub use error::{Error, Result};
