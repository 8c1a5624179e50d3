//! Tracking: what a website and a mail client tell Kindling. Beacons from kindling.js, open
//! pixels and clicks arrive here ([`api`]), are classified ([`crate::activities::classify`])
//! and recorded once each ([`record`]); the signed tokens in every mail link are in [`crate::token`].

pub(crate) mod api;
mod record;

pub use record::{record_activities, record_activity};
