//! Events on the bus: source `kindling`, versioned detail-types, one payload struct each.

use crate::activity::ActivityKind;
use crate::ids::{ActivityId, LeadId, VisitorId};
use crate::score::Temperature;
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
}

/// Every event Kindling publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ActivityRecorded(ActivityRecorded),
    LeadBecameHot(LeadBecameHot),
}

/// Detail-type of [`ActivityRecorded`].
pub const ACTIVITY_RECORDED_V1: &str = "activity.recorded.v1";
/// Detail-type of [`LeadBecameHot`].
pub const LEAD_BECAME_HOT_V1: &str = "lead.became_hot.v1";

/// Every detail-type, for the infrastructure's rule patterns.
pub const DETAIL_TYPES: [&str; 2] = [ACTIVITY_RECORDED_V1, LEAD_BECAME_HOT_V1];

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
            Event::LeadBecameHot(_) => LEAD_BECAME_HOT_V1,
        }
    }

    /// The detail as JSON.
    pub fn detail_json(&self) -> String {
        let r = match self {
            Event::ActivityRecorded(e) => serde_json::to_string(e),
            Event::LeadBecameHot(e) => serde_json::to_string(e),
        };
        // Serializing these plain structs cannot fail.
        r.unwrap_or_default()
    }

    /// Decodes a detail-type and its JSON detail.
    pub fn decode(detail_type: &str, detail: &str) -> Result<Event, DecodeError> {
        match detail_type {
            ACTIVITY_RECORDED_V1 => serde_json::from_str(detail)
                .map(Event::ActivityRecorded)
                .map_err(|e| DecodeError::Malformed(ACTIVITY_RECORDED_V1, e)),
            LEAD_BECAME_HOT_V1 => serde_json::from_str(detail)
                .map(Event::LeadBecameHot)
                .map_err(|e| DecodeError::Malformed(LEAD_BECAME_HOT_V1, e)),
            other => Err(DecodeError::UnknownType(other.to_owned())),
        }
    }
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
            }),
            Event::LeadBecameHot(LeadBecameHot {
                lead_id: LeadId::new("L1"),
                crossing: 1,
                score: 55,
                previous: Temperature::Warm,
                at,
            }),
        ];
        for e in events {
            assert_eq!(Event::decode(e.detail_type(), &e.detail_json()).unwrap(), e);
        }
        assert!(matches!(
            Event::decode("lead.exploded.v9", "{}"),
            Err(DecodeError::UnknownType(_))
        ));
        assert!(matches!(
            Event::decode(LEAD_BECAME_HOT_V1, "{\"lead_id\":1}"),
            Err(DecodeError::Malformed(..))
        ));
    }
}
