//! The send ledger: one record per mail, claimed before the provider is called and completed
//! after, so a mail goes out at most once (see [`super::ports::SendLog`]).

use crate::message::MessageKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A claim younger than this may belong to a sender that is still working; older ones were
/// abandoned by a crash and become `unknown` (steps and broadcasts alike).
pub const CLAIM_LEASE_MINUTES: i64 = 10;

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Claimed; the provider has been or is being called.
    Sending,
    /// The provider accepted it.
    Sent,
    /// The provider rejected it for good.
    Failed,
    /// A claim was found unfinished: the mail may or may not have gone. Never retried blindly.
    Unknown,
}

impl SendState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

/// The record of one mail: claimed before sending, completed after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRecord {
    pub key: MessageKey,
    /// The sequence of a step's mail; `None` for a broadcast's.
    pub sequence_id: Option<crate::ids::SequenceId>,
    /// The template a step's mail was rendered from; a broadcast's own id for a broadcast.
    pub template: crate::ids::TemplateId,
    pub state: SendState,
    pub claimed_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub provider_message_id: Option<String>,
    /// Destinations of the mail's tracked links, by index: a click redirects only here.
    pub links: Vec<String>,
    pub error: Option<String>,
}
