//! What the functions call to count in the KPIs beside what they already do: an event of the
//! bus, and SES's feedback.

use super::{Event, Kindling};
use crate::error::Error;

/// Counts an event in the KPIs (once, however often it is delivered): on AWS the score
/// function does for activities (in [`super::on_activity_recorded`]), MQLs and stage changes;
/// hot crossings are counted with their alert ([`super::handle_event`]).
pub async fn count_event(k: &Kindling, event: &Event) -> Result<(), Error> {
    let kpis = k.kpis();
    match event {
        Event::ActivityRecorded(e) => crate::kpis::count_activity(&kpis, e).await,
        Event::LeadBecameMql(e) => crate::kpis::count_mql(&kpis, e).await,
        Event::LeadStageChanged(e) => crate::kpis::count_stage(&kpis, e).await,
        _ => Ok(()),
    }
}

/// Applies SES's feedback (suppressions, the breaker's counts) and counts it in the KPIs.
pub async fn on_feedback(
    k: &Kindling,
    fb: &crate::deliverability::Feedback,
) -> Result<usize, Error> {
    let newly = crate::deliverability::apply_feedback(&k.deliverability(), fb).await?;
    crate::kpis::count_feedback(&k.kpis(), fb).await?;
    Ok(newly)
}

/// Counts an alert just sent in the follow-up figures ([`crate::kpis::follow_up`]): a
/// reminder or an escalation, or the alert of an event that began a hand-off (`counts`) at
/// `handed_off_at`, under the lead's `owner`. Nothing for an alert not sent now.
pub(super) async fn alerted(
    k: &super::Kindling,
    outcome: &crate::alerts::NotifyOutcome,
    counts: bool,
    handed_off_at: chrono::DateTime<chrono::Utc>,
    owner: Option<&str>,
) -> Result<(), crate::error::Error> {
    match outcome {
        crate::alerts::NotifyOutcome::Alerted(alert) if counts => {
            crate::kpis::follow_up::count_alert(&k.kpis(), alert, handed_off_at, owner).await
        }
        _ => Ok(()),
    }
}
