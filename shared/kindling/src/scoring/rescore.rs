pub(crate) use super::card::score_card;
pub use super::card::{card_of, lead_activities};
use super::fresh::{state_now, with_fit_of, Fresh};
use crate::activities::Activity;
use crate::error::conflict;
use crate::error::Result;
use crate::ids::LeadId;
use crate::leads::Temperature;
use crate::leads::{Lead, TriggerState};
use crate::ports::Cas;
use crate::ports::CAS_ATTEMPTS;
use crate::scoring::events::{
    LeadBecameHot, LeadBecameMql, LeadEnteredSegment, LeadLeftSegment, ScoringEvent,
    TemperatureChanged, TriggerFired,
};
use crate::scoring::{score_lead_summary, ScoreCard};
use crate::segments::membership::Move;
use chrono::{DateTime, Duration, Utc};

/// A lead whose score decays (and who is not cold) is looked at again this often, so that it
/// cools (and `lead.cooled.v1` is published) without waiting for its next activity.
const DECAY_RECHECK_HOURS: i64 = 24;

/// What rescoring found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescored {
    pub card: ScoreCard,
    pub previous: Temperature,
    /// Set when this rescore crossed into hot: the crossing's number.
    pub hot_crossing: Option<u32>,
    /// What was published: temperature changes, MQL, trigger firings.
    pub events: Vec<ScoringEvent>,
    /// Sequences the lead was newly enrolled in by triggers.
    pub enrolled: Vec<crate::ids::SequenceId>,
    /// The fresh activity as scoring sees it: `None` if it is a machine's (or not yet due).
    pub counted: Option<Activity>,
}

/// What a rescore changes: the lead as it will be stored, the events to publish first and the
/// sequences to enroll in first. A pure function of the stored lead, its log, the program and
/// the time, so a retry after a failure plans the same thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub lead: Lead,
    /// The score without the activity ids of each rule (see [`score_lead_summary`]).
    pub card: ScoreCard,
    pub hot_crossing: Option<u32>,
    pub events: Vec<ScoringEvent>,
    pub enroll: Vec<crate::ids::SequenceId>,
    /// The segments entered and left: written to the membership index first.
    pub moves: Vec<Move>,
    /// The `[[routing]]` rule that picks the owner of a lead handed to sales now (it turned
    /// hot and alerts, became an MQL, or a trigger alerts sales) and has none yet; the rep is
    /// chosen when the plan is carried out ([`crate::routing::assign`]).
    pub route: Option<String>,
}

impl Plan {
    /// Whether storing the plan would change nothing.
    pub fn changes_nothing(&self, stored: &Lead) -> bool {
        let (a, b) = (&self.lead, stored);
        a.score.total == b.score.total
            && a.score.temperature == b.score.temperature
            && a.score.hot_crossings == b.score.hot_crossings
            && a.score.mql_at == b.score.mql_at
            && a.triggers == b.triggers
            && a.recheck_at == b.recheck_at
            && a.stage_changes == b.stage_changes
            && a.segments == b.segments
            && a.handoff == b.handoff
            && a.score.state == b.score.state
            && a.submitted == b.submitted
            && self.events.is_empty()
            && self.enroll.is_empty()
    }
}

/// Plans a rescore (see [`Plan`]): temperature transitions (warm, hot with its crossing number
/// and whether it may alert under the re-alert cooldown, cooled), the first MQL, the buying
/// stage, the segments entered and left, trigger firings, and when to look at the lead again.
pub fn plan(c: &super::Sections<'_>, stored: &Lead, log: &[&Activity], now: DateTime<Utc>) -> Plan {
    let card = score_lead_summary(
        stored,
        log,
        &c.scoring.rules,
        &c.scoring.fit_rules,
        c.scoring.thresholds,
        now,
    );
    plan_scored(c, stored, log, card, now)
}

/// [`plan`] with the score already made (by the incremental state, [`super::state`]).
pub fn plan_scored(
    c: &super::Sections<'_>,
    stored: &Lead,
    log: &[&Activity],
    card: ScoreCard,
    now: DateTime<Utc>,
) -> Plan {
    let mut lead = stored.clone();
    let mut events = Vec::new();
    let previous = stored.score.temperature;
    let (temperature, total) = (card.temperature, card.total);
    let mut hot_crossing = None;
    if temperature == Temperature::Hot && previous != Temperature::Hot {
        let crossing = stored.score.hot_crossings + 1;
        let alert = stored
            .score
            .hot_alerted_at
            .is_none_or(|last| now - last >= c.realert_cooldown);
        if alert {
            lead.score.hot_alerted_at = Some(now);
        }
        lead.score.hot_crossings = crossing;
        hot_crossing = Some(crossing);
        events.push(ScoringEvent::LeadBecameHot(LeadBecameHot {
            lead_id: stored.id.clone(),
            crossing,
            score: total,
            previous,
            at: now,
            alert,
            owner: None,
            handoff: None,
        }));
    } else if temperature != previous {
        let change = TemperatureChanged {
            lead_id: stored.id.clone(),
            score: total,
            previous,
            temperature,
            at: now,
        };
        events.push(if temperature > previous {
            ScoringEvent::LeadBecameWarm(change)
        } else {
            ScoringEvent::LeadCooled(change)
        });
    }
    if stored.score.mql_at.is_none() && c.scoring.mql.met(&card) {
        lead.score.mql_at = Some(now);
        events.push(ScoringEvent::LeadBecameMql(LeadBecameMql {
            lead_id: stored.id.clone(),
            score: total,
            fit: card.fit,
            engagement: card.engagement,
            at: now,
            owner: None,
            handoff: None,
        }));
    }

    // The buying stage, from the score just computed (forward only, see `stages`).
    let facts = crate::segments::Facts {
        lead: &lead,
        total,
        fit: card.fit,
        engagement: card.engagement,
        temperature,
        mql: lead.score.mql_at.is_some(),
        stage: stored.stage(),
    };
    if let Some(change) =
        crate::segments::stages::next_stage(c.stages, stored.stage(), &facts, log, now)
    {
        events.push(ScoringEvent::LeadStageChanged(
            super::events::LeadStageChanged {
                lead_id: stored.id.clone(),
                from: change.from.clone(),
                to: change.to.clone(),
                evidence: change.evidence.clone(),
                at: now,
            },
        ));
        lead.stage_changes.push(change);
    }

    // Segments, seeing the stage just reached.
    let facts = crate::segments::Facts {
        lead: &lead,
        total,
        fit: card.fit,
        engagement: card.engagement,
        temperature,
        mql: lead.score.mql_at.is_some(),
        stage: lead.stage(),
    };
    let segs = crate::segments::membership::plan(c.segments, &stored.segments, &facts, log, now);
    for m in &segs.moves {
        events.push(match m {
            Move::Entered { segment, evidence } => {
                ScoringEvent::LeadEnteredSegment(LeadEnteredSegment {
                    lead_id: stored.id.clone(),
                    segment: segment.clone(),
                    evidence: evidence.clone(),
                    at: now,
                })
            }
            Move::Left { segment, since } => ScoringEvent::LeadLeftSegment(LeadLeftSegment {
                lead_id: stored.id.clone(),
                segment: segment.clone(),
                since: *since,
                at: now,
            }),
        });
    }
    lead.segments = segs.members;

    let evaluation = crate::triggers::evaluate(c.triggers, &stored.triggers, log, &segs.moves, now);
    let mut enroll = Vec::new();
    for f in &evaluation.firings {
        let t = f.trigger;
        lead.triggers.insert(
            t.id.clone(),
            TriggerState {
                fired: f.firing,
                last_at: now,
            },
        );
        if let Some(seq) = &t.enroll {
            enroll.push(seq.clone());
        }
        events.push(ScoringEvent::TriggerFired(TriggerFired {
            lead_id: stored.id.clone(),
            trigger: t.id.clone(),
            firing: f.firing,
            reason: f.reason.clone(),
            evidence: f.evidence.clone(),
            enrolled: t.enroll.clone(),
            alert: t.alert,
            at: now,
            owner: None,
            handoff: None,
        }));
    }

    let handed_off = super::handoff::hand_off(c, stored, &mut lead, now, &mut events);
    let decaying = temperature != Temperature::Cold
        && card.breakdown.iter().any(|r| {
            r.undecayed != 0
                && c.scoring
                    .rules
                    .iter()
                    .any(|rule| rule.id == r.rule && rule.half_life_days.is_some())
        });
    let decay_recheck = decaying.then(|| now + Duration::hours(DECAY_RECHECK_HOURS));
    let handoff_due = lead
        .handoff
        .as_ref()
        .and_then(crate::leads::Handoff::next_due);
    lead.recheck_at = [
        evaluation.recheck_at,
        decay_recheck,
        segs.changes_at,
        handoff_due,
    ]
    .into_iter()
    .flatten()
    .min();
    lead.score.total = total;
    lead.score.temperature = temperature;
    let route = (handed_off && stored.owner.is_none())
        .then(|| super::handoff::route(c, &lead, &card, log, now))
        .flatten();
    Plan {
        lead,
        card,
        hot_crossing,
        events,
        enroll,
        moves: segs.moves,
        route,
    }
}

/// Recomputes a lead's score from its whole log, applies its transitions and triggers, and
/// stores the result. Effects come first, each idempotent, and the lead is stored last: trigger
/// enrollments (one per lead and sequence), then the events, then the lead (a conditional
/// write). If anything fails, the retry plans the same firings with the same numbers; the
/// enrollment exists already and notify's dedupe absorbs the repeated events. The other order
/// could store "fired" or "hot" and lose the alert.
pub async fn rescore_lead(k: &super::Scoring<'_>, lead_id: &LeadId) -> Result<Option<Rescored>> {
    super::fresh::rescore_with(k, lead_id, Fresh::Nothing).await
}

/// [`super::rescore_with`], starting from the lead as the caller just read it (`first`, saving the
/// first read; a lost conditional write reads it again).
pub async fn rescore_from(
    k: &super::Scoring<'_>,
    lead_id: &LeadId,
    fresh: Fresh<'_>,
    mut first: Option<crate::leads::Lead>,
) -> Result<Option<Rescored>> {
    let mut touched = std::collections::BTreeSet::new();
    for _ in 0..CAS_ATTEMPTS {
        let read = match first.take() {
            Some(lead) => Some(lead),
            None => k.leads.get_lead(lead_id).await?,
        };
        let Some(stored) = read else {
            return Ok(None);
        };
        let now = k.clock.now();
        let got = state_now(k, &stored, fresh, now).await?;
        let submitted = got.submitted_with(&stored);
        let state = got.state;
        let log = state.view(now);
        let card = with_fit_of(&k.config, &stored, state.card(&k.config, &log, now));
        let mut p = plan_scored(&k.config, &stored, &log, card, now);
        let counted = got.seen.flatten();
        drop(log);
        p.lead.score.state = Some(Box::new(state));
        if submitted.is_some() {
            p.lead.submitted = submitted;
        }
        let mut result = Rescored {
            card: p.card.clone(),
            previous: stored.score.temperature,
            hot_crossing: p.hot_crossing,
            events: Vec::new(),
            enrolled: Vec::new(),
            counted,
        };
        if p.changes_nothing(&stored) {
            return Ok(Some(result));
        }
        for m in &p.moves {
            super::index::index(k, lead_id, m, now).await?;
            touched.insert(m.segment().clone());
        }
        for seq in &p.enroll {
            if crate::sequences::enroll(&k.enroll, &stored, seq, now).await? {
                result.enrolled.push(seq.clone());
            }
        }
        let mut lead = p.lead;
        let mut events = p.events;
        super::handoff::assign_owner(k, p.route.as_deref(), &mut lead, &mut events, now).await?;
        if !events.is_empty() {
            let envelopes: Vec<_> = events.iter().map(ScoringEvent::envelope).collect();
            k.bus.publish(&envelopes).await?;
        }
        lead.score.computed_at = Some(now);
        lead.updated_at = now;
        if store(k, &lead).await? {
            // An earlier attempt (lost to a concurrent update) may have indexed a move that this
            // plan no longer makes: put the index back in line with what was stored.
            for seg in touched
                .iter()
                .filter(|s| !p.moves.iter().any(|m| m.segment() == *s))
            {
                super::index::repair(k, lead_id, seg, lead.segments.get(seg), now).await?;
            }
            for e in &events {
                if let ScoringEvent::TriggerFired(f) = e {
                    tracing::info!(lead_id = %lead_id, trigger = %f.trigger, firing = f.firing, reason = %f.reason, "trigger fired");
                }
            }
            tracing::info!(lead_id = %lead_id, score = result.card.total, temperature = %result.card.temperature, "lead rescored");
            result.events = events;
            return Ok(Some(result));
        }
    }
    Err(conflict(format!("lead {lead_id}")))
}

async fn store(k: &super::Scoring<'_>, lead: &Lead) -> Result<bool> {
    Ok(k.leads.update_lead(lead).await? == Cas::Updated)
}
