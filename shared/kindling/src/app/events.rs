//! The catalog of every event Kindling publishes, for those that consume them (the bus's
//! dispatch locally, the functions' handlers on AWS) and for the stack's rules
//! ([`DETAIL_TYPES`]). Each payload is declared by the capability that publishes it.

pub use crate::crm::events::LEAD_CRM_UPSERT_V1;
pub use crate::deliverability::events::SENDING_PAUSED_V1;
pub use crate::scoring::events::{
    LEAD_BECAME_HOT_V1, LEAD_BECAME_MQL_V1, LEAD_BECAME_WARM_V1, LEAD_COOLED_V1,
    LEAD_ENTERED_SEGMENT_V1, LEAD_FOLLOW_UP_DUE_V1, LEAD_LEFT_SEGMENT_V1, LEAD_STAGE_CHANGED_V1,
    TRIGGER_FIRED_V1,
};
pub use crate::sequences::events::SEQUENCE_STEP_DUE_V1;
pub use crate::tracking::events::ACTIVITY_RECORDED_V1;

use crate::crm::events::CrmUpsert;
use crate::deliverability::events::SendingPaused;
use crate::events::Envelope;
use crate::scoring::events::{
    FollowUpDue, LeadBecameHot, LeadBecameMql, LeadEnteredSegment, LeadLeftSegment,
    LeadStageChanged, ScoringEvent, TemperatureChanged, TriggerFired,
};
use crate::sequences::events::StepDue;
use crate::tracking::events::ActivityRecorded;

/// Every event Kindling publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Boxed: an activity carries its details, the other events a few ids.
    ActivityRecorded(Box<ActivityRecorded>),
    LeadBecameWarm(TemperatureChanged),
    LeadBecameHot(LeadBecameHot),
    LeadCooled(TemperatureChanged),
    LeadBecameMql(LeadBecameMql),
    LeadStageChanged(LeadStageChanged),
    LeadEnteredSegment(LeadEnteredSegment),
    LeadLeftSegment(LeadLeftSegment),
    TriggerFired(TriggerFired),
    FollowUpDue(FollowUpDue),
    SendingPaused(SendingPaused),
    /// Boxed: the lead's whole record for the CRM.
    CrmUpsert(Box<CrmUpsert>),
    StepDue(StepDue),
}

/// Every detail-type, for the infrastructure's rule patterns.
pub const DETAIL_TYPES: [&str; 13] = [
    ACTIVITY_RECORDED_V1,
    LEAD_BECAME_WARM_V1,
    LEAD_BECAME_HOT_V1,
    LEAD_COOLED_V1,
    LEAD_BECAME_MQL_V1,
    LEAD_STAGE_CHANGED_V1,
    LEAD_ENTERED_SEGMENT_V1,
    LEAD_LEFT_SEGMENT_V1,
    TRIGGER_FIRED_V1,
    LEAD_FOLLOW_UP_DUE_V1,
    SENDING_PAUSED_V1,
    LEAD_CRM_UPSERT_V1,
    SEQUENCE_STEP_DUE_V1,
];

/// Why an event could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown detail-type {0:?}")]
    UnknownType(String),
    #[error("malformed {0} detail: {1}")]
    Malformed(&'static str, serde_json::Error),
}

impl From<ScoringEvent> for Event {
    fn from(e: ScoringEvent) -> Event {
        match e {
            ScoringEvent::LeadBecameWarm(e) => Event::LeadBecameWarm(e),
            ScoringEvent::LeadBecameHot(e) => Event::LeadBecameHot(e),
            ScoringEvent::LeadCooled(e) => Event::LeadCooled(e),
            ScoringEvent::LeadBecameMql(e) => Event::LeadBecameMql(e),
            ScoringEvent::LeadStageChanged(e) => Event::LeadStageChanged(e),
            ScoringEvent::LeadEnteredSegment(e) => Event::LeadEnteredSegment(e),
            ScoringEvent::LeadLeftSegment(e) => Event::LeadLeftSegment(e),
            ScoringEvent::TriggerFired(e) => Event::TriggerFired(e),
            ScoringEvent::FollowUpDue(e) => Event::FollowUpDue(e),
        }
    }
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
            Event::FollowUpDue(_) => LEAD_FOLLOW_UP_DUE_V1,
            Event::SendingPaused(_) => SENDING_PAUSED_V1,
            Event::CrmUpsert(_) => LEAD_CRM_UPSERT_V1,
            Event::StepDue(_) => SEQUENCE_STEP_DUE_V1,
        }
    }

    /// Its envelope on the bus.
    pub fn envelope(&self) -> Envelope {
        let t = self.detail_type();
        match self {
            Event::ActivityRecorded(e) => Envelope::new(t, &**e),
            Event::LeadBecameWarm(e) | Event::LeadCooled(e) => Envelope::new(t, e),
            Event::LeadBecameHot(e) => Envelope::new(t, e),
            Event::LeadBecameMql(e) => Envelope::new(t, e),
            Event::LeadStageChanged(e) => Envelope::new(t, e),
            Event::LeadEnteredSegment(e) => Envelope::new(t, e),
            Event::LeadLeftSegment(e) => Envelope::new(t, e),
            Event::TriggerFired(e) => Envelope::new(t, e),
            Event::FollowUpDue(e) => Envelope::new(t, e),
            Event::SendingPaused(e) => Envelope::new(t, e),
            Event::CrmUpsert(e) => Envelope::new(t, &**e),
            Event::StepDue(e) => Envelope::new(t, e),
        }
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
            ACTIVITY_RECORDED_V1 => de(ACTIVITY_RECORDED_V1, detail, |e| {
                Event::ActivityRecorded(Box::new(e))
            }),
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
            LEAD_FOLLOW_UP_DUE_V1 => de(LEAD_FOLLOW_UP_DUE_V1, detail, Event::FollowUpDue),
            SENDING_PAUSED_V1 => de(SENDING_PAUSED_V1, detail, Event::SendingPaused),
            LEAD_CRM_UPSERT_V1 => de(LEAD_CRM_UPSERT_V1, detail, |e| {
                Event::CrmUpsert(Box::new(e))
            }),
            SEQUENCE_STEP_DUE_V1 => de(SEQUENCE_STEP_DUE_V1, detail, Event::StepDue),
            other => Err(DecodeError::UnknownType(other.to_owned())),
        }
    }

    /// Decodes an envelope.
    pub fn from_envelope(e: &Envelope) -> Result<Event, DecodeError> {
        Event::decode(&e.detail_type, &e.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activities::ActivityKind;
    use crate::events::Audience;
    use crate::ids::{ActivityId, LeadId};
    use crate::leads::Temperature;
    use chrono::TimeZone;
    use chrono::Utc;

    #[test]
    fn every_event_round_trips_through_its_envelope() {
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
        let events = [
            Event::ActivityRecorded(Box::new(ActivityRecorded {
                duplicate: false,
                activity_id: ActivityId::new("a1"),
                lead_id: Some(LeadId::new("L1")),
                visitor_id: None,
                kind: ActivityKind::PageView,
                at,
                broadcast_id: None,
                attrs: Default::default(),
            })),
            Event::LeadBecameHot(LeadBecameHot {
                lead_id: LeadId::new("L1"),
                crossing: 1,
                score: 55,
                previous: Temperature::Warm,
                at,
                alert: false,
                owner: Some("tanaka".into()),
                handoff: None,
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
                owner: None,
                handoff: None,
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
                owner: Some("tanaka".into()),
                handoff: None,
            }),
            Event::FollowUpDue(FollowUpDue {
                lead_id: LeadId::new("L1"),
                handoff: 1,
                kind: crate::scoring::events::FollowUpKind::Escalation,
                owner: Some("tanaka".into()),
                handed_off_at: at,
                due: at,
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
            Event::CrmUpsert(Box::new(crate::crm::events::CrmUpsert {
                id: "crm_1".into(),
                changes: vec![crate::crm::events::Change::Hot],
                lead_id: LeadId::new("L1"),
                email: "a@example.jp".into(),
                name: None,
                company: Some("Example".into()),
                title: None,
                phone: None,
                industry: None,
                company_size: None,
                region: None,
                score: 55,
                temperature: Temperature::Hot,
                mql: false,
                mql_at: None,
                stage: None,
                owner: Some("tanaka".into()),
                owner_email: Some("tanaka@example.jp".into()),
                segments: vec![],
                segment: None,
                sales_status: None,
                consent: true,
                created_at: at,
                version: 3,
                at,
            })),
            Event::StepDue(crate::sequences::events::StepDue {
                lead_id: LeadId::new("l1"),
                enrollment_id: crate::ids::EnrollmentId::new("e1"),
                sequence_id: "document_followup".into(),
                step: 0,
                due_at: at,
            }),
        ];
        for t in DETAIL_TYPES {
            assert!(events.iter().any(|e| e.detail_type() == t), "{t} untested");
        }
        for e in events {
            assert_eq!(e.envelope().detail_type, e.detail_type());
            assert_eq!(Event::from_envelope(&e.envelope()).unwrap(), e);
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
