//! The hand-off to sales in a rescore's plan: a lead goes to sales when it turns hot and alerts,
//! becomes an MQL, or a trigger alerts sales; then its follow-up clock runs
//! ([`crate::routing::follow_up`]) until sales marks it. A rescore that sees the reminder's time
//! or the deadline pass with no mark publishes `lead.follow_up_due.v1` once for each (the lead's
//! `recheck_at` brings that rescore on time), and notify alerts the owner, then the escalation.

use super::events::{FollowUpDue, FollowUpKind, ScoringEvent};
use crate::activities::Activity;
use crate::error::Result;
use crate::leads::{Handoff, Lead};
use chrono::{DateTime, Utc};

/// Why this rescore hands the lead to sales, if it does, and which of its events says so.
fn reason(events: &[ScoringEvent]) -> Option<(usize, String)> {
    events.iter().enumerate().find_map(|(i, e)| match e {
        ScoringEvent::LeadBecameHot(h) if h.alert => Some((i, "hot".to_owned())),
        ScoringEvent::LeadBecameMql(_) => Some((i, "mql".to_owned())),
        ScoringEvent::TriggerFired(f) if f.alert == Some(crate::events::Audience::Sales) => {
            Some((i, format!("trigger:{}", f.trigger)))
        }
        _ => None,
    })
}

/// Updates `lead.handoff`: a sales mark since the hand-off closes it (its first touch); a new
/// hand-off (no open one) starts the clock; a reminder or a deadline that came with the hand-off
/// still open is published once. Says whether this rescore handed the lead to sales.
pub(super) fn hand_off(
    c: &super::Sections<'_>,
    stored: &Lead,
    lead: &mut Lead,
    now: DateTime<Utc>,
    events: &mut Vec<ScoringEvent>,
) -> bool {
    let mut handoff = stored.handoff.clone();
    if let (Some(h), Some(mark)) = (&mut handoff, &stored.sales) {
        if h.is_open() && mark.at >= h.at {
            h.touched_at = Some(mark.at);
        }
    }
    let why = reason(events);
    let handed_off = why.is_some();
    if let Some((i, why)) = why {
        if handoff.as_ref().is_none_or(|h| !h.is_open()) {
            let (remind_at, due) = c.follow_up.times(now, c.default_zone);
            let n = handoff.as_ref().map_or(1, |h| h.n + 1);
            match &mut events[i] {
                ScoringEvent::LeadBecameHot(e) => e.handoff = Some(n),
                ScoringEvent::LeadBecameMql(e) => e.handoff = Some(n),
                ScoringEvent::TriggerFired(e) => e.handoff = Some(n),
                _ => {}
            }
            handoff = Some(Handoff {
                n,
                reason: why,
                at: now,
                remind_at,
                due,
                reminded: false,
                escalated: false,
                touched_at: None,
            });
        }
    }
    if let Some(h) = handoff.as_mut().filter(|h| h.is_open()) {
        let owner = lead.owner.as_ref().map(|o| o.rep.clone());
        let mut due = |kind| {
            events.push(ScoringEvent::FollowUpDue(FollowUpDue {
                lead_id: stored.id.clone(),
                handoff: h.n,
                kind,
                owner: owner.clone(),
                handed_off_at: h.at,
                due: h.due,
                at: now,
            }));
        };
        if !h.reminded && now >= h.remind_at {
            due(FollowUpKind::Reminder);
            h.reminded = true;
        }
        if !h.escalated && now >= h.due {
            due(FollowUpKind::Escalation);
            h.escalated = true;
        }
    }
    lead.handoff = handoff;
    handed_off
}

/// The `[[routing]]` rule the lead (as the plan leaves it) meets now, by id.
pub(super) fn route(
    c: &super::Sections<'_>,
    lead: &Lead,
    card: &super::ScoreCard,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> Option<String> {
    crate::routing::route(c.routing, &card.facts(lead), log, now).map(|r| r.id.clone())
}

/// Carries out the plan's routing: the rule's rep, or the team member whose turn it is
/// ([`crate::routing::assign`]), stored on the lead and named on the hand-off's events.
pub(super) async fn assign_owner(
    k: &super::Scoring<'_>,
    rule: Option<&str>,
    lead: &mut Lead,
    events: &mut [ScoringEvent],
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(rule) = rule.and_then(|id| k.config.routing.rules.iter().find(|r| r.id == id)) {
        lead.owner =
            crate::routing::assign(k.config.routing, k.tallies, rule, &lead.id, now).await?;
    }
    let Some(owner) = &lead.owner else {
        return Ok(());
    };
    for e in events {
        let slot = match e {
            ScoringEvent::LeadBecameHot(h) => &mut h.owner,
            ScoringEvent::LeadBecameMql(m) => &mut m.owner,
            ScoringEvent::TriggerFired(f) => &mut f.owner,
            ScoringEvent::FollowUpDue(f) => &mut f.owner,
            _ => continue,
        };
        *slot = Some(owner.rep.clone());
    }
    Ok(())
}
