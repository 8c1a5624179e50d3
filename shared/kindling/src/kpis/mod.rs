//! KPIs: the figures that tell whether nurturing works, in four levels (delivery, reaction,
//! conversion, final), with the stage funnel, what each nurture influenced, list health and
//! fatigue, held against the targets of `[kpis]`.
//!
//! Each fact is counted once as it happens ([`record`]: an activity, a feedback report, a lead's
//! event, a sales mark), into day buckets of the program's zone, by one write
//! ([`crate::ports::Tallies::tally_each_once`]); a report ([`query`]) reads buckets, never the
//! activity log.

pub mod archive;
pub mod config;
pub mod count;
pub mod digest;
pub mod digest_text;
pub mod figures;
pub mod follow_up;
mod health;
pub mod period;
pub mod query;
mod record;

pub use query::{kpis, KpiQuery, KpiReport};
pub use record::{
    count_activity, count_activity_of, count_feedback, count_hot, count_mql, count_sales,
    count_stage, nurture, reads_lead,
};

use crate::activities::ports::ActivityLog;
use crate::broadcasts::ports::BroadcastStore;
use crate::leads::ports::LeadStore;
use crate::ports::{Clock, Tallies};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A breakdown: what a figure can be split by besides the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Sequence,
    /// A sequence's step: `document_followup/2` (from 1).
    Step,
    /// A step's template (an A/B variant is its own template).
    Template,
    /// An A/B test's variant: a step's `document_followup/2:doc_day3_b`, a broadcast's cell
    /// `spring_webinar:B` (the rest counts under the cell whose mail it got).
    Variant,
    Broadcast,
    Topic,
    /// The segment a broadcast was sent to.
    Segment,
    /// The lead's buying stage when it happened.
    Stage,
    Form,
    /// `utm_campaign`.
    Campaign,
    /// The rep who owns the lead (`[[routing]]`): the follow-up figures per rep.
    Owner,
    /// The nurture (a sequence or a broadcast) a conversion is attributed to.
    Nurture,
    /// A lead that turned hot (for the digest's list of the week's hot leads).
    HotLead,
}

crate::named!(Dim {
    Sequence = "sequence",
    Step = "step",
    Template = "template",
    Variant = "variant",
    Broadcast = "broadcast",
    Topic = "topic",
    Segment = "segment",
    Stage = "stage",
    Form = "form",
    Campaign = "campaign",
    Owner = "owner",
    Nurture = "nurture",
    HotLead = "hot_lead",
});

impl Dim {
    /// Those a query can break the figures down by (all but [`Dim::Nurture`]).
    pub const BREAKDOWNS: [Dim; 11] = [
        Dim::Sequence,
        Dim::Step,
        Dim::Template,
        Dim::Variant,
        Dim::Broadcast,
        Dim::Topic,
        Dim::Segment,
        Dim::Stage,
        Dim::Form,
        Dim::Campaign,
        Dim::Owner,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        crate::names::Named::name(self)
    }

    /// The tally series of its buckets.
    pub fn series(self) -> String {
        format!("{}.{}", count::TOTALS, self.as_str())
    }
}

/// The sections the KPIs read.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub kpis: &'a config::Settings,
    pub digest: Option<&'a config::Digest>,
    pub program: &'a crate::program::Program,
    pub sender: &'a crate::program::Sender,
    pub zone: Tz,
    pub sequences: &'a [crate::sequences::config::Sequence],
    pub stages: &'a [crate::segments::stages::Stage],
}

/// What counting and reading the KPIs touch.
pub struct Kpis<'a> {
    pub config: Sections<'a>,
    pub leads: &'a dyn LeadStore,
    pub activities: &'a dyn ActivityLog,
    pub broadcasts: &'a dyn BroadcastStore,
    pub tallies: &'a dyn Tallies,
    pub clock: &'a dyn Clock,
}
