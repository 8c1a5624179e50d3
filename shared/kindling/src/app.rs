//! The wired application: [`Kindling`] holds what every use case may need (built once per
//! process), and [`handle_event`] routes each bus event to the capability that acts on it.
//! Handlers (HTTP, events, schedules) parse their input, call a capability's use case, and map
//! the result.

use crate::activities::ports::{ActivityLog, VisitorLinks};
use crate::alerts::ports::AlertLog;
use crate::alerts::ports::Notifier;
use crate::config::Config;
use crate::deliverability::ports::SuppressionList;
use crate::error::Error;
use crate::events::Event;
use crate::events::EventBus;
use crate::leads::ports::LeadStore;
use crate::ports::Tallies;
use crate::ports::{Clock, Ids};
use crate::sending::ports::SendLog;
use crate::sequences::ports::EnrollmentStore;
use crate::token::SigningKeys;
use std::sync::Arc;

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

/// Everything a use case may need, wired once per process (cold start).
#[derive(Clone)]
pub struct Kindling {
    pub config: Arc<Config>,
    pub keys: Arc<SigningKeys>,
    pub stores: Stores,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
}

/// How many times an optimistic update is retried before giving up with a conflict.
pub(crate) const CAS_ATTEMPTS: usize = 5;

pub(crate) fn conflict(what: impl std::fmt::Display) -> Error {
    Error::Conflict(what.to_string())
}

/// Handles one bus event: an activity rescores its lead (and runs its triggers); a hot crossing
/// alerts sales; a trigger with an alert alerts its team. Returns
/// `Err` for the platform to retry (see [`Error::is_retryable`]).
#[tracing::instrument(name = "handle_event", skip_all, fields(detail_type = event.detail_type()))]
pub async fn handle_event(
    k: &Kindling,
    notifier: &dyn Notifier,
    event: &Event,
) -> Result<(), Error> {
    match event {
        Event::ActivityRecorded(e) => on_activity_recorded(k, e).await,
        Event::LeadBecameHot(e) => crate::alerts::notify_hot_lead(k, notifier, e)
            .await
            .map(|_| ()),
        Event::TriggerFired(e) => crate::alerts::notify_trigger(k, notifier, e)
            .await
            .map(|_| ()),
        Event::SendingPaused(e) => crate::deliverability::notify_sending_paused(k, notifier, e)
            .await
            .map(|_| ()),
        // Published for integrations (a CRM, analytics): nothing in Kindling acts on them.
        Event::LeadBecameWarm(_) | Event::LeadCooled(_) | Event::LeadBecameMql(_) => Ok(()),
    }
}

/// Rescores the lead an activity belongs to. An anonymous browser's activity scores once the
/// browser belongs to a lead (resolved here, off the tracking request's path).
#[tracing::instrument(name = "on_activity_recorded", skip_all, fields(activity_id = %e.activity_id))]
pub async fn on_activity_recorded(
    k: &Kindling,
    e: &crate::events::ActivityRecorded,
) -> Result<(), Error> {
    let lead = match (&e.lead_id, &e.visitor_id) {
        (Some(lead), _) => Some(lead.clone()),
        (None, Some(visitor)) => k.stores.visitors.lead_of_visitor(visitor).await?,
        (None, None) => None,
    };
    if let Some(lead) = lead {
        crate::scoring::rescore_lead(k, &lead).await?;
        if matches!(
            e.kind,
            crate::activities::ActivityKind::EmailOpen
                | crate::activities::ActivityKind::EmailClick
        ) {
            crate::sequences::ab::count_engagement(k, &lead, &e.activity_id).await?;
        }
    }
    Ok(())
}
