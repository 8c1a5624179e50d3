//! One run of the schedule (every minute on AWS: the `send-steps` function, locally the
//! server's scheduler and the demo): rechecks, then step mail, then broadcasts, then the weekly
//! digest when its time has come, with one report.

use super::Kindling;
use crate::broadcasts::BroadcastReport;
use crate::error::Error;
use crate::scoring::Rechecked;
use crate::sequences::SendReport;
use serde::Serialize;

/// Keeps the week's report when the digest of `day` is about to go, and gives the link the
/// digest carries (implemented above the schedule, where the report page is built:
/// `admin::page::Weekly`). Never fails: without a link the digest still goes.
#[async_trait::async_trait]
pub trait WeeklyReport: Send + Sync {
    async fn keep(&self, k: &Kindling, day: chrono::NaiveDate) -> Option<String>;
}

/// What one run of the schedule did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleReport {
    /// Leads looked at again before sending (pending triggers, decaying scores).
    pub rechecks: Rechecked,
    /// Step mail.
    pub steps: SendReport,
    /// Broadcasts, after the steps, with what was left of the budget.
    pub broadcasts: BroadcastReport,
    /// The weekly digest, when due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<crate::kpis::digest::DigestReport>,
}

impl ScheduleReport {
    /// Mails handed to the provider in this run, steps and broadcasts.
    pub fn sent(&self) -> usize {
        self.steps.sent.len() + self.broadcasts.sent.len()
    }

    /// Failures that leave work due for a later run (store or bus errors).
    pub fn errors(&self) -> u32 {
        self.steps.errors + self.rechecks.errors
    }
}

/// One run of the schedule: leads whose `recheck_at` has come are rescored first (a trigger
/// that fires now, such as an abandoned form, enrolls the lead, and its first step can go out in
/// this very run), then every due step is sent ([`crate::sequences::send_due_steps`]), at most
/// `budget` of each, then due broadcasts get what is left of the budget
/// ([`crate::broadcasts::send_due_broadcasts`]). Broadcasts share the run's provider and
/// breaker: a throttle or an open breaker stops both (the breaker is asked once per run). In
/// the day after the digest's time, the digest goes to whoever has not had it
/// ([`crate::kpis::digest`]), whatever the breaker says (it reports it), with a link to the
/// week's report, written then ([`crate::kpis::archive`]).
#[tracing::instrument(name = "run_schedule", skip_all, fields(budget = budget))]
pub async fn run_schedule(
    k: &Kindling,
    mailer: &dyn crate::sending::ports::Mailer,
    budget: usize,
) -> Result<ScheduleReport, Error> {
    let rechecks = crate::scoring::recheck_due_leads(&k.scoring(), budget).await?;
    let steps = crate::sequences::send_due_steps(&k.sequences(), mailer, budget).await?;
    let mut broadcasts = BroadcastReport::default();
    let left = budget.saturating_sub(steps.sent.len());
    if let Some(p) = &steps.paused {
        broadcasts.paused = Some(p.clone());
    } else if steps.retry_later == 0 && left > 0 {
        broadcasts = crate::broadcasts::send_due_broadcasts(&k.broadcasts(), mailer, left).await?;
    }
    let now = k.clock.now();
    let due = k
        .config
        .digest
        .as_ref()
        .and_then(|d| crate::kpis::digest::due(d, k.config.program.default_zone, now));
    let digest = match due {
        Some(day) => {
            let d = k.deliverability();
            let breaker = crate::deliverability::sending_status(&d);
            let report = async {
                match &k.reports {
                    Some(r) => r.keep(k, day).await,
                    None => None,
                }
            };
            Some(crate::kpis::digest::send(&k.kpis(), mailer, day, breaker, report).await?)
        }
        None => None,
    };
    Ok(ScheduleReport {
        rechecks,
        steps,
        broadcasts,
        digest,
    })
}
