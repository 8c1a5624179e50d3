//! Rechecks: leads whose `recheck_at` has come (a pending trigger condition, a decaying score)
//! are rescored without new activity, by the schedule's run before step mails go out.

use super::rescore::rescore_lead;
use crate::error::Result;

/// What a recheck run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Rechecked {
    /// Leads looked at again (pending triggers, decaying scores).
    pub rechecked: u32,
    /// Trigger firings found by those rechecks.
    pub triggers_fired: u32,
    /// Leads whose recheck failed; they stay due.
    pub errors: u32,
}

/// Rescores the leads whose `recheck_at` has come (see [`crate::leads::Lead::recheck_at`]), at
/// most `budget`. A lead that fails stays due and is counted in `errors`.
#[tracing::instrument(name = "recheck_due_leads", skip_all, fields(budget = budget))]
pub async fn recheck_due_leads(k: &super::Scoring<'_>, budget: usize) -> Result<Rechecked> {
    let mut report = Rechecked::default();
    let now = k.clock.now();
    let due = k.leads.due_rechecks(now, budget.max(1)).await?;
    for lead in due {
        match rescore_lead(k, &lead).await {
            Ok(Some(r)) => {
                report.rechecked += 1;
                report.triggers_fired += r
                    .events
                    .iter()
                    .filter(|e| matches!(e, super::events::ScoringEvent::TriggerFired(_)))
                    .count() as u32;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(lead_id = %lead, error = %crate::error::Report(&e), "recheck failed; it stays due");
                report.errors += 1;
            }
        }
    }
    Ok(report)
}
