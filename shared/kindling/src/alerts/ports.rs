//! The alert log (each alert once) and the notifier (sales, support, ops).

use crate::email::EmailAddress;
use crate::events::Audience;
use crate::ids::LeadId;
use crate::ports::PortResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// State of one sales alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertClaim {
    /// Nobody has sent it: send now.
    New,
    /// A previous attempt claimed it and did not finish.
    Pending,
    /// It was sent.
    Sent,
}

/// Alerts, so that each hot crossing (or each day of paused sending) alerts once.
#[async_trait]
pub trait AlertLog: Send + Sync {
    /// Claims the alert `key` (creating it as pending) and says what state it was in. `about`
    /// is what it concerns: a lead id, or `sending` for an ops alert.
    async fn claim_alert(
        &self,
        key: &str,
        about: &str,
        now: DateTime<Utc>,
    ) -> PortResult<AlertClaim>;
    /// Marks a claimed alert sent.
    async fn mark_alert_sent(&self, key: &str, at: DateTime<Utc>) -> PortResult<()>;
    /// Forgets a claim whose notification failed, so a retry sends it.
    async fn release_alert(&self, key: &str) -> PortResult<()>;
}

/// An alert to a team: sales for a hot lead or a sales trigger, support for a support trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub key: String,
    /// Who it is for (SNS subscriptions filter on the `audience` attribute).
    #[serde(default)]
    pub audience: Audience,
    /// The trigger that raised it; `None` for a hot lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<crate::ids::TriggerId>,
    pub lead_id: LeadId,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub score: i64,
    pub temperature: crate::leads::Temperature,
    /// Why: the trigger's reason first, then the rules that scored, biggest first:
    /// `pricing_page_view x3 = +45`.
    pub reasons: Vec<String>,
    pub at: DateTime<Utc>,
    /// Should have been followed up by then.
    pub follow_up_by: DateTime<Utc>,
    /// The rep who owns the lead (`[[routing]]`): the alert is theirs. `None`: the team's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<AlertOwner>,
    /// A hand-off's reminder or escalation (`None`: a hot lead or a trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<crate::scoring::events::FollowUpKind>,
}

/// Who an alert is for, by name: a rep of `[[reps]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertOwner {
    /// The rep's id (the `owner` message attribute on AWS).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: EmailAddress,
}

impl Alert {
    /// A one-line subject.
    pub fn subject(&self) -> String {
        let who = self.name.as_deref().unwrap_or(self.email.as_str());
        let who = match &self.company {
            Some(c) => format!("{who} ({c})"),
            None => who.to_owned(),
        };
        use crate::scoring::events::FollowUpKind;
        match (&self.follow_up, &self.trigger) {
            (Some(FollowUpKind::Reminder), _) => format!("Reminder, follow up: {who}"),
            (Some(FollowUpKind::Escalation), _) => format!("Escalation, not followed up: {who}"),
            (None, None) => format!("Hot lead: {who}, score {}", self.score),
            (None, Some(t)) => format!("{t}: {who}, score {}", self.score),
        }
    }

    /// A readable body for people.
    pub fn body(&self) -> String {
        let owner = self.owner.as_ref().map_or_else(
            || format!("{} (no owner)", self.audience.as_str()),
            |o| match &o.name {
                Some(n) => format!("{n} <{}>", o.email),
                None => o.email.to_string(),
            },
        );
        let mut s = format!(
            "{}\n\nFor: {}\nEmail: {}\nTitle: {}\nScore: {} ({})\nFollow up by: {}\n\nWhy:\n",
            self.subject(),
            owner,
            self.email,
            self.title.as_deref().unwrap_or("-"),
            self.score,
            self.temperature,
            self.follow_up_by.format("%Y-%m-%d %H:%M UTC"),
        );
        for r in &self.reasons {
            s.push_str("  - ");
            s.push_str(r);
            s.push('\n');
        }
        s
    }
}

/// An alert to whoever runs Kindling (no lead data): sending paused by the breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpsAlert {
    pub key: String,
    /// Always [`Audience::Ops`].
    pub audience: Audience,
    /// What happened, snake_case: `sending_paused`.
    pub kind: String,
    /// One line, ASCII.
    pub subject: String,
    /// For people: what happened, the numbers, and what to do.
    pub body: String,
    pub at: DateTime<Utc>,
}

/// Tells sales, support or ops.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers one alert about a lead.
    async fn notify(&self, alert: &Alert) -> PortResult<()>;
    /// Delivers one alert to ops.
    async fn notify_ops(&self, alert: &OpsAlert) -> PortResult<()>;
}
