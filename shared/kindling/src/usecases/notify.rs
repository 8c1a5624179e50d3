use super::rescore::score_card;
use super::Kindling;
use crate::error::Result;
use crate::events::LeadBecameHot;
use crate::ports::{AlertClaim, Notifier, SalesAlert};

/// What handling a hot crossing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// Sales was alerted.
    Alerted(Box<SalesAlert>),
    /// This crossing was alerted before (a redelivery): nothing sent.
    AlreadyAlerted,
    /// The lead no longer exists.
    LeadGone,
}

/// Alerts sales once per hot crossing. The alert is claimed first; a failed notification
/// releases the claim and returns an error so the event is retried. A claim left pending by a
/// crash is sent again: for sales alerts a rare duplicate beats a lost hot lead.
pub async fn notify_hot_lead(
    k: &Kindling,
    notifier: &dyn Notifier,
    event: &LeadBecameHot,
) -> Result<NotifyOutcome> {
    let key = format!("hot/{}/{}", event.lead_id, event.crossing);
    let now = k.clock.now();
    let Some(lead) = k.stores.leads.get_lead(&event.lead_id).await? else {
        return Ok(NotifyOutcome::LeadGone);
    };
    match k
        .stores
        .alerts
        .claim_alert(&key, &event.lead_id, now)
        .await?
    {
        AlertClaim::Sent => return Ok(NotifyOutcome::AlreadyAlerted),
        AlertClaim::New | AlertClaim::Pending => {}
    }
    let card = score_card(k, &lead).await?;
    let mut reasons: Vec<_> = card.breakdown.iter().filter(|r| r.points > 0).collect();
    reasons.sort_by(|a, b| b.points.cmp(&a.points).then(a.rule.cmp(&b.rule)));
    let alert = SalesAlert {
        key: key.clone(),
        lead_id: lead.id.clone(),
        email: lead.email.clone(),
        name: lead.profile.name.clone(),
        company: lead.profile.company.clone(),
        title: lead.profile.title.clone(),
        score: event.score,
        temperature: crate::score::Temperature::Hot,
        reasons: reasons
            .iter()
            .map(|r| format!("{} x{} = {:+}", r.rule, r.count, r.points))
            .chain(
                card.fit_breakdown
                    .iter()
                    .filter(|f| f.points > 0)
                    .map(|f| format!("fit: {} ({}) = {:+}", f.rule, f.value, f.points)),
            )
            .collect(),
        at: now,
        follow_up_by: event.at + k.config.follow_up,
    };
    if let Err(e) = notifier.notify(&alert).await {
        k.stores.alerts.release_alert(&key).await?;
        return Err(e.into());
    }
    k.stores.alerts.mark_alert_sent(&key, now).await?;
    tracing::info!(lead_id = %lead.id, crossing = event.crossing, "sales alerted");
    Ok(NotifyOutcome::Alerted(Box::new(alert)))
}
