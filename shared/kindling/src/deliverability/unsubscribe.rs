use crate::activities::{Activity, Subject};
use crate::deliverability::suppression::{Suppression, SuppressionReason};
use crate::error::conflict;
use crate::error::{Error, Result};
use crate::ids::{ActivityId, LeadId};
use crate::ports::Cas;
use crate::ports::CAS_ATTEMPTS;
use crate::tracking::record_activity;

/// What an unsubscribe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    Now,
    Already,
}

/// Unsubscribes a lead from everything at once and suppresses its address; `via` (`one_click`,
/// `page`, `complaint`) goes into its preference history. Idempotent: repeating it changes
/// nothing. Pending sends are stopped by the sender, which checks suppression at send time.
#[tracing::instrument(name = "unsubscribe", skip_all, fields(lead_id = %lead_id))]
pub async fn unsubscribe(
    k: &super::Deliverability<'_>,
    lead_id: &LeadId,
    via: &str,
) -> Result<Unsubscribed> {
    let now = k.clock.now();
    for _ in 0..CAS_ATTEMPTS {
        let Some(mut lead) = k.leads.get_lead(lead_id).await? else {
            return Err(Error::NotFound(format!("no lead {lead_id}")));
        };
        // Suppress first: from this moment nothing is sent, whatever fails next.
        k.suppressions
            .suppress(&Suppression {
                email: lead.email.clone(),
                reason: SuppressionReason::Unsubscribed,
                at: now,
            })
            .await?;
        let outcome = if lead.unsubscribed_at.is_some() {
            Unsubscribed::Already
        } else {
            lead.unsubscribed_at = Some(now);
            lead.updated_at = now;
            let history = &mut lead.preferences.history;
            history.push(crate::leads::PreferenceChange {
                at: now,
                topic: None,
                subscribed: false,
                via: via.to_owned(),
            });
            let excess = history
                .len()
                .saturating_sub(crate::leads::Preferences::HISTORY);
            history.drain(..excess);
            if k.leads.update_lead(&lead).await? == Cas::Stale {
                continue;
            }
            Unsubscribed::Now
        };
        let activity = Activity {
            id: ActivityId::new(format!("unsub_{lead_id}")),
            subject: Subject::Lead(lead_id.clone()),
            kind: crate::activities::ActivityKind::Unsubscribed,
            at: lead.unsubscribed_at.unwrap_or(now),
            attrs: Default::default(),
        };
        record_activity(&k.record, &activity).await?;
        tracing::info!(lead_id = %lead_id, already = (outcome == Unsubscribed::Already), "lead unsubscribed");
        return Ok(outcome);
    }
    Err(conflict(format!("lead {lead_id}")))
}
