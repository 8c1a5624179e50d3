//! What deliverability publishes: `sending.paused.v1`.

use crate::events::Envelope;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Detail-type of [`SendingPaused`].
pub const SENDING_PAUSED_V1: &str = "sending.paused.v1";

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

impl SendingPaused {
    /// Its envelope on the bus.
    pub fn envelope(&self) -> Envelope {
        Envelope::new(SENDING_PAUSED_V1, self)
    }
}
