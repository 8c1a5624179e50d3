//! Suppressions: addresses that receive nothing, ever.

use crate::email::EmailAddress;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Unsubscribed,
    Bounced,
    /// Soft-bounced `[sending.soft_bounces] count` times with no delivery in between.
    SoftBounced,
    Complained,
    Manual,
}

impl SuppressionReason {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
            Self::SoftBounced => "soft_bounced",
            Self::Complained => "complained",
            Self::Manual => "manual",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Unsubscribed,
            Self::Bounced,
            Self::SoftBounced,
            Self::Complained,
            Self::Manual,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One suppressed address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub email: EmailAddress,
    pub reason: SuppressionReason,
    pub at: DateTime<Utc>,
}
