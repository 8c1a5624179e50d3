//! Events on the bus: source `kindling`, versioned detail-types, one payload struct each.

use crate::activities::ActivityKind;
use crate::ids::{ActivityId, LeadId, VisitorId};
use crate::leads::Temperature;
use crate::ports::PortResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `source` of every Kindling event.
pub const SOURCE: &str = "kindling";

/// An activity was recorded for the first time (never for a duplicate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRecorded {
    pub activity_id: ActivityId,
    pub lead_id: Option<LeadId>,
    pub visitor_id: Option<VisitorId>,
    pub kind: ActivityKind,
    pub at: DateTime<Utc>,
    /// The broadcast whose mail it concerns (an open or a click of it), for its A/B test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<crate::ids::BroadcastId>,
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

/// Who an alert is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    #[default]
    Sales,
    Support,
    /// Whoever runs Kindling: deliverability (sending paused by the breaker).
    Ops,
}

impl Audience {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sales => "sales",
            Self::Support => "support",
            Self::Ops => "ops",
        }
    }
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
}

/// Step mails are paused: the bounce or complaint rate tripped the breaker (see
/// [`crate::deliverability`]). Published when it trips and again once a day while it stays
/// paused (`day` 0, 1, ...); the notify function alerts ops once per `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendingPaused {
    /// The alert's idempotency key: one per trip and day.
    pub key: String,
    pub tripped_at: DateTime<Utc>,
    pub day: u32,
    /// "bounce rate 2.2% (11 of 500 sends) is above 2%".
    pub reason: String,
    /// The counts that tripped it.
    pub sends: u64,
    pub bounces: u64,
    pub complaints: u64,
    pub at: DateTime<Utc>,
}

/// Every event Kindling publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ActivityRecorded(ActivityRecorded),
    LeadBecameWarm(TemperatureChanged),
    LeadBecameHot(LeadBecameHot),
    LeadCooled(TemperatureChanged),
    LeadBecameMql(LeadBecameMql),
    LeadStageChanged(LeadStageChanged),
    LeadEnteredSegment(LeadEnteredSegment),
    LeadLeftSegment(LeadLeftSegment),
    TriggerFired(TriggerFired),
    SendingPaused(SendingPaused),
}

/// Detail-type of [`ActivityRecorded`].
pub const ACTIVITY_RECORDED_V1: &str = "activity.recorded.v1";
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
/// Detail-type of [`SendingPaused`].
pub const SENDING_PAUSED_V1: &str = "sending.paused.v1";

/// Every detail-type, for the infrastructure's rule patterns.
pub const DETAIL_TYPES: [&str; 10] = [
    ACTIVITY_RECORDED_V1,
    LEAD_BECAME_WARM_V1,
    LEAD_BECAME_HOT_V1,
    LEAD_COOLED_V1,
    LEAD_BECAME_MQL_V1,
    LEAD_STAGE_CHANGED_V1,
    LEAD_ENTERED_SEGMENT_V1,
    LEAD_LEFT_SEGMENT_V1,
    TRIGGER_FIRED_V1,
    SENDING_PAUSED_V1,
];

/// Why an event could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown detail-type {0:?}")]
    UnknownType(String),
    #[error("malformed {0} detail: {1}")]
    Malformed(&'static str, serde_json::Error),
}

impl Event {
    /// The versioned detail-type.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Event::ActivityRecorded(_) => ACTIVITY_RECORDED_V1,
            Event::LeadBecameWarm(_) => LEAD_BECAME_WARM_V1,
            Event::LeadBecameHot(_) => LEAD_BECAME_HOT_V1,
            Event::LeadCooled(_) => LEAD_COOLED_V1,
            Event::LeadBecameMql(_) => LEAD_BECAME_MQL_V1,
            Event::LeadStageChanged(_) => LEAD_STAGE_CHANGED_V1,
            Event::LeadEnteredSegment(_) => LEAD_ENTERED_SEGMENT_V1,
            Event::LeadLeftSegment(_) => LEAD_LEFT_SEGMENT_V1,
            Event::TriggerFired(_) => TRIGGER_FIRED_V1,
            Event::SendingPaused(_) => SENDING_PAUSED_V1,
        }
    }

    /// The detail as JSON.
    pub fn detail_json(&self) -> String {
        let r = match self {
            Event::ActivityRecorded(e) => serde_json::to_string(e),
            Event::LeadBecameWarm(e) | Event::LeadCooled(e) => serde_json::to_string(e),
            Event::LeadBecameHot(e) => serde_json::to_string(e),
            Event::LeadBecameMql(e) => serde_json::to_string(e),
            Event::LeadStageChanged(e) => serde_json::to_string(e),
            Event::LeadEnteredSegment(e) => serde_json::to_string(e),
            Event::LeadLeftSegment(e) => serde_json::to_string(e),
            Event::TriggerFired(e) => serde_json::to_string(e),
            Event::SendingPaused(e) => serde_json::to_string(e),
        };
        // Serializing these plain structs cannot fail.
        r.unwrap_or_default()
    }

    /// Decodes a detail-type and its JSON detail.
    pub fn decode(detail_type: &str, detail: &str) -> Result<Event, DecodeError> {
        fn de<T: serde::de::DeserializeOwned>(
            t: &'static str,
            detail: &str,
            f: fn(T) -> Event,
        ) -> Result<Event, DecodeError> {
            serde_json::from_str(detail)
                .map(f)
                .map_err(|e| DecodeError::Malformed(t, e))
        }
        match detail_type {
            ACTIVITY_RECORDED_V1 => de(ACTIVITY_RECORDED_V1, detail, Event::ActivityRecorded),
            LEAD_BECAME_WARM_V1 => de(LEAD_BECAME_WARM_V1, detail, Event::LeadBecameWarm),
            LEAD_BECAME_HOT_V1 => de(LEAD_BECAME_HOT_V1, detail, Event::LeadBecameHot),
            LEAD_COOLED_V1 => de(LEAD_COOLED_V1, detail, Event::LeadCooled),
            LEAD_BECAME_MQL_V1 => de(LEAD_BECAME_MQL_V1, detail, Event::LeadBecameMql),
            LEAD_STAGE_CHANGED_V1 => de(LEAD_STAGE_CHANGED_V1, detail, Event::LeadStageChanged),
            LEAD_ENTERED_SEGMENT_V1 => {
                de(LEAD_ENTERED_SEGMENT_V1, detail, Event::LeadEnteredSegment)
            }
            LEAD_LEFT_SEGMENT_V1 => de(LEAD_LEFT_SEGMENT_V1, detail, Event::LeadLeftSegment),
            TRIGGER_FIRED_V1 => de(TRIGGER_FIRED_V1, detail, Event::TriggerFired),
            SENDING_PAUSED_V1 => de(SENDING_PAUSED_V1, detail, Event::SendingPaused),
            other => Err(DecodeError::UnknownType(other.to_owned())),
        }
    }
}

/// Publishes events; at-least-once; a failure means none may be assumed delivered.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes every event or fails.
    async fn publish(&self, events: &[Event]) -> PortResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn events_round_trip_through_detail_json() {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let events = [
            Event::ActivityRecorded(ActivityRecorded {
                activity_id: ActivityId::new("a1"),
                lead_id: Some(LeadId::new("L1")),
                visitor_id: None,
                kind: ActivityKind::PageView,
                at,
                broadcast_id: None,
            }),
            Event::LeadBecameHot(LeadBecameHot {
                lead_id: LeadId::new("L1"),
                crossing: 1,
                score: 55,
                previous: Temperature::Warm,
                at,
                alert: false,
            }),
            Event::LeadBecameWarm(TemperatureChanged {
                lead_id: LeadId::new("L1"),
                score: 30,
                previous: Temperature::Cold,
                temperature: Temperature::Warm,
                at,
            }),
            Event::LeadCooled(TemperatureChanged {
                lead_id: LeadId::new("L1"),
                score: 20,
                previous: Temperature::Hot,
                temperature: Temperature::Cold,
                at,
            }),
            Event::LeadBecameMql(LeadBecameMql {
                lead_id: LeadId::new("L1"),
                score: 60,
                fit: 10,
                engagement: 50,
                at,
            }),
            Event::LeadStageChanged(LeadStageChanged {
                lead_id: LeadId::new("L1"),
                from: None,
                to: Some("awareness".into()),
                evidence: vec![ActivityId::new("a1")],
                at,
            }),
            Event::LeadEnteredSegment(LeadEnteredSegment {
                lead_id: LeadId::new("L1"),
                segment: "it_decision_makers".into(),
                evidence: vec![ActivityId::new("a1")],
                at,
            }),
            Event::LeadLeftSegment(LeadLeftSegment {
                lead_id: LeadId::new("L1"),
                segment: "it_decision_makers".into(),
                since: at,
                at,
            }),
            Event::TriggerFired(TriggerFired {
                lead_id: LeadId::new("L1"),
                trigger: "pricing_interest".into(),
                firing: 1,
                reason: "3 page_view (pricing) within 7d".into(),
                evidence: vec![ActivityId::new("p1")],
                enrolled: Some("consultation_invite".into()),
                alert: Some(Audience::Sales),
                at,
            }),
            Event::SendingPaused(SendingPaused {
                key: "sending_paused/20261102T000000Z/0".into(),
                tripped_at: at,
                day: 0,
                reason: "bounce rate 2.2% (11 of 500 sends) is above 2%".into(),
                sends: 500,
                bounces: 11,
                complaints: 0,
                at,
            }),
        ];
        for t in DETAIL_TYPES {
            assert!(events.iter().any(|e| e.detail_type() == t), "{t} untested");
        }
        for e in events {
            assert_eq!(Event::decode(e.detail_type(), &e.detail_json()).unwrap(), e);
        }
        assert!(matches!(
            Event::decode("lead.exploded.v9", "{}"),
            Err(DecodeError::UnknownType(_))
        ));
        // Events published before `alert` existed still alert.
        let old = r#"{"lead_id":"L1","crossing":1,"score":50,"previous":"warm","at":"2026-11-02T00:00:00Z"}"#;
        match Event::decode(LEAD_BECAME_HOT_V1, old).unwrap() {
            Event::LeadBecameHot(e) => assert!(e.alert),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Event::decode(LEAD_BECAME_HOT_V1, "{\"lead_id\":1}"),
            Err(DecodeError::Malformed(..))
        ));
    }
}
