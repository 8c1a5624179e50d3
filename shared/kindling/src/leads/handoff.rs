//! A lead in sales' hands: who owns it ([`crate::routing`]) and the follow-up clock of its
//! latest hand-off ([`crate::routing::follow_up`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who owns a lead in sales, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The rep's id.
    pub rep: String,
    /// The `[[routing]]` rule that chose it.
    pub rule: String,
    /// The team it was chosen from, for a team rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub at: DateTime<Utc>,
}

/// A hand-off to sales and its follow-up clock ([`crate::routing::follow_up`]): open until
/// sales marks the lead; its owner is reminded at `remind_at` and the escalation goes out at
/// `due` if nobody marked it by then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The lead's hand-offs so far, this one included.
    pub n: u32,
    /// Why: `hot`, `mql` or `trigger:<id>`.
    pub reason: String,
    pub at: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
    pub due: DateTime<Utc>,
    #[serde(default)]
    pub reminded: bool,
    #[serde(default)]
    pub escalated: bool,
    /// When sales first marked the lead after the hand-off: it closes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touched_at: Option<DateTime<Utc>>,
}

impl Handoff {
    /// Not yet touched by sales.
    pub fn is_open(&self) -> bool {
        self.touched_at.is_none()
    }

    /// When its clock next needs the lead looked at: the reminder, then the deadline.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        if !self.is_open() {
            None
        } else if !self.reminded {
            Some(self.remind_at)
        } else if !self.escalated {
            Some(self.due)
        } else {
            None
        }
    }
}
