//! What tracking publishes: `activity.recorded.v1`.

use crate::activities::ActivityKind;
use crate::events::Envelope;
use crate::ids::{ActivityId, LeadId, VisitorId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Detail-type of [`ActivityRecorded`].
pub const ACTIVITY_RECORDED_V1: &str = "activity.recorded.v1";

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
    /// The activity's details (its mail, form, campaign, who made it), for those that count
    /// it without reading it back (the KPIs).
    #[serde(default, skip_serializing_if = "crate::activities::Attrs::is_empty")]
    pub attrs: crate::activities::Attrs,
    /// Its id was recorded before (a redelivery): scoring places it only if it still holds the
    /// first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

impl ActivityRecorded {
    /// The activity announced.
    pub fn activity(&self) -> crate::activities::Activity {
        use crate::activities::Subject;
        crate::activities::Activity {
            id: self.activity_id.clone(),
            subject: match (&self.lead_id, &self.visitor_id) {
                (Some(l), _) => Subject::Lead(l.clone()),
                (None, Some(v)) => Subject::Visitor(v.clone()),
                (None, None) => Subject::Lead(crate::ids::LeadId::new("")),
            },
            kind: self.kind,
            at: self.at,
            attrs: self.attrs.clone(),
        }
    }
}

impl ActivityRecorded {
    /// Its envelope on the bus.
    pub fn envelope(&self) -> Envelope {
        Envelope::new(ACTIVITY_RECORDED_V1, self)
    }
}
