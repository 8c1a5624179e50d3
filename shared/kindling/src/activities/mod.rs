//! Activities: everything a lead or an anonymous visitor did, the input of every score.

pub mod classify;
pub mod log;
mod matcher;
pub mod pages;
pub mod ports;

pub use matcher::Matcher;

use crate::activities::classify::Agent;
use crate::ids::{ActivityId, BroadcastId, EnrollmentId, LeadId, VisitorId};
use crate::message::{MessageKey, MessageRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Days a browser's own history is kept (the lifetime of kindling.js's cookie): DynamoDB expires
/// visitor activities by TTL, the local store sweeps them.
pub const VISITOR_HISTORY_DAYS: i64 = 395;

/// Who did it: a known lead, or a browser not yet tied to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Subject {
    Lead(LeadId),
    Visitor(VisitorId),
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    PageView,
    /// A page was hidden or left; `dwell_ms` is how long it was visible.
    PageLeave,
    /// The first input in a tracked form (abandonment triggers).
    FormStarted,
    FormSubmitted,
    DocumentDownload,
    SeminarSignup,
    ConsultationRequest,
    EmailSent,
    EmailOpen,
    EmailClick,
    Unsubscribed,
    /// The lead left one topic (the preference page, or a one-click from a mail of it); `topic`
    /// says which. Leaving everything is [`ActivityKind::Unsubscribed`].
    TopicLeft,
}

impl ActivityKind {
    /// Every kind, for validation messages.
    pub const ALL: [ActivityKind; 12] = [
        Self::PageView,
        Self::PageLeave,
        Self::FormStarted,
        Self::FormSubmitted,
        Self::DocumentDownload,
        Self::SeminarSignup,
        Self::ConsultationRequest,
        Self::EmailSent,
        Self::EmailOpen,
        Self::EmailClick,
        Self::Unsubscribed,
        Self::TopicLeft,
    ];

    /// The snake_case name used in configuration, events and storage.
    pub fn as_str(self) -> &'static str {
        crate::names::Named::name(self)
    }

    /// A form's submission, whichever activity the form records.
    pub fn is_form_submission(self) -> bool {
        matches!(
            self,
            Self::FormSubmitted
                | Self::DocumentDownload
                | Self::SeminarSignup
                | Self::ConsultationRequest
        )
    }
}

crate::named!(ActivityKind {
    PageView = "page_view",
    PageLeave = "page_leave",
    FormStarted = "form_started",
    FormSubmitted = "form_submitted",
    DocumentDownload = "document_download",
    SeminarSignup = "seminar_signup",
    ConsultationRequest = "consultation_request",
    EmailSent = "email_sent",
    EmailOpen = "email_open",
    EmailClick = "email_click",
    Unsubscribed = "unsubscribed",
    TopicLeft = "topic_left",
});

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivityKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        crate::names::Named::from_name(s).ok_or(())
    }
}

/// Details that rules and triggers match on. Only what the kind needs is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_id: Option<crate::ids::FormId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_id: Option<crate::ids::SequenceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_id: Option<EnrollmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// The broadcast an open, a click or a send belongs to (instead of an enrollment and step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<BroadcastId>,
    /// Index of the clicked link in the mail as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<u16>,
    /// The browser that did it, when known (ties a lead's page views to its devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<VisitorId>,
    /// Visible time of a page (`page_leave`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwell_ms: Option<u64>,
    /// Campaign parameters of a page view's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    /// Host of the page the visitor came from (not the full URL: items stay small and private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_host: Option<String>,
    /// The browser's IANA time zone, from kindling.js.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Who made an open or a click (absent: a person, as before classification existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// Why it was classified so (`apple_mail_privacy_protection`, `clicked_at_delivery`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The template a step's mail was rendered from (an A/B variant's own), on its send, opens
    /// and clicks: what the KPIs break down by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<crate::ids::TemplateId>,
    /// When the mail an open or a click concerns was sent: the KPIs count a mail's reactions
    /// in the period of its send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// The topic a lead left (`topic_left`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<crate::ids::TopicId>,
}

impl Attrs {
    /// Nothing set.
    pub fn is_empty(&self) -> bool {
        *self == Attrs::default()
    }

    /// The attributes that tie an activity to the mail `key` (and its sequence, for a step).
    pub fn of_message(key: &MessageKey, sequence_id: Option<crate::ids::SequenceId>) -> Self {
        match key {
            MessageKey::Step {
                enrollment_id,
                step,
                ..
            } => Attrs {
                enrollment_id: Some(enrollment_id.clone()),
                step: Some(*step),
                sequence_id,
                ..Attrs::default()
            },
            MessageKey::Broadcast { broadcast_id, .. } => Attrs {
                broadcast_id: Some(broadcast_id.clone()),
                ..Attrs::default()
            },
        }
    }

    /// The mail this activity concerns, for once-per-message rules and per-mail bursts.
    pub fn message_ref(&self) -> Option<MessageRef<'_>> {
        if let Some(b) = &self.broadcast_id {
            return Some(MessageRef::Broadcast(b));
        }
        Some(MessageRef::Step(self.enrollment_id.as_ref()?, self.step?))
    }
}

/// One thing that happened, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: ActivityId,
    pub subject: Subject,
    pub kind: ActivityKind,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub attrs: Attrs,
}

impl Activity {
    /// The lead this activity belongs to, if it is known.
    pub fn lead_id(&self) -> Option<&LeadId> {
        match &self.subject {
            Subject::Lead(id) => Some(id),
            Subject::Visitor(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in ActivityKind::ALL {
            assert_eq!(k.as_str().parse::<ActivityKind>(), Ok(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert!("nope".parse::<ActivityKind>().is_err());
    }
}

#[cfg(test)]
mod kind_tests {
    use super::ActivityKind;

    #[test]
    fn kinds_index_their_position_in_all() {
        // Scoring indexes rules by `kind as usize`.
        for (i, k) in ActivityKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k}");
        }
    }
}
