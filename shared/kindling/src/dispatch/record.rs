//! Recording a send the provider accepted, with what follows from it: the record, the breaker's
//! count and the `email_sent` activity.

use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::deliverability::Deliverability;
use crate::error::Result;
use crate::ids::{ActivityId, LeadId};
use crate::sending::ledger::SendRecord;
use crate::sending::ports::SendLog;
use chrono::{DateTime, Utc};

/// The `email_sent` activity of a mail: one id per message key, so recording it again changes
/// nothing; a step's names its sequence.
pub fn sent_activity(record: &SendRecord, lead: &LeadId, at: DateTime<Utc>) -> Activity {
    Activity {
        id: ActivityId::new(format!("sent_{}", record.key.id_part())),
        subject: Subject::Lead(lead.clone()),
        kind: ActivityKind::EmailSent,
        at,
        attrs: Attrs {
            template: record.sequence_id.as_ref().map(|_| record.template.clone()),
            ..Attrs::of_message(&record.key, record.sequence_id.clone())
        },
    }
}

/// Records a send the provider accepted with what follows from it: the record, the breaker's
/// count and the `email_sent` activity, in one write where the store can
/// ([`SendLog::complete_sent_with`]), then announces the activity. Else (or when a part was
/// already there) each is written on its own, idempotently, in that order. Either way a crash
/// before the end leaves the recipient or step to be handled again: it finds the record sent,
/// and [`finish_sent`] writes and announces what may be missing.
pub async fn record_sent(
    k: &Deliverability<'_>,
    sends: &dyn SendLog,
    record: &SendRecord,
    activity: &Activity,
) -> Result<()> {
    let at = record.sent_at.unwrap_or(record.claimed_at);
    let (bucket, unit) = crate::deliverability::breaker::sent_count(&record.key, at);
    if sends
        .complete_sent_with(record, activity, &bucket.count(&unit), k.clock.now())
        .await?
    {
        crate::tracking::announce(&k.record, std::slice::from_ref(activity)).await?;
        return Ok(());
    }
    sends.complete_send(record).await?;
    finish_sent(k, record, activity).await
}

/// What follows a send recorded as sent, each part idempotent: the breaker's count and the
/// `email_sent` activity, stored if missing and announced again (its consumers are idempotent).
pub async fn finish_sent(
    k: &Deliverability<'_>,
    record: &SendRecord,
    activity: &Activity,
) -> Result<()> {
    crate::deliverability::breaker::count_send(
        k,
        &record.key,
        record.sent_at.unwrap_or(record.claimed_at),
    )
    .await?;
    crate::tracking::record_activity(&k.record, activity).await?;
    Ok(())
}
