//! The wired application: [`Kindling`] holds what every use case may need (built once per
//! process), and [`handle_event`] routes each bus event to the capability that acts on it.
//! Handlers (HTTP, events, schedules) parse their input, call a capability's use case, and map
//! the result.

mod activity;
mod counting;
mod crm_changes;
mod crm_hook;
pub use activity::on_activity_recorded;
pub use crm_changes::on_lead_change;
use crm_changes::{crm_sync, owner_given};
pub(crate) use crm_hook::crm_hook;
pub mod events;
mod schedule;
pub use counting::{count_event, on_feedback};
pub use schedule::{run_schedule, ScheduleReport, WeeklyReport};

use crate::activities::ports::{ActivityLog, VisitorLinks};
use crate::alerts::ports::AlertLog;
use crate::alerts::ports::Notifier;
use crate::broadcasts::ports::BroadcastStore;
use crate::config::Config;
use crate::crm::events::Change;
use crate::deliverability::ports::SuppressionList;
use crate::error::Error;
use crate::events::EventBus;
use crate::leads::ports::LeadStore;
use crate::ports::Tallies;
use crate::ports::{Clock, Ids};
use crate::segments::ports::SegmentMembers;
use crate::sending::ports::SendLog;
use crate::sequences::ports::EnrollmentStore;
use crate::token::SigningKeys;
pub use events::Event;
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
    + SegmentMembers
    + BroadcastStore
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
            + Tallies
            + SegmentMembers
            + BroadcastStore,
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
    pub segments: Arc<dyn SegmentMembers>,
    pub broadcasts: Arc<dyn BroadcastStore>,
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
            tallies: store.clone(),
            segments: store.clone(),
            broadcasts: store,
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
    /// The mailer of broadcast test sends (`POST /admin/broadcasts/{id}/test-send`), where this
    /// runtime serves them: the local outbox; on AWS the intake function's SES client, whose
    /// role may mail the configured test addresses only. Sends of the claim protocol take their
    /// mailer as an argument instead.
    pub test_mailer: Option<Arc<dyn crate::sending::ports::Mailer>>,
    /// Keeps the week's report for the digest to link ([`crate::kpis::archive`];
    /// `admin::page::Weekly` over the stack's bucket on AWS (send-steps), over
    /// `<data dir>/reports/` locally). `None`: the digest goes without a link.
    pub reports: Option<Arc<dyn WeeklyReport>>,
    /// What carries the CRM upserts, for `sync status` and `sync replay`: the local bus, or the
    /// API destination's dead-letter queue on AWS. `None` where this runtime cannot see it.
    pub sync: Option<Arc<dyn crate::crm::ports::SyncLedger>>,
}

impl Kindling {
    /// What recording an activity touches.
    pub fn recorder(&self) -> crate::tracking::Recorder<'_> {
        crate::tracking::Recorder {
            activities: &*self.stores.activities,
            bus: &*self.bus,
        }
    }

    /// What the tracking routes touch.
    pub fn tracking(&self) -> crate::tracking::Tracking<'_> {
        crate::tracking::Tracking {
            config: crate::tracking::Sections {
                program: &self.config.program,
                pages: &self.config.pages,
            },
            keys: &self.keys,
            visitors: &*self.stores.visitors,
            sends: &*self.stores.sends,
            record: self.recorder(),
            clock: &*self.clock,
            ids: &*self.ids,
        }
    }

    /// What the breaker, feedback and unsubscribing touch.
    pub fn deliverability(&self) -> crate::deliverability::Deliverability<'_> {
        crate::deliverability::Deliverability {
            config: crate::deliverability::Sections {
                deliverability: &self.config.deliverability,
            },
            keys: &self.keys,
            leads: &*self.stores.leads,
            suppressions: &*self.stores.suppressions,
            tallies: &*self.stores.tallies,
            record: self.recorder(),
            bus: &*self.bus,
            clock: &*self.clock,
        }
    }

    /// The sections step mail reads.
    pub fn sequence_sections(&self) -> crate::sequences::Sections<'_> {
        self.config.for_sequences()
    }

    /// What enrolling a lead touches.
    pub fn enroller(&self) -> crate::sequences::Enroller<'_> {
        crate::sequences::Enroller {
            config: self.sequence_sections(),
            enrollments: &*self.stores.enrollments,
            ids: &*self.ids,
            bus: &*self.bus,
        }
    }

    /// What sending step mails touches.
    pub fn sequences(&self) -> crate::sequences::Sequences<'_> {
        crate::sequences::Sequences {
            config: self.sequence_sections(),
            keys: &self.keys,
            enrollments: &*self.stores.enrollments,
            leads: &*self.stores.leads,
            sends: &*self.stores.sends,
            suppressions: &*self.stores.suppressions,
            activities: &*self.stores.activities,
            visitors: &*self.stores.visitors,
            tallies: &*self.stores.tallies,
            deliverability: self.deliverability(),
            record: self.recorder(),
            clock: &*self.clock,
            ids: &*self.ids,
        }
    }

    /// What creating, approving and sending broadcasts touches.
    pub fn broadcasts(&self) -> crate::broadcasts::Broadcasts<'_> {
        let c = &self.config;
        crate::broadcasts::Broadcasts {
            config: crate::broadcasts::Sections {
                program: &c.program,
                sender: &c.sender,
                sending: &c.sending,
                broadcasts: &c.broadcasts,
                segments: &c.segments,
                templates: &c.templates,
            },
            keys: &self.keys,
            store: &*self.stores.broadcasts,
            leads: &*self.stores.leads,
            members: &*self.stores.segments,
            sends: &*self.stores.sends,
            suppressions: &*self.stores.suppressions,
            tallies: &*self.stores.tallies,
            deliverability: self.deliverability(),
            record: self.recorder(),
            clock: &*self.clock,
            ids: &*self.ids,
        }
    }

    /// What rescoring touches.
    pub fn scoring(&self) -> crate::scoring::Scoring<'_> {
        crate::scoring::Scoring {
            config: self.config.for_scoring(),
            leads: &*self.stores.leads,
            members: &*self.stores.segments,
            activities: &*self.stores.activities,
            visitors: &*self.stores.visitors,
            tallies: &*self.stores.tallies,
            enroll: self.enroller(),
            bus: &*self.bus,
            clock: &*self.clock,
            ids: &*self.ids,
        }
    }

    /// What syncing to the CRM touches.
    pub fn crm(&self) -> crate::crm::Crm<'_> {
        crate::crm::Crm {
            config: self.config.crm.as_ref(),
            routing: &self.config.routing,
            leads: &*self.stores.leads,
            bus: &*self.bus,
        }
    }

    /// What counting and reading the KPIs touch.
    pub fn kpis(&self) -> crate::kpis::Kpis<'_> {
        crate::kpis::Kpis {
            config: crate::kpis::Sections {
                kpis: &self.config.kpis,
                digest: self.config.digest.as_ref(),
                program: &self.config.program,
                sender: &self.config.sender,
                zone: self.config.program.default_zone,
                sequences: &self.config.sequences,
                stages: &self.config.stages,
            },
            leads: &*self.stores.leads,
            activities: &*self.stores.activities,
            broadcasts: &*self.stores.broadcasts,
            tallies: &*self.stores.tallies,
            clock: &*self.clock,
        }
    }

    /// What alerting touches.
    pub fn alerts(&self) -> crate::alerts::Alerts<'_> {
        crate::alerts::Alerts {
            config: crate::alerts::Sections {
                alerts: &self.config.alerts,
                deliverability: &self.config.deliverability,
            },
            scoring: self.scoring(),
            leads: &*self.stores.leads,
            alerts: &*self.stores.alerts,
            tallies: &*self.stores.tallies,
            clock: &*self.clock,
        }
    }

    /// What a form submission touches.
    pub fn forms(&self) -> crate::forms::Forms<'_> {
        crate::forms::Forms {
            config: crate::forms::Sections {
                forms: &self.config.forms,
                consent_text_version: &self.config.consent_text_version,
            },
            leads: &*self.stores.leads,
            visitors: &*self.stores.visitors,
            record: self.recorder(),
            enroll: self.enroller(),
            clock: &*self.clock,
            ids: &*self.ids,
        }
    }
}

/// Handles one bus event: an activity rescores its lead (and runs its triggers) and is
/// counted; a hot crossing alerts sales and is counted (after the alert, unless the lead is
/// gone); a trigger with an alert alerts its team; an MQL or a stage move is counted. Returns
/// `Err` for the platform to retry (see [`Error::is_retryable`]).
#[tracing::instrument(name = "handle_event", skip_all, fields(detail_type = event.detail_type()))]
pub async fn handle_event(
    k: &Kindling,
    notifier: &dyn Notifier,
    event: &Event,
) -> Result<(), Error> {
    match event {
        Event::ActivityRecorded(e) => on_activity_recorded(k, e).await,
        Event::LeadBecameHot(e) => {
            use crate::alerts::NotifyOutcome;
            let outcome = crate::alerts::notify_hot_lead(&k.alerts(), notifier, e).await?;
            let first = e.handoff.is_some();
            counting::alerted(k, &outcome, first, e.at, e.owner.as_deref()).await?;
            let alerted = match outcome {
                NotifyOutcome::LeadGone => return Ok(()),
                // Within the re-alert cooldown sales was told of this lead days ago: nothing due.
                NotifyOutcome::Alerted(_)
                | NotifyOutcome::AlreadyAlerted
                | NotifyOutcome::NotAlerting => true,
                NotifyOutcome::OpsAlerted(_) => false,
            };
            crate::kpis::count_hot(&k.kpis(), e, alerted).await?;
            let mut changes = vec![Change::Hot];
            changes.extend(owner_given(e.handoff, &e.owner));
            let key = format!("hot/{}", e.crossing);
            crm_sync(k, &e.lead_id, changes, key, e.at, None).await
        }
        Event::TriggerFired(e) => {
            let outcome = crate::alerts::notify_trigger(&k.alerts(), notifier, e).await?;
            let first = e.handoff.is_some();
            counting::alerted(k, &outcome, first, e.at, e.owner.as_deref()).await?;
            let changes: Vec<Change> = owner_given(e.handoff, &e.owner).into_iter().collect();
            let key = format!("owner/{}", e.handoff.unwrap_or_default());
            crm_sync(k, &e.lead_id, changes, key, e.at, None).await
        }
        Event::FollowUpDue(e) => {
            let outcome = crate::alerts::notify_follow_up(&k.alerts(), notifier, e).await?;
            let owner = e.owner.as_deref();
            counting::alerted(k, &outcome, true, e.handed_off_at, owner).await
        }
        Event::SendingPaused(e) => {
            crate::alerts::ops::notify_sending_paused(&k.alerts(), notifier, e)
                .await
                .map(|_| ())
        }
        Event::LeadBecameMql(_) | Event::LeadStageChanged(_) | Event::LeadEnteredSegment(_) => {
            on_lead_change(k, event).await
        }
        // Published for integrations (analytics); the CRM's upsert is the bus's to deliver
        // (an API destination on AWS, the local bus's webhook).
        Event::LeadBecameWarm(_)
        | Event::LeadCooled(_)
        | Event::LeadLeftSegment(_)
        | Event::CrmUpsert(_) => Ok(()),
        // Sent by whoever holds the mailer: the local bus's pump, the send-steps function.
        Event::StepDue(_) => Ok(()),
    }
}

/// What follows a change of sales' mark (by a rep, or by the CRM): counted, the hand-off's
/// first touch recorded, the lead rescored (`sales_status` segments, stages, the hand-off it
/// closes). Idempotent: done again, it counts nothing twice.
pub async fn sales_follow_ups(k: &Kindling, lead: &crate::leads::Lead) -> Result<(), Error> {
    if lead.sales.is_some() {
        crate::kpis::count_sales(&k.kpis(), lead).await?;
    }
    // The first mark since the lead was handed to sales closes the hand-off (the rescore
    // records it) and is its first touch.
    if let (Some(h), Some(mark)) = (&lead.handoff, &lead.sales) {
        if h.is_open() && mark.at >= h.at {
            crate::kpis::follow_up::count_first_touch(&k.kpis(), lead, h, mark.at).await?;
        }
    }
    crate::scoring::rescore_lead(&k.scoring(), &lead.id).await?;
    Ok(())
}
