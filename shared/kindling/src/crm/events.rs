//! What goes to the CRM: [`CrmUpsert`], one flat record of the lead as it is now and the
//! changes that sent it, published on the bus as `lead.crm_upsert.v1`. On AWS an EventBridge rule
//! hands it to the API destination (its input transformer maps these fields to the CRM's body);
//! locally the bus delivers it as a signed webhook. Flat, with every field present (`null` when
//! unknown), so an input transformer's paths always resolve.

use crate::ids::LeadId;
use crate::leads::Temperature;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Detail-type of [`CrmUpsert`].
pub const LEAD_CRM_UPSERT_V1: &str = "lead.crm_upsert.v1";

/// A change the CRM hears about (`[crm] changes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The lead's first form submission made it.
    Created,
    /// A later submission changed its profile.
    Updated,
    Mql,
    Hot,
    /// It moved to another buying stage.
    Stage,
    /// Routing gave it an owner.
    Owner,
    /// It entered a segment.
    Segment,
}

crate::named!(Change {
    Created = "created",
    Updated = "updated",
    Mql = "mql",
    Hot = "hot",
    Stage = "stage",
    Owner = "owner",
    Segment = "segment",
});

impl Change {
    /// Every change, the default of `[crm] changes`.
    pub const ALL: [Change; 7] = [
        Change::Created,
        Change::Updated,
        Change::Mql,
        Change::Hot,
        Change::Stage,
        Change::Owner,
        Change::Segment,
    ];
}

/// The lead as the CRM should hold it, upserted by `email` (or by `lead_id` as an external id),
/// so delivering it twice leaves one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmUpsert {
    /// The same change of the same lead always has the same id: the webhook's `webhook-id`,
    /// by which a receiver drops a redelivery.
    pub id: String,
    pub changes: Vec<Change>,
    pub lead_id: LeadId,
    pub email: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub industry: Option<String>,
    pub company_size: Option<String>,
    pub region: Option<String>,
    pub score: i64,
    pub temperature: Temperature,
    pub mql: bool,
    pub mql_at: Option<DateTime<Utc>>,
    pub stage: Option<String>,
    /// The owner's rep id and address.
    pub owner: Option<String>,
    pub owner_email: Option<String>,
    /// The segments the lead is in now.
    pub segments: Vec<String>,
    /// The segment it just entered (with [`Change::Segment`]).
    pub segment: Option<String>,
    pub sales_status: Option<String>,
    pub consent: bool,
    pub created_at: DateTime<Utc>,
    /// The lead's version when read: a receiver that keeps the highest it saw ignores an older
    /// upsert that arrives late.
    pub version: u64,
    /// When the change happened.
    pub at: DateTime<Utc>,
}
