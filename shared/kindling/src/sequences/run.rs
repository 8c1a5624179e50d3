use super::compose::build_step_mail;
use super::plan::{self as send_plan, plan, DueStep, Need, Plan, Waiting};
use super::report::{Ended, SendReport, SentMail};
use crate::activities::Activity;
use crate::deliverability::suppression::SuppressionReason;
use crate::dispatch::{dispatch, Dispatch, Dispatched, Letter};
use crate::error::Result;
use crate::leads::Lead;
use crate::message::MessageKey;
use crate::ports::Cas;
use crate::sending::ledger::{SendRecord, SendState};
use crate::sending::ports::Mailer;
use crate::sequences::config::Sequence;
use crate::sequences::{Enrollment, EnrollmentStatus};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// How long a step waits after its template failed to render (a configuration error).
const RENDER_RETRY_MINUTES: i64 = 60;

enum Handled {
    Sent(SentMail),
    Deferred,
    Yielded,
    Exited(String),
    Stopped(String),
    Completed(String),
    Failed,
    Unknown,
    RetryLater,
    Skipped,
}

/// Sends every step that is due, at most `budget` enrollments per run. Each step goes out at
/// most once: it is claimed (with the frequency cap, atomically) before the provider is called.
/// Consent, suppression, exit goals and quiet hours are checked here, at the moment of sending;
/// a step that may not go yet is rescheduled, never dropped.
#[tracing::instrument(name = "send_due_steps", skip_all, fields(budget = budget))]
pub async fn send_due_steps(
    k: &super::Sequences<'_>,
    mailer: &dyn Mailer,
    budget: usize,
) -> Result<SendReport> {
    let mut report = SendReport::default();
    if let Some(trip) = crate::deliverability::breaker::gate(&k.deliverability).await? {
        report.paused = Some(trip.reason);
        return Ok(report);
    }
    let mut handled = 0;
    let page = budget.clamp(1, 100);
    while handled < budget {
        let now = k.clock.now();
        let due = k.enrollments.due_enrollments(now, page).await?;
        if due.is_empty() {
            break;
        }
        let mut progressed = false;
        for enrollment in due {
            handled += 1;
            match handle(k, mailer, enrollment, now, &mut report).await {
                Flow::Progressed => progressed = true,
                Flow::Skipped => {}
                // The provider is throttling: stop this run, the rest waits for the next.
                Flow::Stop => return Ok(report),
            }
        }
        if !progressed {
            break;
        }
    }
    Ok(report)
}

/// Sends one enrollment's step now, as announced by [`super::events::StepDue`] when the lead was
/// enrolled: the same checks and the same claim as a scheduled run ([`send_due_steps`]), so the
/// two never both send it, and a step no longer due (sent, deferred, ended) is left alone.
#[tracing::instrument(name = "send_step_now", skip_all, fields(lead_id = %due.lead_id, enrollment_id = %due.enrollment_id))]
pub async fn send_step_now(
    k: &super::Sequences<'_>,
    mailer: &dyn Mailer,
    due: &super::events::StepDue,
) -> Result<SendReport> {
    let mut report = SendReport::default();
    if let Some(trip) = crate::deliverability::breaker::gate(&k.deliverability).await? {
        report.paused = Some(trip.reason);
        return Ok(report);
    }
    let now = k.clock.now();
    let enrollment = k
        .enrollments
        .enrollments_of_lead(&due.lead_id)
        .await?
        .into_iter()
        .find(|e| e.id == due.enrollment_id);
    let Some(enrollment) = enrollment.filter(|e| {
        e.status == EnrollmentStatus::Active
            && e.next_step == due.step
            && e.next_due_at.is_some_and(|d| d <= now)
    }) else {
        return Ok(report);
    };
    handle(k, mailer, enrollment, now, &mut report).await;
    Ok(report)
}

/// What the run does next after one enrollment.
enum Flow {
    Progressed,
    Skipped,
    Stop,
}

/// Handles one due enrollment and adds its outcome to `report`.
async fn handle(
    k: &super::Sequences<'_>,
    mailer: &dyn Mailer,
    enrollment: Enrollment,
    now: DateTime<Utc>,
    report: &mut SendReport,
) -> Flow {
    let (lead_id, sequence_id) = (enrollment.lead_id.clone(), enrollment.sequence_id.clone());
    let outcome = send_one(k, mailer, enrollment, now).await;
    if let Ok(Handled::Exited(reason) | Handled::Stopped(reason) | Handled::Completed(reason)) =
        &outcome
    {
        report.ended.push(Ended {
            lead_id,
            sequence_id,
            reason: reason.clone(),
        });
    }
    match outcome {
        Ok(Handled::Sent(m)) => report.sent.push(m),
        Ok(Handled::Deferred) => report.deferred += 1,
        Ok(Handled::Yielded) => report.yielded += 1,
        Ok(Handled::Exited(_)) => report.exited += 1,
        Ok(Handled::Stopped(_)) => report.stopped += 1,
        Ok(Handled::Completed(_)) => report.completed += 1,
        Ok(Handled::Failed) => report.failed += 1,
        Ok(Handled::Unknown) => report.unknown += 1,
        Ok(Handled::Skipped) => return Flow::Skipped,
        Ok(Handled::RetryLater) => {
            report.retry_later += 1;
            return Flow::Stop;
        }
        Err(e) => {
            tracing::error!(error = %crate::error::Report(&e), "step send failed; it stays due");
            report.errors += 1;
            return Flow::Skipped;
        }
    }
    Flow::Progressed
}

/// Plans ([`plan`]), reading each fact the plan asks for, and carries the plan out.
#[tracing::instrument(name = "send_one", skip_all, fields(lead_id = %enr.lead_id, enrollment_id = %enr.id, sequence = %enr.sequence_id, step = enr.next_step))]
async fn send_one(
    k: &super::Sequences<'_>,
    mailer: &dyn Mailer,
    enr: Enrollment,
    now: DateTime<Utc>,
) -> Result<Handled> {
    let cfg = &k.config;
    let seq = cfg.sequence(&enr.sequence_id);
    let mut lead: Option<Option<Lead>> = None;
    let mut suppression: Option<Option<SuppressionReason>> = None;
    let mut log: Option<Vec<Activity>> = None;
    let mut rivals: Option<Vec<Enrollment>> = None;
    let decided = loop {
        let due = DueStep {
            enrollment: &enr,
            sequence: seq,
            lead: lead.as_ref().map(Option::as_ref),
            suppression,
            log: log.as_deref(),
            rivals: rivals.as_deref(),
            now,
        };
        // The plan asks only for a fact not read yet, so this reads each at most once.
        match plan(cfg, &due) {
            Plan::Read(Need::Lead) => lead = Some(k.leads.get_lead(&enr.lead_id).await?),
            Plan::Read(need) => {
                let Some(Some(l)) = &lead else {
                    break Plan::End {
                        status: EnrollmentStatus::Stopped,
                        reason: "lead_gone".into(),
                    };
                };
                match need {
                    Need::Lead => {}
                    Need::Suppression => {
                        let s = k.suppressions.suppression(&l.email).await?;
                        suppression = Some(s.map(|s| s.reason));
                    }
                    Need::Log => {
                        log = Some(
                            crate::activities::log::of_lead(k.activities, k.visitors, &l.id)
                                .await?,
                        )
                    }
                    Need::Rivals => rivals = Some(k.enrollments.enrollments_of_lead(&l.id).await?),
                }
            }
            other => break other,
        }
    };
    let (key, zone) = match decided {
        Plan::Read(_) => return Ok(Handled::Skipped),
        Plan::End { status, reason } => return finish(k, enr, status, &reason).await,
        Plan::Wait { until, why } => {
            let outcome = match why {
                Waiting::Deferred => Handled::Deferred,
                Waiting::Yielded => Handled::Yielded,
            };
            return reschedule(k, enr, until, outcome).await;
        }
        Plan::Send { key, zone } => (key, zone),
    };
    let lead = lead.flatten();
    // `plan` sends only a step that exists, to a lead that exists.
    let (Some(seq), Some(lead)) = (seq, lead) else {
        return Ok(Handled::Skipped);
    };
    let Some(step) = seq.steps.get(enr.next_step as usize) else {
        return Ok(Handled::Skipped);
    };
    let go = Go {
        seq,
        step,
        lead: &lead,
        key,
        zone,
        now,
    };
    send_step(k, mailer, enr, go).await
}

/// A step the plan says to send, with what sending it needs.
struct Go<'a> {
    seq: &'a Sequence,
    step: &'a crate::sequences::config::Step,
    lead: &'a Lead,
    key: MessageKey,
    zone: Tz,
    now: DateTime<Utc>,
}

/// Claims the step (with the frequency cap, atomically), sends it, records it, moves on.
async fn send_step(
    k: &super::Sequences<'_>,
    mailer: &dyn Mailer,
    enr: Enrollment,
    go: Go<'_>,
) -> Result<Handled> {
    let Go {
        seq,
        step,
        lead,
        key,
        zone,
        now,
    } = go;
    let cfg = &k.config;
    let step_no = enr.next_step;
    let template = match &step.ab {
        None => step.template.clone(),
        Some(test) => super::ab::variant_for(k, seq, step_no, test, &lead.id).await?,
    };
    let composed = match build_step_mail(k, lead, seq, &template, &key, now) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(lead_id = %lead.id, template = %template, error = %e, "step mail could not be built; retrying later");
            let later = now + Duration::minutes(RENDER_RETRY_MINUTES);
            return reschedule(k, enr, later, Handled::Deferred).await;
        }
    };
    let record = SendRecord {
        key: key.clone(),
        sequence_id: Some(seq.id.clone()),
        template: template.clone(),
        state: SendState::Sending,
        claimed_at: now,
        sent_at: None,
        provider_message_id: None,
        links: composed.links.clone(),
        error: None,
    };
    let letter = Letter {
        record,
        lead,
        raw: composed.raw,
        cap: Some(cfg.sending.cap),
    };
    let d = Dispatch {
        sends: k.sends,
        deliverability: &k.deliverability,
        from: &cfg.sender.from_address,
    };
    match dispatch(&d, mailer, letter, now).await? {
        Dispatched::Sent(record) => {
            super::ab::count_sent(k, seq, &record).await?;
            tracing::info!(lead_id = %lead.id, sequence = %seq.id, step = step_no, "step mail sent");
            let sent = SentMail {
                key,
                sequence_id: seq.id.clone(),
                template,
                to: lead.email.clone(),
                subject: composed.subject,
                at: now,
                provider_message_id: record.provider_message_id.unwrap_or_default(),
            };
            advance(k, enr, seq, zone, now, Handled::Sent(sent)).await
        }
        Dispatched::Recovered(record) => {
            super::ab::count_sent(k, seq, &record).await?;
            advance(k, enr, seq, zone, now, Handled::Skipped).await
        }
        Dispatched::Capped { until } => {
            let due = send_plan::after_cap(cfg, step, zone, until);
            reschedule(k, enr, due, Handled::Deferred).await
        }
        Dispatched::InProgress => Ok(Handled::Skipped),
        Dispatched::Abandoned(_) => advance(k, enr, seq, zone, now, Handled::Unknown).await,
        Dispatched::Settled(_) => advance(k, enr, seq, zone, now, Handled::Skipped).await,
        Dispatched::RetryLater => Ok(Handled::RetryLater),
        Dispatched::Rejected(_) => advance(k, enr, seq, zone, now, Handled::Failed).await,
    }
}

/// Moves to the next step, or completes ([`send_plan::advanced`]), and saves.
async fn advance(
    k: &super::Sequences<'_>,
    enr: Enrollment,
    seq: &Sequence,
    zone: Tz,
    now: DateTime<Utc>,
    outcome: Handled,
) -> Result<Handled> {
    let enr = send_plan::advanced(&k.config, enr, seq, zone, now);
    save(k, &enr, outcome).await
}

async fn reschedule(
    k: &super::Sequences<'_>,
    mut enr: Enrollment,
    at: DateTime<Utc>,
    outcome: Handled,
) -> Result<Handled> {
    enr.next_due_at = Some(at);
    save(k, &enr, outcome).await
}

async fn finish(
    k: &super::Sequences<'_>,
    mut enr: Enrollment,
    status: EnrollmentStatus,
    reason: &str,
) -> Result<Handled> {
    let outcome = match status {
        EnrollmentStatus::Exited => Handled::Exited(reason.to_owned()),
        EnrollmentStatus::Completed => Handled::Completed(reason.to_owned()),
        _ => Handled::Stopped(reason.to_owned()),
    };
    tracing::info!(enrollment_id = %enr.id, lead_id = %enr.lead_id, reason, status = status.as_str(), "enrollment ended");
    enr.status = status;
    enr.next_due_at = None;
    enr.reason = Some(reason.to_owned());
    save(k, &enr, outcome).await
}

async fn save(k: &super::Sequences<'_>, enr: &Enrollment, outcome: Handled) -> Result<Handled> {
    match k.enrollments.update_enrollment(enr).await? {
        Cas::Updated => Ok(outcome),
        // Another sender moved it on; its view wins. A sent mail is still reported.
        Cas::Stale => Ok(match outcome {
            Handled::Sent(m) => Handled::Sent(m),
            _ => Handled::Skipped,
        }),
    }
}
