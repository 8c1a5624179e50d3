//! Use cases: what Kindling does, over ports. Handlers (HTTP, events, schedules) parse their
//! input, call one of these, and map the result.

mod ab;
mod breaker;
mod feedback;
mod notify;
mod record;
mod report;
mod rescore;
mod sales;
mod send_plan;
mod send_steps;
mod submit_form;
mod unsubscribe;

pub use ab::{ab_report, AbReport};
pub use breaker::{
    notify_sending_paused, resume_sending, sending_status, Resumed, SendingStatus, Thresholds,
};
pub use feedback::{apply_feedback, Feedback, FeedbackKind, SES_FEEDBACK_DETAIL_TYPES};
pub use notify::{notify_hot_lead, notify_trigger, NotifyOutcome};
pub use record::{record_activities, record_activity};
pub use report::{lead_report, parse_lead_key, LeadKey, LeadReport, REPORT_ACTIVITIES};
pub use rescore::{
    lead_activities, plan, rescore_all, rescore_lead, rescore_page, Plan, RescoreChange,
    RescorePage, Rescored,
};
pub use sales::mark_lead;
pub use send_plan::{
    after_claim, plan as plan_step, AfterClaim, DueStep, Plan as StepPlan, Waiting,
};
pub use send_steps::{build_step_mail, send_due_steps, Ended, SendReport, SentMail};
pub use submit_form::{submit_form, FormSubmission, Submitted};
pub use unsubscribe::{unsubscribe, Unsubscribed};

use crate::config::Config;
use crate::error::Error;
use crate::events::Event;
use crate::ports::{Clock, EventBus, Ids, Notifier, Stores};
use crate::token::SigningKeys;
use std::sync::Arc;

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
const CAS_ATTEMPTS: usize = 5;

fn conflict(what: impl std::fmt::Display) -> Error {
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
        Event::LeadBecameHot(e) => notify_hot_lead(k, notifier, e).await.map(|_| ()),
        Event::TriggerFired(e) => notify_trigger(k, notifier, e).await.map(|_| ()),
        Event::SendingPaused(e) => notify_sending_paused(k, notifier, e).await.map(|_| ()),
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
        rescore_lead(k, &lead).await?;
        if matches!(
            e.kind,
            crate::activity::ActivityKind::EmailOpen | crate::activity::ActivityKind::EmailClick
        ) {
            ab::count_engagement(k, &lead, &e.activity_id).await?;
        }
    }
    Ok(())
}
