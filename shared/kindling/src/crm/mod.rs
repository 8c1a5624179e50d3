//! The CRM, both ways. Out (MA→SFA): each change `[crm] changes` names (a lead created or
//! updated by a form, an MQL, a hot crossing, a stage move, an owner, a segment entered)
//! publishes one [`events::CrmUpsert`] of the lead as it is now, with an id that names the change,
//! so a redelivery is the same message and an upsert keyed by email or external id never makes a
//! second record. The bus carries it to the CRM: EventBridge's API destination on AWS, the local
//! bus's signed webhook ([`webhook`]) locally, each retried for 24 hours, then dead-lettered
//! ([`ports::SyncLedger`] reports and replays). In (SFA→MA): `POST /hooks/crm/{source}`
//! ([`inbound`]) sets a lead's sales status, owner, deal amount and BANT.

pub mod config;
pub mod events;
pub mod inbound;
pub mod ports;
pub mod recipes;
pub mod webhook;

use crate::error::Result;
use crate::events::{Envelope, EventBus};
use crate::ids::LeadId;
use crate::leads::ports::LeadStore;
use crate::leads::Lead;
use chrono::{DateTime, Utc};
use events::{Change, CrmUpsert, LEAD_CRM_UPSERT_V1};
use sha2::{Digest, Sha256};

/// What syncing to the CRM touches.
pub struct Crm<'a> {
    /// `[crm]`; `None`: nothing goes to a CRM.
    pub config: Option<&'a config::Settings>,
    pub routing: &'a crate::routing::Settings,
    pub leads: &'a dyn LeadStore,
    pub bus: &'a dyn EventBus,
}

/// One change to tell the CRM of: which, naming what (`key`: the same change always has the
/// same key, e.g. the crossing's number), when.
#[derive(Debug, Clone)]
pub struct Changed<'a> {
    pub lead: &'a LeadId,
    pub changes: Vec<Change>,
    pub key: String,
    pub at: DateTime<Utc>,
    /// The segment entered, with [`Change::Segment`].
    pub segment: Option<&'a str>,
}

/// Publishes the upsert of a change, if `[crm]` syncs any of its changes and the lead exists.
/// Returns what was published.
#[tracing::instrument(name = "crm_sync", skip_all, fields(lead_id = %c.lead, key = %c.key))]
pub async fn sync(crm: &Crm<'_>, c: Changed<'_>) -> Result<Option<CrmUpsert>> {
    let Some(config) = crm.config else {
        return Ok(None);
    };
    let changes: Vec<Change> = c.changes.into_iter().filter(|x| config.syncs(*x)).collect();
    if changes.is_empty() {
        return Ok(None);
    }
    let Some(lead) = crm.leads.get_lead(c.lead).await? else {
        return Ok(None);
    };
    let upsert = upsert_of(crm, &lead, changes, &c.key, c.at, c.segment);
    publish(crm, upsert).await.map(Some)
}

/// Publishes the upsert of a change of `lead`, already read (a form's, which read it to tell
/// created from updated), if `[crm]` syncs any of `changes`.
pub async fn sync_read(
    crm: &Crm<'_>,
    lead: &Lead,
    changes: Vec<Change>,
    key: String,
    at: DateTime<Utc>,
) -> Result<Option<CrmUpsert>> {
    let Some(config) = crm.config else {
        return Ok(None);
    };
    let changes: Vec<Change> = changes.into_iter().filter(|x| config.syncs(*x)).collect();
    if changes.is_empty() {
        return Ok(None);
    }
    let upsert = upsert_of(crm, lead, changes, &key, at, None);
    publish(crm, upsert).await.map(Some)
}

async fn publish(crm: &Crm<'_>, upsert: CrmUpsert) -> Result<CrmUpsert> {
    crm.bus
        .publish(&[Envelope::new(LEAD_CRM_UPSERT_V1, &upsert)])
        .await?;
    Ok(upsert)
}

/// The message id of a change: `crm_` and 24 hex digits of SHA-256 over the lead and the key.
pub fn message_id(lead: &LeadId, key: &str) -> String {
    let digest = Sha256::digest(format!("{lead}\n{key}").as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("crm_{hex}")
}

/// The flat record of `lead` the CRM gets.
pub fn upsert_of(
    crm: &Crm<'_>,
    lead: &Lead,
    changes: Vec<Change>,
    key: &str,
    at: DateTime<Utc>,
    segment: Option<&str>,
) -> CrmUpsert {
    let p = &lead.profile;
    let owner = lead.owner.as_ref().map(|o| o.rep.clone());
    let owner_email = owner
        .as_deref()
        .and_then(|o| crm.routing.rep(o))
        .map(|r| r.email.to_string());
    CrmUpsert {
        id: message_id(&lead.id, key),
        changes,
        lead_id: lead.id.clone(),
        email: lead.email.to_string(),
        name: p.name.clone(),
        company: p.company.clone(),
        title: p.title.clone(),
        phone: p.phone.clone(),
        industry: p.industry.clone(),
        company_size: p.company_size.clone(),
        region: p.region.clone(),
        score: lead.score.total,
        temperature: lead.score.temperature,
        mql: lead.score.mql_at.is_some(),
        mql_at: lead.score.mql_at,
        stage: lead.stage().map(ToString::to_string),
        owner,
        owner_email,
        segments: lead.segments.keys().map(ToString::to_string).collect(),
        segment: segment.map(str::to_owned),
        sales_status: lead.sales.as_ref().map(|s| s.status.as_str().to_owned()),
        consent: lead.consent.is_some() && lead.unsubscribed_at.is_none(),
        created_at: lead.created_at,
        version: lead.version,
        at,
    }
}
