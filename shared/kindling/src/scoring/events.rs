//! What a rescore publishes: temperature crossings, the first MQL, stage changes, segment entries
//! and departures, trigger firings. Each is a fact of the rescore's plan ([`ScoringEvent`]),
//! published in its envelope before the lead is stored.

use crate::events::{Audience, Envelope};
use crate::ids::{ActivityId, LeadId};
use crate::leads::Temperature;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Detail-type of a cold lead turning warm ([`TemperatureChanged`]).
pub const LEAD_BECAME_WARM_V1: &str = "lead.became_warm.v1";
/// Detail-type of [`LeadBecameHot`].
pub const LEAD_BECAME_HOT_V1: &str = "lead.became_hot.v1";
/// Detail-type of a hot or warm lead cooling down ([`TemperatureChanged`]).
pub const LEAD_COOLED_V1: &str = "lead.cooled.v1";
/// Detail-type of [`LeadBecameMql`].
pub const LEAD_BECAME_MQL_V1: &str = "lead.became_mql.v1";
/// Detail-type of [`LeadStageChanged`].
pub const LEAD_STAGE_CHANGED_V1: &str = "lead.stage_changed.v1";
/// Detail-type of [`LeadEnteredSegment`].
pub const LEAD_ENTERED_SEGMENT_V1: &str = "lead.entered_segment.v1";
/// Detail-type of [`LeadLeftSegment`].
pub const LEAD_LEFT_SEGMENT_V1: &str = "lead.left_segment.v1";
/// Detail-type of [`TriggerFired`].
pub const TRIGGER_FIRED_V1: &str = "trigger.fired.v1";
/// Detail-type of [`FollowUpDue`].
pub const LEAD_FOLLOW_UP_DUE_V1: &str = "lead.follow_up_due.v1";

/// Which moment of a hand-off's follow-up clock came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// The owner is reminded (at `[alerts] remind_at` of the time).
    Reminder,
    /// Nobody marked the lead by the deadline: the escalation goes to `[alerts] escalate_to`.
    Escalation,
}

/// A hand-off's reminder or deadline came and sales has not marked the lead (published once per
/// hand-off and kind by the rescore that sees the time; notify alerts once per the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDue {
    pub lead_id: LeadId,
    /// The hand-off's number ([`crate::leads::Handoff::n`]).
    pub handoff: u32,
    pub kind: FollowUpKind,
    /// The rep who owns the lead, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub handed_off_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A lead crossed into hot. `crossing` numbers the crossings of this lead, so each one alerts
/// sales exactly once however often the event is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadBecameHot {
    pub lead_id: LeadId,
    pub crossing: u32,
    pub score: i64,
    pub previous: Temperature,
    pub at: DateTime<Utc>,
    /// False when the lead was alerted within the re-alert cooldown (it cooled and heated
    /// again): the crossing is a fact, the alert a policy. Absent in older events: true.
    #[serde(default = "yes")]
    pub alert: bool,
    /// The rep who owns the lead (`[[routing]]`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The number of the hand-off to sales this event began, if it began one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<u32>,
}

fn yes() -> bool {
    true
}

/// A lead's temperature changed other than into hot: `lead.became_warm.v1` (from cold) and
/// `lead.cooled.v1` (down from hot or warm, by decay or a rule change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemperatureChanged {
    pub lead_id: LeadId,
    pub score: i64,
    pub previous: Temperature,
    pub temperature: Temperature,
    pub at: DateTime<Utc>,
}

/// A lead first met the MQL definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadBecameMql {
    pub lead_id: LeadId,
    pub score: i64,
    pub fit: i64,
    pub engagement: i64,
    pub at: DateTime<Utc>,
    /// The rep who owns the lead (`[[routing]]`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The number of the hand-off to sales this event began, if it began one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<u32>,
}

/// A lead moved between buying stages (a copy of the change stored on the lead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadStageChanged {
    pub lead_id: LeadId,
    pub from: Option<crate::ids::StageId>,
    pub to: Option<crate::ids::StageId>,
    /// The activities that met the new stage's condition.
    pub evidence: Vec<ActivityId>,
    pub at: DateTime<Utc>,
}

/// A lead entered a segment (see [`crate::segments::membership`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadEnteredSegment {
    pub lead_id: LeadId,
    pub segment: crate::ids::SegmentId,
    /// The activities that made its condition true (the newest few).
    pub evidence: Vec<ActivityId>,
    pub at: DateTime<Utc>,
}

/// A lead left a segment: it no longer meets the condition, or the segment was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadLeftSegment {
    pub lead_id: LeadId,
    pub segment: crate::ids::SegmentId,
    /// When it had entered.
    pub since: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A trigger fired for a lead (its `firing`-th time). Enrollment happened before this was
/// published; an `alert` is sent by the notify function, once per firing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerFired {
    pub lead_id: LeadId,
    pub trigger: crate::ids::TriggerId,
    pub firing: u32,
    /// Why, for people: "3 page_view (pricing) within 7d".
    pub reason: String,
    /// The activities that met the condition.
    pub evidence: Vec<ActivityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<crate::ids::SequenceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Audience>,
    pub at: DateTime<Utc>,
    /// The rep who owns the lead (`[[routing]]`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The number of the hand-off to sales this event began, if it began one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<u32>,
}

/// An event a rescore publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoringEvent {
    LeadBecameWarm(TemperatureChanged),
    LeadBecameHot(LeadBecameHot),
    LeadCooled(TemperatureChanged),
    LeadBecameMql(LeadBecameMql),
    LeadStageChanged(LeadStageChanged),
    LeadEnteredSegment(LeadEnteredSegment),
    LeadLeftSegment(LeadLeftSegment),
    TriggerFired(TriggerFired),
    FollowUpDue(FollowUpDue),
}

impl ScoringEvent {
    /// The versioned detail-type.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::LeadBecameWarm(_) => LEAD_BECAME_WARM_V1,
            Self::LeadBecameHot(_) => LEAD_BECAME_HOT_V1,
            Self::LeadCooled(_) => LEAD_COOLED_V1,
            Self::LeadBecameMql(_) => LEAD_BECAME_MQL_V1,
            Self::LeadStageChanged(_) => LEAD_STAGE_CHANGED_V1,
            Self::LeadEnteredSegment(_) => LEAD_ENTERED_SEGMENT_V1,
            Self::LeadLeftSegment(_) => LEAD_LEFT_SEGMENT_V1,
            Self::TriggerFired(_) => TRIGGER_FIRED_V1,
            Self::FollowUpDue(_) => LEAD_FOLLOW_UP_DUE_V1,
        }
    }

    /// Its envelope on the bus.
    pub fn envelope(&self) -> Envelope {
        let t = self.detail_type();
        match self {
            Self::LeadBecameWarm(e) | Self::LeadCooled(e) => Envelope::new(t, e),
            Self::LeadBecameHot(e) => Envelope::new(t, e),
            Self::LeadBecameMql(e) => Envelope::new(t, e),
            Self::LeadStageChanged(e) => Envelope::new(t, e),
            Self::LeadEnteredSegment(e) => Envelope::new(t, e),
            Self::LeadLeftSegment(e) => Envelope::new(t, e),
            Self::TriggerFired(e) => Envelope::new(t, e),
            Self::FollowUpDue(e) => Envelope::new(t, e),
        }
    }
}
