//! A lead's score card from its whole log: the reference the score state is checked against,
//! and what explanations (`lead show`, alerts) read.

use crate::activities::log::clean_log;
use crate::activities::Activity;
use crate::error::Result;
use crate::ids::LeadId;
use crate::leads::Lead;
use crate::scoring::{score_lead_clean, ScoreCard};
use chrono::{DateTime, Utc};

/// Every activity of a lead, including those of the browsers tied to it.
pub async fn lead_activities(k: &super::Scoring<'_>, lead: &LeadId) -> Result<Vec<Activity>> {
    Ok(crate::activities::log::of_lead(k.activities, k.visitors, lead).await?)
}

/// A lead's score now (fit and engagement), with its explanation, from a log already read.
pub fn card_of(k: &super::Scoring<'_>, lead: &Lead, log: &[Activity]) -> ScoreCard {
    let now = k.clock.now();
    card_of_clean(&k.config, lead, &clean_log(log, now), now)
}

fn card_of_clean(
    c: &super::Sections<'_>,
    lead: &Lead,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> ScoreCard {
    score_lead_clean(
        lead,
        log,
        &c.scoring.rules,
        &c.scoring.fit_rules,
        c.scoring.thresholds,
        now,
    )
}

/// The lead's score now, with its explanation (reads only).
pub(crate) async fn score_card(k: &super::Scoring<'_>, lead: &Lead) -> Result<ScoreCard> {
    let log = lead_activities(k, &lead.id).await?;
    Ok(card_of(k, lead, &log))
}
