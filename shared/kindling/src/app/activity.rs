//! An activity on the bus: counted, its lead rescored, a form's lead told to the CRM, an open or
//! click counted toward its A/B test.

use super::Kindling;
use crate::error::Error;

/// Counts an activity in the KPIs and rescores the lead it belongs to. An anonymous browser's activity scores once the
/// browser belongs to a lead (resolved here, off the tracking request's path).
#[tracing::instrument(name = "on_activity_recorded", skip_all, fields(activity_id = %e.activity_id))]
pub async fn on_activity_recorded(
    k: &Kindling,
    e: &crate::tracking::events::ActivityRecorded,
) -> Result<(), Error> {
    let lead = match (&e.lead_id, &e.visitor_id) {
        (Some(lead), _) => Some(lead.clone()),
        (None, Some(visitor)) => k.stores.visitors.lead_of_visitor(visitor).await?,
        (None, None) => None,
    };
    // The lead is read once, for the KPIs' breakdowns and the rescore's first attempt.
    let first = match &lead {
        Some(id) => k.stores.leads.get_lead(id).await?,
        None => None,
    };
    let counted = first
        .as_ref()
        .filter(|_| e.lead_id.is_some() && crate::kpis::reads_lead(e));
    crate::kpis::count_activity_of(&k.kpis(), e, counted).await?;
    if let Some(lead) = lead {
        let a = e.activity();
        let fresh = crate::scoring::Fresh::Activity(&a, e.duplicate);
        let scoring = k.scoring();
        let rescore = crate::scoring::rescore_from(&scoring, &lead, fresh, first);
        let rescored = Box::pin(rescore).await?;
        if e.attrs.form_id.is_some() {
            super::crm_changes::form_to_crm(k, &lead, e).await?;
        }
        if matches!(
            e.kind,
            crate::activities::ActivityKind::EmailOpen
                | crate::activities::ActivityKind::EmailClick
        ) {
            let seen = rescored.and_then(|r| r.counted);
            count_ab_engagement(k, e, &lead, seen).await?;
        }
    }
    Ok(())
}

/// Counts a person's open or click toward the A/B test of the mail it concerns: a step's, or a
/// broadcast's. Nothing is read unless the mail has such a test.
async fn count_ab_engagement(
    k: &Kindling,
    e: &crate::tracking::events::ActivityRecorded,
    lead: &crate::ids::LeadId,
    seen: Option<crate::activities::Activity>,
) -> Result<(), Error> {
    let steps = e.broadcast_id.is_none()
        && crate::sequences::ab::tested(&k.sequences(), e.attrs.sequence_id.as_ref(), e.attrs.step);
    let broadcast = match &e.broadcast_id {
        Some(b) => crate::broadcasts::ab_tally::plan_of(&*k.stores.tallies, b)
            .await?
            .map(|plan| (b, plan)),
        None => None,
    };
    if !steps && broadcast.is_none() {
        return Ok(());
    }
    // As the rescore just saw it: a machine's open or click (or a repeat) counts for nobody.
    let Some(a) = seen.filter(|a| {
        !matches!(
            a.attrs.agent,
            Some(
                crate::activities::classify::Agent::MachineOpen
                    | crate::activities::classify::Agent::ScannerClick
            )
        )
    }) else {
        return Ok(());
    };
    match broadcast {
        Some((b, plan)) => {
            crate::broadcasts::ab_tally::count_engagement(
                &*k.stores.tallies,
                b,
                &plan,
                lead,
                &a,
                k.clock.now(),
            )
            .await?
        }
        None => crate::sequences::ab::count_engagement(&k.sequences(), lead, &a).await?,
    }
    Ok(())
}
