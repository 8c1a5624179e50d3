use crate::activities::classify::machine_hits;
use crate::activities::Activity;
use crate::app::Kindling;
use crate::deliverability::suppression::Suppression;
use crate::error::Result;
use crate::ids::{ActivityId, VisitorId};
use crate::leads::Lead;
use crate::scoring::lead_activities;
use crate::scoring::ScoreCard;
use crate::sending::ledger::SendRecord;
use crate::sequences::Enrollment;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most recent activities in a report; the score always uses the whole log.
pub const REPORT_ACTIVITIES: usize = 200;

/// Everything about one lead that sales or an operator asks for: profile and consent, the score
/// with its per-rule explanation as of now, the timeline, enrollments, sends and suppression.
/// Reads only. (Also the admin API's answer, read back by the CLI's `--api`.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeadReport {
    pub lead: Lead,
    pub score: ScoreCard,
    pub computed_at: DateTime<Utc>,
    pub visitors: Vec<VisitorId>,
    /// Newest first, at most [`REPORT_ACTIVITIES`].
    pub activities: Vec<Activity>,
    pub activity_count: usize,
    /// Activities kept in the log that score nothing, with why (machine opens, scanner clicks).
    pub not_scored: BTreeMap<ActivityId, String>,
    pub enrollments: Vec<Enrollment>,
    pub sends: Vec<SendRecord>,
    pub suppression: Option<Suppression>,
    /// The segments the lead is in now, each with the activities that put it there.
    pub segments: Vec<InSegment>,
}

/// A segment the lead is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InSegment {
    pub id: crate::ids::SegmentId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// When it entered, as stored by the rescore that moved it in (`None`: it meets the
    /// condition now but has not been rescored since).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Whether its condition holds now.
    pub holds: bool,
    pub evidence: Vec<ActivityId>,
    /// When it leaves the segment unless something happens first (a windowed condition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

/// The report of one lead, `None` if there is no such lead.
#[tracing::instrument(name = "lead_report", skip_all)]
pub async fn lead_report(k: &Kindling, key: &crate::leads::LeadKey) -> Result<Option<LeadReport>> {
    let lead = match key {
        crate::leads::LeadKey::Id(id) => k.stores.leads.get_lead(id).await?,
        crate::leads::LeadKey::Email(email) => k.stores.leads.find_lead_by_email(email).await?,
    };
    let Some(mut lead) = lead else {
        return Ok(None);
    };
    // The score state is the rescore's working memory, not part of the explanation (which is
    // made from the whole log below).
    lead.score.state = None;
    let now = k.clock.now();
    let mut log = lead_activities(&k.scoring(), &lead.id).await?;
    let card = crate::scoring::rescore::card_of(&k.scoring(), &lead, &log);
    let refs: Vec<&Activity> = log.iter().collect();
    let segments = in_segments(&k.config.segments, &lead, &card, &log, now);
    let not_scored: BTreeMap<ActivityId, String> = machine_hits(&refs)
        .into_iter()
        .map(|(id, why)| (id.clone(), why.to_owned()))
        .collect();
    log.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    let activity_count = log.len();
    log.truncate(REPORT_ACTIVITIES);
    let visitors = k.stores.visitors.visitors_of_lead(&lead.id).await?;
    let enrollments = k.stores.enrollments.enrollments_of_lead(&lead.id).await?;
    let sends = k.stores.sends.sends_of_lead(&lead.id).await?;
    let suppression = k.stores.suppressions.suppression(&lead.email).await?;
    Ok(Some(LeadReport {
        lead,
        score: card,
        computed_at: now,
        visitors,
        activities: log,
        activity_count,
        not_scored,
        enrollments,
        sends,
        suppression,
        segments,
    }))
}

/// The segments `lead` is in: those stored on it (with when it entered) and those its condition
/// gives now; a stored one whose condition no longer holds (`holds: false`) leaves at the lead's
/// next rescore, one that holds but is not stored yet enters then.
fn in_segments(
    segments: &[crate::segments::Segment],
    lead: &Lead,
    card: &ScoreCard,
    log: &[Activity],
    now: DateTime<Utc>,
) -> Vec<InSegment> {
    let clean = crate::activities::log::clean_log(log, now);
    crate::segments::evaluate_all(segments, &card.facts(lead), &clean, now)
        .into_iter()
        .filter_map(|(s, v)| {
            let stored = lead.segments.get(&s.id);
            if !v.member && stored.is_none() {
                return None;
            }
            Some(InSegment {
                id: s.id.clone(),
                label: s.label.clone(),
                since: stored.map(|m| m.since),
                holds: v.member,
                evidence: if v.member {
                    v.evidence
                } else {
                    stored.map(|m| m.evidence.clone()).unwrap_or_default()
                },
                until: v.changes_at.filter(|_| v.member),
            })
        })
        .collect()
}
