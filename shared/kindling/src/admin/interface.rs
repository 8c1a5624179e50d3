//! Every admin operation, declared once: the [`Admin`] trait, its requests (what a person or a
//! tool asks, as the JSON bodies of the admin routes) and its typed answers. Two backends
//! implement it: [`super::InProcess`] over a running Kindling's stores (the CLI locally, and
//! every admin route handler), and the CLI's HTTP client against a deployed stack or a
//! `kindling serve`. Both return the same answers and the same errors (kind and message), which
//! the admin contract suite checks; only a failing store or API is worded by each side (a port
//! error either way: the API answers a 503 and keeps the cause in its log).
//!
//! Requests carry what was typed (ids and addresses as strings, times as "2026-12-08 10:00"):
//! checking them is the in-process backend's job, so a bad value gets the same message however it
//! arrives.

use crate::admin::segments::{SegmentSummary, SegmentView};
use crate::admin::LeadReport;
use crate::broadcasts::ab::Spec;
use crate::broadcasts::moves::Move;
use crate::broadcasts::status::Status;
use crate::broadcasts::test_send::TestReport;
use crate::broadcasts::{Audience, Schedule, State};
use crate::deliverability::{Resumed, SendingStatus};
use crate::error::Result;
use crate::ids::{BroadcastId, LeadId, TopicId};
use crate::kpis::{KpiQuery, KpiReport};
use crate::leads::SalesMark;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The admin operations. Errors: `Invalid` (bad input; HTTP 400), `NotFound` (404), `Refused`
/// (the state does not allow it; 409), `Port` (a store or the API failed; 503, retry).
#[async_trait::async_trait]
pub trait Admin: Send + Sync {
    /// A lead's report, by id or address.
    async fn lead(&self, lead: &str) -> Result<LeadReport>;
    /// The KPIs of a range of days.
    async fn kpis(&self, query: &KpiQuery) -> Result<KpiReport>;
    /// The 15-point checklist of the program, with evidence and a verdict.
    async fn diagnose(&self) -> Result<super::diagnose::Diagnosis>;
    /// The KPI report page (self-contained HTML) of a range of days: the KPIs of the query's
    /// since, until and period, broken down as the report shows them, and the diagnosis.
    async fn report(&self, query: &KpiQuery) -> Result<String>;
    /// Records where sales stands with a lead, and rescores it.
    async fn mark_lead(&self, lead: &str, mark: &MarkLead) -> Result<Marked>;
    /// Whether step mails are sending or paused by the breaker.
    async fn sending(&self) -> Result<SendingStatus>;
    /// Resumes step mails after the breaker paused them.
    async fn resume_sending(&self, resume: &ResumeSending) -> Result<Resumed>;
    /// Every segment with its count, in file order.
    async fn segments(&self) -> Result<Vec<SegmentSummary>>;
    /// One segment with a page of its members.
    async fn segment(&self, segment: &str, page: &SegmentPage) -> Result<SegmentView>;
    /// Every broadcast, newest first, without content.
    async fn broadcasts(&self) -> Result<Vec<BroadcastRow>>;
    /// One broadcast with its progress.
    async fn broadcast(&self, broadcast: &str) -> Result<Status>;
    /// Creates a draft.
    async fn create_broadcast(&self, create: &CreateBroadcast) -> Result<Created>;
    /// Changes a broadcast that has not started (voids its approval).
    async fn edit_broadcast(&self, broadcast: &str, edit: &EditBroadcast) -> Result<Status>;
    /// A move of its lifecycle.
    async fn move_broadcast(&self, broadcast: &str, mv: Move, by: &Actor) -> Result<Status>;
    /// The exact mail (RFC 5322 bytes) one address would get.
    async fn preview_broadcast(&self, broadcast: &str, lead: &str) -> Result<Vec<u8>>;
    /// The mail, marked `[TEST]` and untracked, to configured reviewers.
    async fn test_broadcast(&self, broadcast: &str, test: &TestBroadcast) -> Result<TestReport>;
    /// The CRM sync's health: backlog, last success, failures with reasons.
    async fn sync_status(&self) -> Result<crate::crm::ports::SyncStatus>;
    /// Delivers dead CRM upserts again: the one of `id`, or every dead one.
    async fn replay_sync(&self, replay: &ReplaySync) -> Result<Replayed>;
}

/// `sync replay <id|--dead>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySync {
    /// One dead upsert's id (`crm_...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Every dead upsert.
    #[serde(default)]
    pub dead: bool,
}

/// What a replay put back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    pub replayed: Vec<String>,
}

/// Who acts on a broadcast (kept in its history). On AWS the signing IAM principal replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `lead mark`: a sales status, an optional note and the deal's amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkLead {
    /// `working`, `opportunity`, `won`, `lost` or `disqualified`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `1500000` or `"1234.50"` (at most two decimals), with `opportunity` or `won`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// ISO 4217 (default `[kpis] currency`), only with an amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

pub use crate::leads::Amount;

/// What a sales mark answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marked {
    pub lead_id: LeadId,
    pub email: String,
    pub sales: Option<SalesMark>,
}

/// `sending resume`: why it is safe now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeSending {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which page of a segment's members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentPage {
    /// A cursor an earlier page returned (`next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// 1 to [`super::segments::MAX_MEMBERS_PAGE`]; default [`super::segments::MEMBERS_PAGE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// One broadcast in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastRow {
    pub id: BroadcastId,
    pub name: String,
    pub state: State,
    pub audience: Audience,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicId>,
    pub schedule: Schedule,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Approved as it is now.
    pub approved: bool,
}

/// Who a broadcast goes to, as a request names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum AudienceSpec {
    /// Every member of a segment.
    Segment { segment: String },
    /// Every consenting lead.
    All,
    /// Exactly the recipients of a broadcast (a correction).
    RecipientsOf { broadcast: String },
}

/// A broadcast's content: a template of the program's `templates/`, or its parts by language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<BTreeMap<String, PartSpec>>,
}

/// One language's template source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartSpec {
    pub txt: String,
    pub html: String,
}

/// `broadcast create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBroadcast {
    /// Its id (default: a fresh one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub audience: AudienceSpec,
    pub content: ContentSpec,
    /// "2026-12-08 10:00" ([`crate::broadcasts::TIME_FORMAT`]).
    pub at: String,
    /// At that wall-clock time in each lead's own zone.
    #[serde(default)]
    pub local: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// What creating a broadcast answers: its status and the content lint's warnings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    #[serde(flatten)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `broadcast edit`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBroadcast {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<AudienceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Only with `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// A new A/B test, replacing the one it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab: Option<Spec>,
    /// Remove its A/B test.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove_ab: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `broadcast test`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBroadcast {
    /// Some of `[broadcasts.test_send] addresses`; empty: all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// Render with this lead's profile (found by address).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub as_lead: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}
