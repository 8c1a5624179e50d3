//! The counts of a broadcast's A/B test: each cell recipient's send, and the first human open
//! and click of it, once each, in the tally series `bab:{broadcast}`; and what they decide.

use super::ab::{Plan, LABELS};
use super::cells::cell_of;
use super::{Broadcast, Broadcasts};
use crate::error::{Error, Result};
use crate::ids::{BroadcastId, LeadId, TemplateId};
use crate::sending::ab::{self, VariantResult, Verdict};
use chrono::{DateTime, Utc};

/// A broadcast's tally series.
pub fn series(b: &BroadcastId) -> String {
    format!("bab:{b}")
}

/// The mark of a broadcast's series that holds its plan (JSON), written when it starts: what
/// counting an open reads, a small item instead of the broadcast with its content.
pub const PLAN: &str = "plan";

/// Writes the plan where counting opens finds it (once: a started broadcast's plan no longer
/// changes).
pub(crate) async fn publish_plan(k: &Broadcasts<'_>, b: &Broadcast) -> Result<()> {
    let Some(plan) = &b.ab else { return Ok(()) };
    let json =
        serde_json::to_string(plan).map_err(|e| crate::error::PortError::new("broadcast", e))?;
    k.tallies
        .set_mark(&series(&b.id), PLAN, &json, true)
        .await?;
    Ok(())
}

/// The plan of broadcast `b`'s A/B test, if it has one and has started.
pub(crate) async fn plan_of(
    tallies: &dyn crate::ports::Tallies,
    b: &BroadcastId,
) -> Result<Option<Plan>> {
    let marks = tallies.marks(&series(b)).await?;
    Ok(marks.get(PLAN).and_then(|j| serde_json::from_str(j).ok()))
}

/// Counts a cell recipient's send, once.
pub(crate) async fn count_sent(
    k: &Broadcasts<'_>,
    b: &Broadcast,
    cell: usize,
    lead: &LeadId,
    now: DateTime<Utc>,
) -> Result<()> {
    k.tallies
        .tally_once(&series(&b.id), LABELS[cell], ab::SENT, lead.as_str(), now)
        .await?;
    Ok(())
}

/// Counts a person's open or click of a cell recipient's mail, once per lead and counter. A
/// click counts as an open too. `activity` has passed the cleaned log (as the
/// rescore saw it: no machine's, no repeat).
pub(crate) async fn count_engagement(
    tallies: &dyn crate::ports::Tallies,
    broadcast: &BroadcastId,
    plan: &Plan,
    lead: &LeadId,
    activity: &crate::activities::Activity,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::activities::ActivityKind;
    let Some(cell) = cell_of(plan, broadcast, lead) else {
        return Ok(());
    };
    let counters: &[&str] = match activity.kind {
        ActivityKind::EmailOpen => &[ab::OPENED],
        ActivityKind::EmailClick => &[ab::OPENED, ab::CLICKED],
        _ => &[],
    };
    for c in counters {
        tallies
            .tally_once(&series(broadcast), LABELS[cell], c, lead.as_str(), now)
            .await?;
    }
    Ok(())
}

/// Each cell's counts so far, A first.
pub async fn results(k: &Broadcasts<'_>, b: &Broadcast) -> Result<Vec<VariantResult>> {
    let Some(plan) = &b.ab else {
        return Ok(Vec::new());
    };
    let tallies = k.tallies.tallies(&series(&b.id), None, None).await?;
    Ok(LABELS[..plan.cells()]
        .iter()
        .map(|l| {
            let t = tallies.iter().find(|t| t.bucket == *l);
            let get = |c: &str| t.map_or(0, |t| t.get(c));
            VariantResult {
                template: TemplateId::new(*l),
                sent: get(ab::SENT),
                opened: get(ab::OPENED),
                clicked: get(ab::CLICKED),
            }
        })
        .collect())
}

/// The decision the cells' counts make now: the winner's cell, or A.
pub fn judge(plan: &Plan, cells: &[VariantResult]) -> (usize, Verdict) {
    let verdict = ab::judge(&plan.test(), cells);
    let winner = match &verdict {
        Verdict::Winner { template, .. } => LABELS
            .iter()
            .position(|l| *l == template.as_str())
            .unwrap_or(0),
        _ => 0,
    };
    (winner, verdict)
}

/// Judges the A/B test once its time has come (the first sender to write the decision wins;
/// the others read it). Returns the broadcast as it is after.
pub(crate) async fn decide(
    k: &Broadcasts<'_>,
    b: Broadcast,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Broadcast> {
    let (Some(plan), None, Some(at)) = (&b.ab, &b.decision, b.freeze.decide_at) else {
        return Ok(b);
    };
    if now < at {
        return Ok(b);
    }
    let cells = results(k, &b).await?;
    let (winner, verdict) = judge(plan, &cells);
    let what = match &verdict {
        Verdict::Winner { p_value, .. } => format!(
            "A/B: {} won (p = {p_value:.4}); the rest gets it",
            LABELS[winner]
        ),
        Verdict::NotSignificant { p_value, .. } => {
            format!("A/B: no significant winner (p = {p_value:.4}); the rest gets A")
        }
        Verdict::NeedsSample { missing } => {
            format!("A/B: {missing} sends short of the sample; the rest gets A")
        }
    };
    let decision = super::ab::Decision {
        at: now,
        winner,
        verdict,
        cells,
    };
    let decided = super::lifecycle::update(k, &b.id, by, &what, |s| {
        if s.decision.is_some() {
            return Err(Error::Refused("decided meanwhile".into()));
        }
        s.decision = Some(decision.clone());
        Ok(())
    })
    .await;
    match decided {
        Ok(b) => {
            tracing::info!(broadcast = %b.id, winner = LABELS[winner], "A/B test decided");
            Ok(b)
        }
        Err(Error::Refused(_)) => Ok(k.store.get_broadcast(&b.id).await?.unwrap_or(b)),
        Err(e) => Err(e),
    }
}
