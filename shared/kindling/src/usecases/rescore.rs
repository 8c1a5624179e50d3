use super::{conflict, Kindling, CAS_ATTEMPTS};
use crate::activity::Activity;
use crate::error::Result;
use crate::events::{Event, LeadBecameHot};
use crate::ids::LeadId;
use crate::lead::{Lead, ScoreSnapshot};
use crate::ports::Cas;
use crate::score::{score_lead, ScoreCard, Temperature};

/// What rescoring found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescored {
    pub card: ScoreCard,
    pub previous: Temperature,
    /// Set when this rescore crossed into hot: the crossing's number.
    pub hot_crossing: Option<u32>,
}

/// Every activity of a lead, including those of the browsers tied to it.
pub async fn lead_activities(k: &Kindling, lead: &LeadId) -> Result<Vec<Activity>> {
    let mut all = k.stores.activities.activities_of_lead(lead).await?;
    for v in k.stores.visitors.visitors_of_lead(lead).await? {
        all.extend(k.stores.activities.activities_of_visitor(&v).await?);
    }
    Ok(all)
}

/// A lead's score now (fit and engagement), with its explanation, from a log already read.
pub fn card_of(k: &Kindling, lead: &Lead, log: &[Activity]) -> ScoreCard {
    let c = &k.config;
    score_lead(
        lead,
        log,
        &c.rules,
        &c.fit_rules,
        c.thresholds,
        k.clock.now(),
    )
}

/// The lead's score now, with its explanation (reads only).
pub(crate) async fn score_card(k: &Kindling, lead: &Lead) -> Result<ScoreCard> {
    let log = lead_activities(k, &lead.id).await?;
    Ok(card_of(k, lead, &log))
}

/// Recomputes a lead's score from its whole log and stores the snapshot. On a crossing into hot
/// it publishes `lead.became_hot.v1` *before* storing, numbered by crossing: if the store write
/// then fails, the retry publishes the same crossing again and notify's dedupe absorbs it; the
/// other order could store "hot" and lose the alert.
pub async fn rescore_lead(k: &Kindling, lead_id: &LeadId) -> Result<Option<Rescored>> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(mut lead) = k.stores.leads.get_lead(lead_id).await? else {
            return Ok(None);
        };
        let now = k.clock.now();
        let card = card_of(k, &lead, &lead_activities(k, lead_id).await?);
        let previous = lead.score.temperature;
        let crossing = (card.temperature == Temperature::Hot && previous != Temperature::Hot)
            .then_some(lead.score.hot_crossings + 1);
        let snapshot = ScoreSnapshot {
            total: card.total,
            temperature: card.temperature,
            computed_at: Some(now),
            hot_crossings: crossing.unwrap_or(lead.score.hot_crossings),
        };
        let result = Rescored {
            card,
            previous,
            hot_crossing: crossing,
        };
        if lead.score.total == snapshot.total && lead.score.temperature == snapshot.temperature {
            return Ok(Some(result));
        }
        if let Some(crossing) = crossing {
            k.bus
                .publish(&[Event::LeadBecameHot(LeadBecameHot {
                    lead_id: lead_id.clone(),
                    crossing,
                    score: snapshot.total,
                    previous,
                    at: now,
                })])
                .await?;
        }
        lead.score = snapshot;
        lead.updated_at = now;
        if store(k, &lead).await? {
            tracing::info!(lead_id = %lead_id, score = result.card.total, temperature = %result.card.temperature, "lead rescored");
            return Ok(Some(result));
        }
    }
    Err(conflict(format!("lead {lead_id}")))
}

async fn store(k: &Kindling, lead: &Lead) -> Result<bool> {
    Ok(k.stores.leads.update_lead(lead).await? == Cas::Updated)
}

/// A lead whose stored score differs from what the current rules give.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RescoreChange {
    pub lead_id: LeadId,
    pub email: String,
    pub before: (i64, Temperature),
    pub after: (i64, Temperature),
}

impl RescoreChange {
    /// The temperature changes (not only the total).
    pub fn changes_temperature(&self) -> bool {
        self.before.1 != self.after.1
    }
}

/// Leads per page when walking every lead.
const RESCORE_PAGE: usize = 100;

/// Recomputes every lead under the current rules and lists those whose score would change, in
/// lead order. With `apply`, stores the new scores (and publishes hot crossings, as any rescore
/// does); without, writes nothing: the preview of a rule change.
pub async fn rescore_all(k: &Kindling, apply: bool) -> Result<Vec<RescoreChange>> {
    let mut changes = Vec::new();
    let mut after: Option<LeadId> = None;
    loop {
        let page = k
            .stores
            .leads
            .list_lead_ids(after.as_ref(), RESCORE_PAGE)
            .await?;
        for id in &page {
            let Some(lead) = k.stores.leads.get_lead(id).await? else {
                continue;
            };
            let card = score_card(k, &lead).await?;
            if card.total == lead.score.total && card.temperature == lead.score.temperature {
                continue;
            }
            changes.push(RescoreChange {
                lead_id: id.clone(),
                email: lead.email.to_string(),
                before: (lead.score.total, lead.score.temperature),
                after: (card.total, card.temperature),
            });
            if apply {
                rescore_lead(k, id).await?;
            }
        }
        if page.len() < RESCORE_PAGE {
            return Ok(changes);
        }
        after = page.last().cloned();
    }
}
