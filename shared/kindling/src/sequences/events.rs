//! What step mail publishes: a step that became due as its lead was enrolled, so that it goes
//! out now instead of at the next scheduled run.

use crate::events::Envelope;
use crate::ids::{EnrollmentId, LeadId, SequenceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `sequence.step_due.v1`: an enrollment's step is due now (a day-0 thank-you, a trigger mail
/// at `0m`). The send-steps function takes it and sends that one step at once, with every check
/// of a scheduled run; the scheduled run is the safety net if the event is lost.
pub const SEQUENCE_STEP_DUE_V1: &str = "sequence.step_due.v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDue {
    pub lead_id: LeadId,
    pub enrollment_id: EnrollmentId,
    pub sequence_id: SequenceId,
    pub step: u32,
    pub due_at: DateTime<Utc>,
}

impl StepDue {
    /// Its envelope on the bus.
    pub fn envelope(&self) -> Envelope {
        Envelope::new(SEQUENCE_STEP_DUE_V1, self)
    }
}
