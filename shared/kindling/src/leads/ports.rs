//! The lead store port.

use crate::email::EmailAddress;
use crate::ids::LeadId;
use crate::leads::Lead;
use crate::ports::{Cas, PortResult, Put};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Leads, unique by normalized email.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// The lead with this id.
    async fn get_lead(&self, id: &LeadId) -> PortResult<Option<Lead>>;
    /// The leads of these ids that exist, in any order: one batched read where the store has
    /// one (a sender's page, a freeze's page).
    async fn get_leads(&self, ids: &[LeadId]) -> PortResult<Vec<Lead>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.get_lead(id).await?);
        }
        Ok(out)
    }
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
