use super::Kindling;
use crate::activity::{Activity, Subject};
use crate::error::Result;
use crate::events::{ActivityRecorded, Event};
use crate::ports::Put;

/// Records an activity once and announces it. A duplicate id changes nothing in the log, but is
/// announced again: if an earlier attempt stored it and then failed to publish, the redelivery
/// must still reach scoring (which is idempotent), or the activity would never score.
pub async fn record_activity(k: &Kindling, activity: &Activity) -> Result<Put> {
    let put = k.stores.activities.record(activity).await?;
    let (lead_id, visitor_id) = match &activity.subject {
        Subject::Lead(l) => (Some(l.clone()), activity.attrs.visitor_id.clone()),
        Subject::Visitor(v) => (None, Some(v.clone())),
    };
    let event = Event::ActivityRecorded(ActivityRecorded {
        activity_id: activity.id.clone(),
        lead_id,
        visitor_id,
        kind: activity.kind,
        at: activity.at,
    });
    k.bus.publish(&[event]).await?;
    tracing::info!(activity_id = %activity.id, kind = %activity.kind, duplicate = (put == Put::Existed), "activity recorded");
    Ok(put)
}
