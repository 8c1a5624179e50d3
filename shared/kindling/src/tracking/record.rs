use crate::activities::{Activity, Subject};
use crate::error::Result;
use crate::events::Envelope;
use crate::ports::Put;
use crate::tracking::events::ActivityRecorded;

/// Records an activity once and announces it (see [`record_activities`]).
#[tracing::instrument(name = "record_activity", skip_all, fields(activity_id = %activity.id, kind = %activity.kind))]
pub async fn record_activity(k: &super::Recorder<'_>, activity: &Activity) -> Result<Put> {
    let puts = record_activities(k, std::slice::from_ref(activity)).await?;
    Ok(puts.into_iter().next().unwrap_or(Put::Existed))
}

/// Records activities once each, then announces them all in one publish. A duplicate id changes
/// nothing in the log, but is announced again: if an earlier attempt stored it and then failed to
/// publish, the redelivery must still reach scoring (which is idempotent), or it would never score.
#[tracing::instrument(name = "record_activities", skip_all, fields(n = activities.len()))]
pub async fn record_activities(
    k: &super::Recorder<'_>,
    activities: &[Activity],
) -> Result<Vec<Put>> {
    let puts = store_activities(k, activities).await?;
    announce_stored(k, activities, &puts).await?;
    Ok(puts)
}

/// Records activities once each without announcing them: see [`announce_stored`].
pub async fn store_activities(
    k: &super::Recorder<'_>,
    activities: &[Activity],
) -> Result<Vec<Put>> {
    let mut puts = Vec::with_capacity(activities.len());
    for a in activities {
        let put = k.activities.record(a).await?;
        tracing::info!(activity_id = %a.id, kind = %a.kind, duplicate = (put == Put::Existed), "activity recorded");
        puts.push(put);
    }
    Ok(puts)
}

/// Announces activities [`store_activities`] stored (`puts`, in order), in one publish.
pub async fn announce_stored(
    k: &super::Recorder<'_>,
    activities: &[Activity],
    puts: &[Put],
) -> Result<()> {
    let events: Vec<Envelope> = activities
        .iter()
        .zip(puts)
        .map(|(a, put)| announcement(a, *put == Put::Existed))
        .collect();
    k.bus.publish(&events).await?;
    Ok(())
}

/// Announces activities already stored (by a write that stored them with something else).
pub async fn announce(k: &super::Recorder<'_>, activities: &[Activity]) -> Result<()> {
    let events: Vec<Envelope> = activities.iter().map(|a| announcement(a, false)).collect();
    k.bus.publish(&events).await?;
    Ok(())
}

fn announcement(a: &Activity, duplicate: bool) -> Envelope {
    let (lead_id, visitor_id) = match &a.subject {
        Subject::Lead(l) => (Some(l.clone()), a.attrs.visitor_id.clone()),
        Subject::Visitor(v) => (None, Some(v.clone())),
    };
    ActivityRecorded {
        activity_id: a.id.clone(),
        lead_id,
        visitor_id,
        kind: a.kind,
        at: a.at,
        broadcast_id: a.attrs.broadcast_id.clone(),
        attrs: a.attrs.clone(),
        duplicate,
    }
    .envelope()
}
