//! Sending: when a step mail goes out and what it says. The schedule (offsets, quiet hours,
//! windows and the frequency cap) is in [`schedule`] over the business [`calendar`]; the
//! decision for one due step is the pure [`plan`], carried out by [`run`]; mails are composed
//! in [`mail`] from the [`templates`]; A/B tests are the pure [`ab`] rules and their
//! [`ab_counts`].

pub mod config;

pub mod ab;
pub mod ab_counts;
pub mod calendar;
pub mod ledger;
pub mod mail;
pub mod plan;
pub mod ports;
mod run;
pub mod schedule;
pub mod templates;

pub use ab_counts::{ab_report, AbReport};
pub use run::{build_step_mail, send_due_steps, Ended, SendReport, SentMail};
