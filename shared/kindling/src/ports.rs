//! Ports: the narrow capabilities the domain needs from the outside world. Every port has an
//! embedded adapter (`kindling-local`) and an AWS one (`kindling-aws`); the store ports share one
//! contract suite (`kindling-tests`).

use crate::activities::Activity;
use crate::deliverability::suppression::Suppression;
use crate::email::EmailAddress;
use crate::error::PortError;
use crate::events::{Audience, Event};
use crate::ids::{LeadId, VisitorId};
use crate::leads::Lead;
use crate::message::MessageKey;
use crate::sending::ledger::SendRecord;
use crate::sending::schedule::FrequencyCap;
use crate::sequences::Enrollment;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Result of a port call.
pub type PortResult<T> = Result<T, PortError>;

/// Outcome of a write that must happen at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written now.
    Created,
    /// Already there (a duplicate delivery or a lost race); nothing changed.
    Existed,
}

/// Outcome of an optimistic-concurrency update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// Written; the stored version is now `version + 1`.
    Updated,
    /// Someone else wrote first; re-read and try again.
    Stale,
}

/// Leads, unique by normalized email.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// The lead with this id.
    async fn get_lead(&self, id: &LeadId) -> PortResult<Option<Lead>>;
    /// The lead with this normalized address.
    async fn find_lead_by_email(&self, email: &EmailAddress) -> PortResult<Option<Lead>>;
    /// Inserts a new lead (version 0); `Existed` if the id or the address is taken.
    async fn insert_lead(&self, lead: &Lead) -> PortResult<Put>;
    /// Replaces the lead if the stored version equals `lead.version`, storing `version + 1`.
    async fn update_lead(&self, lead: &Lead) -> PortResult<Cas>;
    /// Up to `limit` lead ids after `after`, in an order the store defines and keeps (id order
    /// locally, scan order on DynamoDB): passing the last id of a page as `after` walks every lead
    /// once. Admin and batch use, never a request path.
    async fn list_lead_ids(&self, after: Option<&LeadId>, limit: usize) -> PortResult<Vec<LeadId>>;
    /// Up to `limit` leads whose `recheck_at` is at or before `now`, earliest first.
    async fn due_rechecks(&self, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<LeadId>>;
}

/// Which browsers belong to which lead.
#[async_trait]
pub trait VisitorLinks: Send + Sync {
    /// Ties a visitor to a lead; a visitor already tied to a lead keeps its first lead.
    async fn link_visitor(
        &self,
        visitor: &VisitorId,
        lead: &LeadId,
        at: DateTime<Utc>,
    ) -> PortResult<Put>;
    /// The lead a visitor is tied to.
    async fn lead_of_visitor(&self, visitor: &VisitorId) -> PortResult<Option<LeadId>>;
    /// Every visitor tied to a lead.
    async fn visitors_of_lead(&self, lead: &LeadId) -> PortResult<Vec<VisitorId>>;
}

/// The append-only activity log, idempotent by activity id.
#[async_trait]
pub trait ActivityLog: Send + Sync {
    /// Appends an activity; `Existed` if its id was recorded before (nothing changes).
    async fn record(&self, activity: &Activity) -> PortResult<Put>;
    /// Every activity recorded for a lead.
    async fn activities_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Activity>>;
    /// Every activity recorded for an anonymous visitor.
    async fn activities_of_visitor(&self, visitor: &VisitorId) -> PortResult<Vec<Activity>>;
}

/// Enrollments of leads in sequences.
#[async_trait]
pub trait EnrollmentStore: Send + Sync {
    /// Enrolls; `Existed` if the lead already has an enrollment in that sequence.
    async fn enroll(&self, enrollment: &Enrollment) -> PortResult<Put>;
    /// Every enrollment of a lead.
    async fn enrollments_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Enrollment>>;
    /// Active enrollments due at or before `now`, earliest first, at most `limit`.
    async fn due_enrollments(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Enrollment>>;
    /// Replaces the enrollment if the stored version equals `e.version`.
    async fn update_enrollment(&self, e: &Enrollment) -> PortResult<Cas>;
}

/// Outcome of claiming a step send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The claim is ours: send now.
    Claimed,
    /// The lead already had the cap's worth of mail in the window; try again at `until`.
    CapReached { until: DateTime<Utc> },
    /// This step was claimed before (by a crashed or concurrent sender): here is its record.
    Exists(SendRecord),
}

/// The record of every step send, and the frequency cap over them.
#[async_trait]
pub trait SendLog: Send + Sync {
    /// Atomically: if no record exists for `record.key` and the lead has fewer than `cap.max`
    /// sends (in any state but failed) claimed after `now - cap.window`, writes `record`.
    async fn claim_send(
        &self,
        record: &SendRecord,
        cap: FrequencyCap,
        now: DateTime<Utc>,
    ) -> PortResult<Claim>;
    /// Overwrites a claimed record with its outcome.
    async fn complete_send(&self, record: &SendRecord) -> PortResult<()>;
    /// Deletes a claim whose mail certainly did not go (a retryable provider error).
    async fn release_send(&self, key: &MessageKey) -> PortResult<()>;
    /// One record.
    async fn get_send(&self, key: &MessageKey) -> PortResult<Option<SendRecord>>;
    /// Every send record of a lead.
    async fn sends_of_lead(&self, lead: &LeadId) -> PortResult<Vec<SendRecord>>;
}

/// Addresses that receive nothing.
#[async_trait]
pub trait SuppressionList: Send + Sync {
    /// Suppresses an address; `Existed` if it already was (the first reason stays).
    async fn suppress(&self, s: &Suppression) -> PortResult<Put>;
    /// The suppression of an address, if any.
    async fn suppression(&self, email: &EmailAddress) -> PortResult<Option<Suppression>>;
}

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

/// One bucket of a tally series and its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub bucket: String,
    pub counts: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    /// A counter's value (0 if never counted).
    pub fn get(&self, counter: &str) -> u64 {
        self.counts.get(counter).copied().unwrap_or(0)
    }
}

/// Counters that count each unit once (A/B results per variant, deliverability per hour), and
/// named marks beside them (an A/B winner, when the bounce breaker was last reset).
#[async_trait]
pub trait Tallies: Send + Sync {
    /// Adds one to `counter` of `bucket` in `series` unless `unit` was counted there before
    /// (`Existed`: a redelivered event or a retried send changes nothing). Units are remembered
    /// for at least [`TALLY_UNIT_DAYS`] days.
    async fn tally_once(
        &self,
        series: &str,
        bucket: &str,
        counter: &str,
        unit: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Put>;
    /// The buckets of `series` from `from` to `to` inclusive (text order; `None`: unbounded), in
    /// bucket order.
    async fn tallies(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>>;
    /// Sets mark `name` of `series`. With `only_if_absent` the first value stays (`Existed`).
    async fn set_mark(
        &self,
        series: &str,
        name: &str,
        value: &str,
        only_if_absent: bool,
    ) -> PortResult<Put>;
    /// Every mark of `series`.
    async fn marks(&self, series: &str) -> PortResult<std::collections::BTreeMap<String, String>>;
}

/// How long a tally remembers the units it counted.
pub const TALLY_UNIT_DAYS: i64 = 35;

/// A fully built message for the mailer.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub key: MessageKey,
    pub from: EmailAddress,
    pub to: EmailAddress,
    /// RFC 5322 bytes, every header included.
    pub raw: Vec<u8>,
}

/// Why the mailer did not send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Throttled or a transient fault: the mail did not go; try later.
    #[error("retryable: {0}")]
    Retryable(String),
    /// The provider refused this message for good.
    #[error("rejected: {0}")]
    Rejected(String),
}

/// Sends raw MIME and returns the provider's message id.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message.
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError>;
}

/// Publishes events; at-least-once; a failure means none may be assumed delivered.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes every event or fails.
    async fn publish(&self, events: &[Event]) -> PortResult<()>;
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
    pub trigger: Option<String>,
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
    /// Should have been followed up by then; after that the lead is escalated.
    pub follow_up_by: DateTime<Utc>,
}

impl Alert {
    /// A one-line subject.
    pub fn subject(&self) -> String {
        let who = self.name.as_deref().unwrap_or(self.email.as_str());
        let who = match &self.company {
            Some(c) => format!("{who} ({c})"),
            None => who.to_owned(),
        };
        match &self.trigger {
            None => format!("Hot lead: {who}, score {}", self.score),
            Some(t) => format!("{t}: {who}, score {}", self.score),
        }
    }

    /// A readable body for people.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n\nFor: {}\nEmail: {}\nTitle: {}\nScore: {} ({})\nFollow up by: {}\n\nWhy:\n",
            self.subject(),
            self.audience.as_str(),
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

/// The current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// New unique ids (URL-safe, at most 32 characters).
pub trait Ids: Send + Sync {
    /// A fresh id.
    fn new_id(&self) -> String;
}

/// Every store port, for adapters that implement them all on one backend.
pub trait Store:
    LeadStore
    + VisitorLinks
    + ActivityLog
    + EnrollmentStore
    + SendLog
    + SuppressionList
    + AlertLog
    + Tallies
{
}
impl<
        T: LeadStore
            + VisitorLinks
            + ActivityLog
            + EnrollmentStore
            + SendLog
            + SuppressionList
            + AlertLog
            + Tallies,
    > Store for T
{
}

/// The stores a use case reads and writes, each behind its own port.
#[derive(Clone)]
pub struct Stores {
    pub leads: Arc<dyn LeadStore>,
    pub visitors: Arc<dyn VisitorLinks>,
    pub activities: Arc<dyn ActivityLog>,
    pub enrollments: Arc<dyn EnrollmentStore>,
    pub sends: Arc<dyn SendLog>,
    pub suppressions: Arc<dyn SuppressionList>,
    pub alerts: Arc<dyn AlertLog>,
    pub tallies: Arc<dyn Tallies>,
}

impl Stores {
    /// Every port served by one backend.
    pub fn from_one<S: Store + 'static>(store: Arc<S>) -> Self {
        Self {
            leads: store.clone(),
            visitors: store.clone(),
            activities: store.clone(),
            enrollments: store.clone(),
            sends: store.clone(),
            suppressions: store.clone(),
            alerts: store.clone(),
            tallies: store,
        }
    }
}
