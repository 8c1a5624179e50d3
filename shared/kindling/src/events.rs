//! The event bus, beneath the capabilities: source `kindling`, versioned detail-types, and the
//! envelope every event travels in. Each payload is declared by the capability that publishes
//! it (`tracking::events`, `scoring::events`, `deliverability::events`); the catalog of every
//! event, which consumers decode, is the assembly's ([`crate::app::events`]).

use crate::ports::PortResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The `source` of every Kindling event.
pub const SOURCE: &str = "kindling";

/// An event as it travels: its versioned detail-type and its detail as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub detail_type: String,
    pub detail: String,
}

impl Envelope {
    /// The envelope of `payload` under `detail_type`.
    pub fn new(detail_type: &str, payload: &impl Serialize) -> Envelope {
        Envelope {
            detail_type: detail_type.to_owned(),
            // Serializing these plain structs cannot fail.
            detail: serde_json::to_string(payload).unwrap_or_default(),
        }
    }
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

/// Publishes events; at-least-once; a failure means none may be assumed delivered.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes every event or fails.
    async fn publish(&self, events: &[Envelope]) -> PortResult<()>;
}
