//! What to do with one due step, decided without I/O from what the runner read: end the
//! enrollment (and why), wait (until when, and why), or send; when the cap holds it, when it is
//! due again; then where the enrollment goes next. The runner ([`super::send_due_steps`])
//! carries out the effects, as with rescoring's `plan` and its effects, and sends through the
//! one send protocol ([`crate::dispatch`]).
//!
//! The plan asks for each fact only when its decision needs it ([`Plan::Read`]): the lead, then
//! its suppression, its activity log only if an exit goal reads it and the lead does not note its
//! submissions (one stored by an earlier version and not rebuilt since), its other enrollments only if
//! a higher-priority sequence exists and the step may go now. So a step that waits for quiet
//! hours costs no more reads than deciding that takes.

use crate::activities::Activity;
use crate::deliverability::suppression::SuppressionReason;
use crate::leads::Temperature;
use crate::leads::{Lead, Submissions};
use crate::message::MessageKey;
use crate::sequences::config::{ExitGoal, Sequence};
use crate::sequences::{Enrollment, EnrollmentStatus};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

pub use crate::sending::ledger::CLAIM_LEASE_MINUTES;
/// How long a step waits when a higher-priority step of the same lead is due: long enough for
/// that one to claim the cap first (it is due now, so this run or the next sends it).
pub const YIELD_MINUTES: i64 = 1;

/// What the runner knows about one due enrollment; `None` for a fact not read yet.
#[derive(Debug, Clone, Copy)]
pub struct DueStep<'a> {
    pub enrollment: &'a Enrollment,
    /// Its sequence in the current configuration (`None`: removed since).
    pub sequence: Option<&'a Sequence>,
    /// The lead (`Some(None)`: it is gone).
    pub lead: Option<Option<&'a Lead>>,
    /// Why the lead's address is suppressed (`Some(None)`: it is not).
    pub suppression: Option<Option<SuppressionReason>>,
    /// The lead's activity log.
    pub log: Option<&'a [Activity]>,
    /// The lead's enrollments.
    pub rivals: Option<&'a [Enrollment]>,
    pub now: DateTime<Utc>,
}

/// A fact the plan needs before it can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Lead,
    Suppression,
    Log,
    Rivals,
}

/// Why a step waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Quiet hours, the step's window, or the frequency cap.
    Deferred,
    /// A step of a higher-priority sequence of the same lead may go now and takes the cap first.
    Yielded,
}

/// What to do with a due step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Read this fact, then plan again.
    Read(Need),
    /// End the enrollment: `Stopped` (may not be mailed), `Exited` (a goal), `Completed`.
    End {
        status: EnrollmentStatus,
        reason: String,
    },
    /// Not yet: due again at `until`.
    Wait { until: DateTime<Utc>, why: Waiting },
    /// Claim and send the step as `key`; `zone` is the lead's, for what comes after.
    Send { key: MessageKey, zone: Tz },
}

fn end(status: EnrollmentStatus, reason: &str) -> Plan {
    Plan::End {
        status,
        reason: reason.to_owned(),
    }
}

/// Decides what to do with a due step, or which fact it needs first. Checked in this order, at
/// the moment of sending: the sequence and step still exist; the lead exists, is not
/// unsubscribed or suppressed, has consented and has not left the sequence's topic; no exit
/// goal was reached; quiet hours and the step's window allow now; no step of a higher-priority
/// sequence of the lead may go now.
pub fn plan(cfg: &super::Sections<'_>, due: &DueStep<'_>) -> Plan {
    use EnrollmentStatus::{Completed, Exited, Stopped};
    let enr = due.enrollment;
    let Some(seq) = due.sequence else {
        return end(Stopped, "sequence_removed");
    };
    let Some(step) = seq.steps.get(enr.next_step as usize) else {
        return end(Completed, "completed");
    };
    let Some(lead) = due.lead else {
        return Plan::Read(Need::Lead);
    };
    let Some(lead) = lead else {
        return end(Stopped, "lead_gone");
    };
    if lead.unsubscribed_at.is_some() {
        return end(Stopped, "unsubscribed");
    }
    let Some(suppression) = due.suppression else {
        return Plan::Read(Need::Suppression);
    };
    if let Some(reason) = suppression {
        return end(Stopped, reason.as_str());
    }
    if lead.consent.is_none() {
        return end(Stopped, "no_consent");
    }
    if seq.topic.as_ref().is_some_and(|t| lead.preferences.left(t)) {
        return end(Stopped, "topic_opt_out");
    }
    // The lead notes its submissions; one stored before it did has the log read instead.
    let log = if seq.exit_when.iter().any(ExitGoal::reads_activities) && lead.submitted.is_none() {
        match due.log {
            Some(log) => log,
            None => return Plan::Read(Need::Log),
        }
    } else {
        &[]
    };
    if let Some(goal) = goal_reached(seq, lead, enr, log) {
        return end(Exited, &goal.name());
    }
    let zone = lead.zone(cfg.program.default_zone);
    let allowed = cfg.send_time(step, due.now, zone);
    if allowed > due.now {
        return Plan::Wait {
            until: allowed,
            why: Waiting::Deferred,
        };
    }
    if cfg.sequences.iter().any(|s| s.priority > seq.priority) {
        let Some(rivals) = due.rivals else {
            return Plan::Read(Need::Rivals);
        };
        if outranked(cfg, seq, enr, rivals, zone, due.now) {
            return Plan::Wait {
                until: due.now + Duration::minutes(YIELD_MINUTES),
                why: Waiting::Yielded,
            };
        }
    }
    Plan::Send {
        key: MessageKey::step(lead.id.clone(), enr.id.clone(), enr.next_step),
        zone,
    }
}

/// The first of the sequence's exit goals the lead has reached since enrolling.
fn goal_reached<'a>(
    seq: &'a Sequence,
    lead: &Lead,
    enr: &Enrollment,
    log: &[Activity],
) -> Option<&'a ExitGoal> {
    let since = enr.enrolled_at;
    let from_log;
    let submitted = match &lead.submitted {
        Some(s) => s,
        None => {
            from_log = Submissions::of_log(log);
            &from_log
        }
    };
    seq.exit_when.iter().find(|g| match g {
        ExitGoal::BecameHot => lead.score.temperature == Temperature::Hot,
        ExitGoal::SalesMarked => lead.sales.is_some(),
        ExitGoal::Unsubscribed => lead.unsubscribed_at.is_some(),
        ExitGoal::ConsultationBooked => submitted.consulted_since(since),
        ExitGoal::Submitted(form) => submitted.submitted_since(form, since),
    })
}

/// Whether another active enrollment of the lead, in a sequence of higher priority, has a step
/// that may go out now: then that one takes the frequency cap first.
fn outranked(
    cfg: &super::Sections<'_>,
    seq: &Sequence,
    enr: &Enrollment,
    rivals: &[Enrollment],
    zone: Tz,
    now: DateTime<Utc>,
) -> bool {
    rivals.iter().any(|o| {
        o.id != enr.id
            && o.status == EnrollmentStatus::Active
            && o.next_due_at.is_some_and(|due| due <= now)
            && cfg.sequence(&o.sequence_id).is_some_and(|s| {
                s.priority > seq.priority
                    && s.steps
                        .get(o.next_step as usize)
                        .is_some_and(|step| cfg.send_time(step, now, zone) <= now)
            })
    })
}

/// When a step the frequency cap holds until `until` is due again: then, moved out of quiet
/// hours and into the step's window.
pub fn after_cap(
    cfg: &super::Sections<'_>,
    step: &crate::sequences::config::Step,
    zone: Tz,
    until: DateTime<Utc>,
) -> DateTime<Utc> {
    cfg.send_time(step, until, zone)
}

/// The enrollment once its current step is done with (sent, failed or unknown): the next step
/// due at its offset from enrollment (outside quiet hours and inside its window), or completed.
pub fn advanced(
    cfg: &super::Sections<'_>,
    mut enr: Enrollment,
    seq: &Sequence,
    zone: Tz,
    now: DateTime<Utc>,
) -> Enrollment {
    enr.next_step += 1;
    match seq.steps.get(enr.next_step as usize) {
        Some(next) => {
            let due = cfg.step_due(next, enr.enrolled_at, zone);
            enr.next_due_at = Some(cfg.send_time(next, due.max(now), zone));
        }
        None => {
            enr.status = EnrollmentStatus::Completed;
            enr.next_due_at = None;
            enr.reason = Some("completed".into());
        }
    }
    enr
}

#[cfg(test)]
mod tests;
