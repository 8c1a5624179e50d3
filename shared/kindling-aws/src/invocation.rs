//! EventBridge invocations to the shared event logic. An event that can never succeed (malformed,
//! unknown type, routed to the wrong function) is logged and dropped with `Ok`, so the platform
//! does not retry it for 24 hours; a retryable failure is `Err`, so it does.

use kindling::alerts::ports::Notifier;
use kindling::app::events::{Event, SEQUENCE_STEP_DUE_V1};
use kindling::app::{handle_event, on_activity_recorded, on_feedback, on_lead_change, Kindling};
use kindling::app::{run_schedule, ScheduleReport};
use kindling::deliverability::Feedback;
use kindling::events::SOURCE;
use kindling::sending::ports::Mailer;
use serde::Deserialize;

/// The EventBridge envelope around every event.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub id: Option<String>,
    pub detail: serde_json::Value,
}

/// The result of an event function: `Err` makes the platform retry.
pub type Outcome = Result<(), lambda_runtime_error::Error>;

mod lambda_runtime_error {
    /// The error type Lambda runtimes accept.
    pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;
}

/// Which of Kindling's events a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    /// `activity.recorded.v1` → rescore (and triggers); MQLs, stage moves and segment entries
    /// are counted and told to the CRM.
    Score,
    /// `lead.became_hot.v1`, `trigger.fired.v1` → alert sales or support;
    /// `lead.follow_up_due.v1` → remind the owner or escalate; `sending.paused.v1` → alert ops.
    Notify,
    /// `sequence.step_due.v1` → send that step now (besides its schedule: every minute).
    SendSteps,
}

impl Consumer {
    /// Every consumer.
    pub const ALL: [Consumer; 3] = [Consumer::Score, Consumer::Notify, Consumer::SendSteps];

    /// The function's name (folder, package, binary, CDK construct id).
    pub fn function(self) -> &'static str {
        match self {
            Consumer::Score => "score",
            Consumer::Notify => "notify",
            Consumer::SendSteps => "send-steps",
        }
    }

    /// The detail-types the function takes; anything else it drops.
    pub fn detail_types(self) -> &'static [&'static str] {
        use kindling::app::events::*;
        match self {
            Consumer::Score => &[
                ACTIVITY_RECORDED_V1,
                LEAD_BECAME_MQL_V1,
                LEAD_STAGE_CHANGED_V1,
                LEAD_ENTERED_SEGMENT_V1,
            ],
            Consumer::Notify => &[
                LEAD_BECAME_HOT_V1,
                TRIGGER_FIRED_V1,
                LEAD_FOLLOW_UP_DUE_V1,
                SENDING_PAUSED_V1,
            ],
            Consumer::SendSteps => &[SEQUENCE_STEP_DUE_V1],
        }
    }
}

/// Events Kindling publishes for integrations (a CRM, analytics, a data lake) that no Kindling
/// function consumes: users add their own rules on the bus.
pub const INTEGRATION_ONLY: [&str; 3] = [
    kindling::app::events::LEAD_BECAME_WARM_V1,
    kindling::app::events::LEAD_COOLED_V1,
    kindling::app::events::LEAD_LEFT_SEGMENT_V1,
];

/// The event the CRM's API destination takes (`[crm]`; the stack's `crmSync`): no function.
pub const CRM_UPSERT: &str = kindling::app::events::LEAD_CRM_UPSERT_V1;

/// Which function each event goes to, as JSON: `infra/event-catalog.json` is this, checked in and
/// compared by a test, and the CDK stack builds its rule patterns from that file, so the events
/// and the rules cannot drift apart.
pub fn event_catalog() -> serde_json::Value {
    let kindling_events: Vec<_> = Consumer::ALL
        .into_iter()
        .map(|c| serde_json::json!({ "detailTypes": c.detail_types(), "function": c.function() }))
        .collect();
    serde_json::json!({
        "comment": "Generated from kindling::app::events and kindling-aws by `KINDLING_WRITE_CATALOG=1 cargo test -p kindling-aws event_catalog`; do not edit.",
        "kindling": { "source": SOURCE, "events": kindling_events, "integrationOnly": INTEGRATION_ONLY, "crmUpsert": CRM_UPSERT },
        "ses": {
            "source": "aws.ses",
            "detailTypes": kindling::deliverability::SES_FEEDBACK_DETAIL_TYPES,
            "function": "feedback"
        },
        "schedule": { "function": "send-steps", "source": "aws.events", "detailType": "Scheduled Event" },
        "metrics": { "namespaceEnv": crate::metrics::NAMESPACE_ENV, "names": crate::metrics::NAMES }
    })
}

fn drop_event(why: &str, envelope_id: Option<&str>) -> Outcome {
    tracing::error!(
        event_id = envelope_id.unwrap_or("-"),
        reason = why,
        "event dropped: it can never succeed"
    );
    Ok(())
}

fn outcome(r: Result<(), kindling::Error>, id: Option<&str>) -> Outcome {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.is_retryable() => {
            tracing::warn!(event_id = id.unwrap_or("-"), error = %kindling::error::Report(&e), "event failed; the platform will retry");
            Err(Box::new(e))
        }
        Err(e) => drop_event(&e.to_string(), id),
    }
}

/// Handles one of Kindling's own events (score and notify).
pub async fn on_kindling_event(
    k: &Kindling,
    consumer: Consumer,
    notifier: Option<&dyn Notifier>,
    payload: serde_json::Value,
) -> Outcome {
    let envelope: Envelope = match serde_json::from_value(payload) {
        Ok(e) => e,
        Err(e) => return drop_event(&format!("not an EventBridge event: {e}"), None),
    };
    let id = envelope.id.as_deref();
    if envelope.source != SOURCE {
        return drop_event(&format!("unexpected source {:?}", envelope.source), id);
    }
    let event = match Event::decode(&envelope.detail_type, &envelope.detail.to_string()) {
        Ok(e) => e,
        Err(e) => return drop_event(&e.to_string(), id),
    };
    let done = match (consumer, &event, notifier) {
        (Consumer::Score, Event::ActivityRecorded(e), _) => on_activity_recorded(k, e).await,
        (
            Consumer::Score,
            Event::LeadBecameMql(_) | Event::LeadStageChanged(_) | Event::LeadEnteredSegment(_),
            _,
        ) => on_lead_change(k, &event).await,
        (
            Consumer::Notify,
            Event::LeadBecameHot(_)
            | Event::TriggerFired(_)
            | Event::FollowUpDue(_)
            | Event::SendingPaused(_),
            Some(n),
        ) => handle_event(k, n, &event).await,
        _ => {
            return drop_event(
                &format!("{} is not for this function", envelope.detail_type),
                id,
            )
        }
    };
    if done.is_ok() {
        crate::metrics::emit(&crate::metrics::of_event(&event));
    }
    outcome(done, id)
}

/// An operator's command to the score function, invoked directly (`aws lambda invoke`), not
/// through the bus: `{"kindling": "rescore", "dry_run": true, "after": null, "limit": 200}`, or
/// `"kindling": "rebuild_segments"` with the same fields (one page of the segments' rebuild).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreCommand {
    pub kindling: String,
    /// List what would change and write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Resume after this lead (the `next` of the previous page).
    #[serde(default)]
    pub after: Option<String>,
    /// Leads per invocation (default 200, at most 1,000): keep a page within the timeout.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Leads per rescore invocation unless told otherwise.
pub const RESCORE_PAGE_DEFAULT: usize = 200;

/// The score function: an EventBridge event (answers `null`), or an operator's rescore command
/// (answers the page of changes and the cursor for the next invocation). A malformed command is
/// an error for the caller to read; nothing is written.
pub async fn on_score_invocation(
    k: &Kindling,
    payload: serde_json::Value,
) -> Result<serde_json::Value, lambda_runtime_error::Error> {
    if payload.get("kindling").is_none() {
        return on_kindling_event(k, Consumer::Score, None, payload)
            .await
            .map(|()| serde_json::Value::Null);
    }
    let cmd: ScoreCommand =
        serde_json::from_value(payload).map_err(|e| format!("not a score command: {e}"))?;
    if cmd.kindling != "rescore" && cmd.kindling != "rebuild_segments" {
        return Err(format!(
            "unknown command {:?} (one of: rescore, rebuild_segments)",
            cmd.kindling
        )
        .into());
    }
    let after = match cmd.after.as_deref() {
        None => None,
        Some(a) => Some(
            kindling::ids::LeadId::parse(a)
                .ok_or_else(|| format!("after: {a:?} is not a lead id"))?,
        ),
    };
    let limit = cmd.limit.unwrap_or(RESCORE_PAGE_DEFAULT).clamp(1, 1000);
    if cmd.kindling == "rebuild_segments" {
        let page = kindling::scoring::rebuild_segments_page(
            &k.scoring(),
            after.as_ref(),
            limit,
            !cmd.dry_run,
        )
        .await
        .map_err(|e| Box::new(e) as lambda_runtime_error::Error)?;
        tracing::info!(
            leads = page.leads,
            moves = page.moves.len(),
            applied = page.applied,
            next = page.next.as_ref().map(|n| n.as_str()),
            "segments rebuild page"
        );
        return Ok(serde_json::to_value(&page)?);
    }
    let page = kindling::scoring::rescore_page(&k.scoring(), after.as_ref(), limit, !cmd.dry_run)
        .await
        .map_err(|e| Box::new(e) as lambda_runtime_error::Error)?;
    tracing::info!(
        leads = page.leads,
        changes = page.changes.len(),
        applied = page.applied,
        next = page.next.as_ref().map(|n| n.as_str()),
        "rescore page"
    );
    Ok(serde_json::to_value(&page)?)
}

/// Handles an SES event (bounce, complaint; others are ignored) for the feedback function.
pub async fn on_ses_event(k: &Kindling, payload: serde_json::Value) -> Outcome {
    let envelope: Envelope = match serde_json::from_value(payload) {
        Ok(e) => e,
        Err(e) => return drop_event(&format!("not an EventBridge event: {e}"), None),
    };
    let id = envelope.id.as_deref();
    if envelope.source != "aws.ses" {
        return drop_event(&format!("unexpected source {:?}", envelope.source), id);
    }
    match Feedback::from_ses_detail(&envelope.detail) {
        Ok(Some(fb)) => {
            let done = on_feedback(k, &fb).await.map(|_| ());
            if done.is_ok() {
                crate::metrics::emit(&crate::metrics::of_feedback(&fb));
            }
            outcome(done, id)
        }
        Ok(None) => {
            tracing::info!(event_id = id.unwrap_or("-"), detail_type = %envelope.detail_type, "SES event without feedback ignored");
            Ok(())
        }
        Err(e) => outcome(Err(e), id),
    }
}

/// One run of the step sender for an EventBridge scheduled event, or the one step of a
/// `sequence.step_due.v1` sent now; anything else is logged and dropped (`Ok(None)`) without
/// sending.
pub async fn on_scheduled_event(
    k: &Kindling,
    mailer: &dyn Mailer,
    budget: usize,
    payload: serde_json::Value,
) -> Result<Option<ScheduleReport>, lambda_runtime_error::Error> {
    match serde_json::from_value::<Envelope>(payload) {
        Ok(e) if e.source == "aws.events" && e.detail_type == "Scheduled Event" => {
            on_schedule(k, mailer, budget).await.map(Some)
        }
        Ok(e) if e.source == SOURCE && e.detail_type == SEQUENCE_STEP_DUE_V1 => {
            let due = match Event::decode(&e.detail_type, &e.detail.to_string()) {
                Ok(Event::StepDue(due)) => due,
                Ok(_) => return Ok(None),
                Err(err) => return drop_event(&err.to_string(), e.id.as_deref()).map(|()| None),
            };
            let steps = kindling::sequences::send_step_now(&k.sequences(), mailer, &due)
                .await
                .map_err(|e| Box::new(e) as lambda_runtime_error::Error)?;
            tracing::info!(lead_id = %due.lead_id, enrollment_id = %due.enrollment_id, sent = steps.sent.len(), "step due now");
            let report = ScheduleReport {
                steps,
                ..ScheduleReport::default()
            };
            crate::metrics::emit(&crate::metrics::of_schedule(&report));
            Ok(Some(report))
        }
        Ok(e) => drop_event(
            &format!("{} from {} is not a schedule", e.detail_type, e.source),
            e.id.as_deref(),
        )
        .map(|()| None),
        Err(e) => drop_event(&format!("not an EventBridge event: {e}"), None).map(|()| None),
    }
}

/// One scheduled run of the step sender. Steps that fail stay due for the next run, so only a
/// failure to list due steps is an error.
pub async fn on_schedule(
    k: &Kindling,
    mailer: &dyn Mailer,
    budget: usize,
) -> Result<ScheduleReport, lambda_runtime_error::Error> {
    let report = run_schedule(k, mailer, budget)
        .await
        .map_err(|e| Box::new(e) as lambda_runtime_error::Error)?;
    tracing::info!(
        sent = report.steps.sent.len(),
        deferred = report.steps.deferred,
        exited = report.steps.exited,
        stopped = report.steps.stopped,
        completed = report.steps.completed,
        failed = report.steps.failed,
        unknown = report.steps.unknown,
        retry_later = report.steps.retry_later,
        errors = report.errors(),
        rechecked = report.rechecks.rechecked,
        triggers_fired = report.rechecks.triggers_fired,
        paused = report.steps.paused.as_deref(),
        broadcasts_sent = report.broadcasts.sent.len(),
        "send-steps run"
    );
    crate::metrics::emit(&crate::metrics::of_schedule(&report));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kindling_publishes_has_exactly_one_consumer_or_is_for_integrations() {
        let mut routed: Vec<_> = Consumer::ALL
            .iter()
            .flat_map(|c| c.detail_types().iter().copied())
            .chain(INTEGRATION_ONLY)
            .chain([CRM_UPSERT])
            .collect();
        routed.sort_unstable();
        let mut published = kindling::app::events::DETAIL_TYPES.to_vec();
        published.sort_unstable();
        assert_eq!(routed, published);
    }

    /// `infra/event-catalog.json` must be what the code says; `KINDLING_WRITE_CATALOG=1` rewrites it.
    #[test]
    fn event_catalog_is_checked_in_and_current() {
        crate::assert_catalog_current("event-catalog.json", &event_catalog(), "event_catalog");
    }
}
