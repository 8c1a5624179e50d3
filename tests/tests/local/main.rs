//! Kindling on the embedded adapters, end to end and by feature, in one test binary (one link):
//! the pipeline, sending, broadcasts, segments, triggers, tracking, deliverability, the admin
//! routes, bad input, the SQLite store's contract suite, and the layout of the domain crate.
#![allow(clippy::unwrap_used)]

mod ab;
mod admin;
mod bad_input;
mod breaker;
mod broadcast_ab;
mod broadcast_routes;
mod broadcasts;
mod classification;
mod compat;
mod crm_sync;
mod digest;
mod events;
mod feedback;
mod first_mail;
mod follow_up;
mod kpis;
mod layout;
mod local_pipeline;
mod one_click;
mod preferences;
mod routing;
mod segments;
mod sending;
mod store_sqlite;
mod tracking_trust;
mod triggers;
