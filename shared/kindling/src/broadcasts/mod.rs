//! Broadcasts: one mail to many leads at a chosen time, a newsletter to everyone who consented
//! or a segment mail to one segment. Created at run time (content changes every issue), linted
//! at creation ([`content`]), dry-run, approved under a hash of content, audience and schedule
//! ([`lifecycle`]), frozen into one recipient record per lead when sending starts, and sent by
//! the schedule's run ([`run`]) with the same message key, ledger, cap, breaker and checks at
//! send time as step mail: at most once per (broadcast, lead), each at its local hour.

pub mod ab;
pub mod ab_tally;
mod audience;
pub mod cells;
mod checks;
pub mod compose;
pub mod config;
pub mod content;
mod deliver;
pub mod dry_run;
mod freeze;
pub mod lifecycle;
mod model;
pub mod moves;
pub mod ports;
mod run;
pub mod status;
pub mod test_send;
pub mod transitions;

pub use model::*;
pub use run::{send_due_broadcasts, BroadcastReport};

use crate::deliverability::ports::SuppressionList;
use crate::deliverability::Deliverability;
use crate::leads::ports::LeadStore;
use crate::ports::{Clock, Ids};
use crate::program::{Program, Sender};
use crate::segments::ports::SegmentMembers;
use crate::sending::ports::SendLog;
use crate::sending::templates::Templates;
use crate::token::SigningKeys;
use crate::tracking::Recorder;

/// The sections broadcasts read.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub program: &'a Program,
    pub sender: &'a Sender,
    pub sending: &'a crate::sending::config::Settings,
    pub broadcasts: &'a config::Settings,
    pub segments: &'a [crate::segments::Segment],
    pub templates: &'a Templates,
}

/// What creating, approving and sending broadcasts touches.
#[derive(Clone, Copy)]
pub struct Broadcasts<'a> {
    pub config: Sections<'a>,
    pub keys: &'a SigningKeys,
    pub store: &'a dyn ports::BroadcastStore,
    pub leads: &'a dyn LeadStore,
    pub members: &'a dyn SegmentMembers,
    pub sends: &'a dyn SendLog,
    pub suppressions: &'a dyn SuppressionList,
    /// A/B tests' counts per cell.
    pub tallies: &'a dyn crate::ports::Tallies,
    pub deliverability: Deliverability<'a>,
    pub record: Recorder<'a>,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn Ids,
}
