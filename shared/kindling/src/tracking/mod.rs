//! Tracking: what a website and a mail client tell Kindling. Beacons from kindling.js, open
//! pixels and clicks arrive here (`routes.rs`), are classified ([`crate::activities::classify`])
//! and recorded once each ([`record_activities`]); the signed tokens in every mail link are in [`crate::token`].

pub mod events;
pub(crate) mod hits;
mod record;
pub(crate) mod routes;
pub mod script;

pub use record::{announce, announce_stored, record_activities, record_activity, store_activities};

use crate::activities::pages::PageCategory;
use crate::activities::ports::ActivityLog;
use crate::events::EventBus;
use crate::ports::{Clock, Ids};
use crate::program::Program;
use crate::token::SigningKeys;

/// Records activities and announces them: what every capability that records one touches.
#[derive(Clone, Copy)]
pub struct Recorder<'a> {
    pub activities: &'a dyn ActivityLog,
    pub bus: &'a dyn EventBus,
}

/// The sections the tracking routes read.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub program: &'a Program,
    pub pages: &'a [PageCategory],
}

impl<'a> Sections<'a> {
    /// The category of a page, from the path of its URL.
    pub fn page_category(&self, url: &str) -> Option<&'a str> {
        crate::activities::pages::page_category(self.pages, url)
    }
}

/// What the tracking routes touch.
#[derive(Clone, Copy)]
pub struct Tracking<'a> {
    pub config: Sections<'a>,
    pub keys: &'a SigningKeys,
    pub visitors: &'a dyn crate::activities::ports::VisitorLinks,
    pub sends: &'a dyn crate::sending::ports::SendLog,
    pub record: Recorder<'a>,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn Ids,
}
