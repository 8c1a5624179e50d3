//! The activity log and the links from anonymous browsers to leads.

use crate::activities::Activity;
use crate::ids::{LeadId, VisitorId};
use crate::ports::{PortResult, Put};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

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
