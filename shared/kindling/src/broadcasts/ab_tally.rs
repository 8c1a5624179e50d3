//! The counts of a broadcast's A/B test: each cell recipient's send, and the first human open
//! and click of it, once each, in the tally series `bab:{broadcast}`; and what they decide.

use super::ab::{cell_of, Plan, LABELS};
use super::{Broadcast, Broadcasts};
use crate::error::Result;
use crate::ids::{BroadcastId, LeadId, TemplateId};
use crate::sending::ab::{self, VariantResult, Verdict};
use chrono::{DateTime, Utc};

/// A broadcast's tally series.
pub fn series(b: &BroadcastId) -> String {
    format!("bab:{b}")
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
/// click counts as an open too. `activity` has passed the cleaned log (see
/// [`crate::activities::log::human_engagement`]).
pub(crate) async fn count_engagement(
    k: &Broadcasts<'_>,
    b: &Broadcast,
    lead: &LeadId,
    activity: &crate::activities::Activity,
) -> Result<()> {
    use crate::activities::ActivityKind;
    let Some(plan) = &b.ab else { return Ok(()) };
    let Some(cell) = cell_of(plan, &b.id, lead) else {
        return Ok(());
    };
    let counters: &[&str] = match activity.kind {
        ActivityKind::EmailOpen => &[ab::OPENED],
        ActivityKind::EmailClick => &[ab::OPENED, ab::CLICKED],
        _ => &[],
    };
    for c in counters {
        k.tallies
            .tally_once(
                &series(&b.id),
                LABELS[cell],
                c,
                lead.as_str(),
                k.clock.now(),
            )
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
