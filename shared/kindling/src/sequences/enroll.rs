//! Enrolling a lead in a sequence, from a form or a trigger.

use crate::error::Result;
use crate::leads::Lead;
use crate::ports::Put;
use crate::sequences::config::Reentry;
use crate::sequences::EnrollmentStatus;
use chrono::{DateTime, Utc};

/// Enrolls a lead in a sequence (from a form or a trigger), its first step due at its offset
/// and outside quiet hours in the lead's zone; a first step due at once is announced
/// (`sequence.step_due.v1`) so that it is sent now. False if the lead is active in it, or was in it and
/// the sequence's re-entry policy does not let it in again yet.
#[tracing::instrument(name = "enroll", skip_all, fields(lead_id = %lead.id, sequence = %sequence))]
pub async fn enroll(
    k: &super::Enroller<'_>,
    lead: &Lead,
    sequence: &crate::ids::SequenceId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(seq) = k.config.sequence(sequence) else {
        return Ok(false);
    };
    let previous = k
        .enrollments
        .enrollments_of_lead(&lead.id)
        .await?
        .into_iter()
        .filter(|e| e.sequence_id == seq.id)
        .max_by_key(|e| e.entry);
    let entry = match previous {
        None => 1,
        // At most one active enrollment per lead and sequence.
        Some(p) if p.status == EnrollmentStatus::Active => return Ok(false),
        Some(p) => match seq.reentry {
            Reentry::After(gap) if now - p.enrolled_at >= gap => p.entry + 1,
            Reentry::After(_) | Reentry::Never => return Ok(false),
        },
    };
    let zone = lead.zone(k.config.program.default_zone);
    let first_due = seq.steps.first().map(|s| k.config.step_due(s, now, zone));
    let enrollment = crate::sequences::Enrollment {
        id: crate::ids::EnrollmentId::new(k.ids.new_id()),
        lead_id: lead.id.clone(),
        sequence_id: seq.id.clone(),
        entry,
        enrolled_at: now,
        next_step: 0,
        next_due_at: first_due,
        status: EnrollmentStatus::Active,
        reason: None,
        version: 0,
    };
    let created = k.enrollments.enroll(&enrollment).await? == Put::Created;
    if created {
        tracing::info!(lead_id = %lead.id, sequence = %seq.id, entry, "lead enrolled");
        // Due now (not deferred by quiet hours or a window): sent at once, not at the next run.
        // If this publish fails the enrollment stands and the scheduled run sends the step.
        if let Some(due_at) = first_due.filter(|d| *d <= now) {
            let due = super::events::StepDue {
                lead_id: lead.id.clone(),
                enrollment_id: enrollment.id.clone(),
                sequence_id: seq.id.clone(),
                step: 0,
                due_at,
            };
            if let Err(e) = k.bus.publish(&[due.envelope()]).await {
                tracing::warn!(lead_id = %lead.id, sequence = %seq.id, error = %e, "step due now not announced; the scheduled run sends it");
            }
        }
    }
    Ok(created)
}
