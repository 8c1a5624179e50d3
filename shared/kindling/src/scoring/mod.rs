//! Explainable scores: a pure function of a lead's activity log, the rules and the time.
//!
//! Because nothing else goes in, a redelivered or reordered event cannot change a score, and a
//! change of rules can be replayed over history.

mod card;
pub mod config;
pub mod events;
mod fit;
mod fresh;
mod handoff;
mod index;
mod levels;
mod recheck;
pub mod state;
pub mod tally;

pub mod batch;
pub mod rescore;

pub use batch::{
    rebuild_segments, rebuild_segments_page, rescore_all, rescore_page, Rebuild, RebuildPage,
    RescoreChange, RescorePage, SegmentMove,
};
pub use fit::{fit, FitField, FitRule, FitScore, FitTest};
pub use fresh::{rescore_with, Fresh};
pub use levels::{Mql, Thresholds};
pub use recheck::{recheck_due_leads, Rechecked};
pub use rescore::{lead_activities, plan, plan_scored, rescore_from, rescore_lead, Plan, Rescored};

use crate::activities::log::{activity_matches, clean_log};
use crate::activities::{Activity, ActivityKind};
use crate::ids::ActivityId;
use crate::leads::{Lead, Temperature};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::activities::ports::{ActivityLog, VisitorLinks};
use crate::events::EventBus;
use crate::leads::ports::LeadStore;
use crate::ports::{Clock, Ids};
use crate::sequences::Enroller;
use crate::triggers::Trigger;

/// The sections scoring reads.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub scoring: &'a config::Settings,
    pub triggers: &'a [Trigger],
    /// Buying stages, in order.
    pub stages: &'a [crate::segments::stages::Stage],
    pub segments: &'a [crate::segments::Segment],
    /// Who owns a lead handed to sales.
    pub routing: &'a crate::routing::Settings,
    /// The follow-up clock of a hand-off (`[alerts]`).
    pub follow_up: crate::routing::follow_up::FollowUp,
    /// A lead that turns hot again within this long of its last alert does not alert again
    /// (`[alerts] realert_cooldown`).
    pub realert_cooldown: chrono::Duration,
    pub default_zone: chrono_tz::Tz,
    /// [`state::fingerprint`] of these sections, computed once when the program is loaded.
    pub fingerprint: u64,
}

/// What rescoring touches.
#[derive(Clone, Copy)]
pub struct Scoring<'a> {
    pub config: Sections<'a>,
    pub leads: &'a dyn LeadStore,
    /// The membership index, written when a lead enters or leaves a segment.
    pub members: &'a dyn crate::segments::ports::SegmentMembers,
    pub activities: &'a dyn ActivityLog,
    pub visitors: &'a dyn VisitorLinks,
    /// The routing counts of team rules ([`crate::routing::assign`]).
    pub tallies: &'a dyn crate::ports::Tallies,
    pub enroll: Enroller<'a>,
    pub bus: &'a dyn EventBus,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn Ids,
}

/// How often one rule may award points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// Every matching activity scores.
    #[default]
    Every,
    /// Once per mail (repeated opens of one mail count once; one 90 days or more after the
    /// scored one counts again, see [`crate::leads::score_state::MAIL_MEMORY_DAYS`]).
    OncePerMessage,
    /// Once in the lead's lifetime.
    Once,
}

crate::named!(Repeat {
    Every = "every",
    OncePerMessage = "once_per_message",
    Once = "once",
});

/// A behaviour rule: activities of `kind` (and matching the optional conditions) score `points`,
/// within its limits, decaying with age if it has a half-life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub kind: ActivityKind,
    pub page_category: Option<String>,
    pub form_id: Option<crate::ids::FormId>,
    /// URL path: `/x` exact, `/x*` prefix.
    pub url: Option<String>,
    pub sequence_id: Option<crate::ids::SequenceId>,
    pub step: Option<u32>,
    pub points: i64,
    pub repeat: Repeat,
    /// At most this many awards per UTC day.
    pub max_per_day: Option<u32>,
    /// At most this many awards per week (Monday to Sunday, UTC).
    pub max_per_week: Option<u32>,
    /// The rule's points never go beyond this in total (in magnitude, before decay).
    pub max_points: Option<i64>,
    /// An award is worth half as much after this many days, a quarter after twice as many...
    pub half_life_days: Option<u32>,
}

impl Rule {
    fn matches(&self, a: &Activity) -> bool {
        let x = &a.attrs;
        activity_matches(
            a,
            self.kind,
            self.page_category.as_deref(),
            self.form_id.as_deref(),
            self.url.as_deref(),
        ) && self
            .sequence_id
            .as_ref()
            .is_none_or(|s| x.sequence_id.as_ref() == Some(s))
            && self.step.is_none_or(|s| x.step == Some(s))
    }
}

/// What one rule contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleScore {
    pub rule: String,
    pub count: u32,
    /// What the awards are worth now (after decay), rounded.
    pub points: i64,
    /// What they were worth when awarded (after limits, before decay).
    pub undecayed: i64,
    pub activities: Vec<ActivityId>,
}

/// A score with its explanation: `total` = `fit` (who the lead is) + `engagement` (what the lead
/// did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreCard {
    pub total: i64,
    pub temperature: Temperature,
    pub fit: i64,
    pub engagement: i64,
    /// One entry per behaviour rule that scored, in rule order.
    pub breakdown: Vec<RuleScore>,
    /// One entry per fit rule that matched, in rule order.
    pub fit_breakdown: Vec<FitScore>,
}

impl ScoreCard {
    /// What segment conditions read about `lead` scored so (its stored MQL date and stage).
    pub fn facts<'a>(&self, lead: &'a Lead) -> crate::segments::Facts<'a> {
        crate::segments::Facts {
            lead,
            total: self.total,
            fit: self.fit,
            engagement: self.engagement,
            temperature: self.temperature,
            mql: lead.score.mql_at.is_some(),
            stage: lead.stage(),
        }
    }
}

/// A lead's whole score: fit from its profile plus engagement from its log.
pub fn score_lead(
    lead: &Lead,
    activities: &[Activity],
    rules: &[Rule],
    fit_rules: &[FitRule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> ScoreCard {
    score_lead_clean(
        lead,
        &clean_log(activities, now),
        rules,
        fit_rules,
        thresholds,
        now,
    )
}

/// [`score_lead`] over a log already cleaned by [`clean_log`].
pub fn score_lead_clean(
    lead: &Lead,
    log: &[&Activity],
    rules: &[Rule],
    fit_rules: &[FitRule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> ScoreCard {
    with_fit(
        score_clean(log, rules, thresholds, now),
        lead,
        fit_rules,
        thresholds,
    )
}

/// [`score_lead_clean`] without the activity ids of each rule (`RuleScore::activities` empty):
/// every total, count and point is the same. What a rescore needs on every new activity; the
/// report and alerts use the full explanation.
pub fn score_lead_summary(
    lead: &Lead,
    log: &[&Activity],
    rules: &[Rule],
    fit_rules: &[FitRule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> ScoreCard {
    with_fit(
        score_inner(log, rules, thresholds, now, false),
        lead,
        fit_rules,
        thresholds,
    )
}

/// An engagement card with the lead's fit added (the total and temperature made again).
pub fn with_fit(
    mut card: ScoreCard,
    lead: &Lead,
    fit_rules: &[FitRule],
    thresholds: Thresholds,
) -> ScoreCard {
    let (fit_points, fit_breakdown) = fit(lead, fit_rules);
    card.fit = fit_points;
    card.fit_breakdown = fit_breakdown;
    card.total = card.fit + card.engagement;
    card.temperature = thresholds.temperature(card.total);
    card
}

/// Scores an activity log. Activities after `now` are ignored (they have not happened yet) and
/// a repeated activity id counts once, so the result does not depend on delivery order or count.
pub fn score(
    activities: &[Activity],
    rules: &[Rule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> ScoreCard {
    score_clean(&clean_log(activities, now), rules, thresholds, now)
}

/// Scores a log already cleaned by [`clean_log`].
pub fn score_clean(
    log: &[&Activity],
    rules: &[Rule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> ScoreCard {
    score_inner(log, rules, thresholds, now, true)
}

fn score_inner(
    log: &[&Activity],
    rules: &[Rule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
    with_ids: bool,
) -> ScoreCard {
    let of_kind = tally::rules_of_kind(rules);
    let mut fold = tally::Fold::new(with_ids);
    for &a in log {
        fold.add(rules, &of_kind, a);
    }
    fold.card(rules, thresholds, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activities::{Attrs, Subject};
    use crate::config::tests::shipped;
    use crate::ids::{EnrollmentId, LeadId};
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    fn act(id: &str, kind: ActivityKind, min: i64, attrs: Attrs) -> Activity {
        Activity {
            id: ActivityId::new(id),
            subject: Subject::Lead(LeadId::new("L1")),
            kind,
            at: t(min),
            attrs,
        }
    }

    fn page(id: &str, cat: &str, min: i64) -> Activity {
        act(
            id,
            ActivityKind::PageView,
            min,
            Attrs {
                page_category: Some(cat.into()),
                ..Attrs::default()
            },
        )
    }

    fn mail(id: &str, kind: ActivityKind, step: u32, min: i64) -> Activity {
        let attrs = Attrs {
            enrollment_id: Some(EnrollmentId::new("E1")),
            step: Some(step),
            ..Attrs::default()
        };
        act(id, kind, min, attrs)
    }

    const TH: Thresholds = Thresholds { hot: 50, warm: 30 };

    #[test]
    fn seed_points_reproduce_exactly() {
        let rules = shipped().scoring.rules;
        let cases = [
            (mail("o", ActivityKind::EmailOpen, 0, 0), 5),
            (mail("c", ActivityKind::EmailClick, 0, 0), 10),
            (
                act("d", ActivityKind::DocumentDownload, 0, Attrs::default()),
                10,
            ),
            (page("p", "pricing", 0), 15),
            (
                act("s", ActivityKind::SeminarSignup, 0, Attrs::default()),
                20,
            ),
            (
                act("k", ActivityKind::ConsultationRequest, 0, Attrs::default()),
                30,
            ),
            (page("h", "home", 0), 0),
        ];
        for (a, points) in cases {
            assert_eq!(
                score(std::slice::from_ref(&a), &rules, TH, t(10)).total,
                points,
                "{:?}",
                a.kind
            );
        }
    }

    #[test]
    fn temperature_boundaries() {
        assert_eq!(TH.temperature(29), Temperature::Cold);
        assert_eq!(TH.temperature(30), Temperature::Warm);
        assert_eq!(TH.temperature(49), Temperature::Warm);
        assert_eq!(TH.temperature(50), Temperature::Hot);
        assert_eq!(TH.temperature(-5), Temperature::Cold);
    }

    #[test]
    fn duplicated_and_reordered_deliveries_give_the_same_score() {
        let rules = shipped().scoring.rules;
        let log = vec![
            page("p1", "pricing", 1),
            mail("o1", ActivityKind::EmailOpen, 0, 2),
            page("p2", "pricing", 3),
            act("d1", ActivityKind::DocumentDownload, 0, Attrs::default()),
        ];
        let base = score(&log, &rules, TH, t(10));
        let mut shuffled: Vec<Activity> = log.iter().rev().cloned().collect();
        shuffled.extend(log.iter().cloned());
        assert_eq!(score(&shuffled, &rules, TH, t(10)), base);
        assert_eq!(base.total, 15 + 5 + 15 + 10);
    }

    #[test]
    fn repeated_opens_of_one_mail_count_once() {
        let rules = shipped().scoring.rules;
        let log = vec![
            mail("o1", ActivityKind::EmailOpen, 0, 1),
            mail("o2", ActivityKind::EmailOpen, 0, 2),
            mail("o3", ActivityKind::EmailOpen, 1, 3),
        ];
        let card = score(&log, &rules, TH, t(10));
        assert_eq!(card.total, 10);
        assert_eq!(card.breakdown[0].count, 2);
    }

    #[test]
    fn breakdown_explains_the_total() {
        let rules = shipped().scoring.rules;
        let log = vec![
            page("p1", "pricing", 1),
            page("p2", "pricing", 2),
            act("k", ActivityKind::ConsultationRequest, 3, Attrs::default()),
        ];
        let card = score(&log, &rules, TH, t(10));
        assert_eq!(card.total, 60);
        assert_eq!(card.temperature, Temperature::Hot);
        assert_eq!(
            card.breakdown.iter().map(|r| r.points).sum::<i64>(),
            card.total
        );
        let pricing = card
            .breakdown
            .iter()
            .find(|r| r.rule == "pricing_page_view")
            .unwrap();
        assert_eq!((pricing.count, pricing.points), (2, 30));
        assert_eq!(
            pricing.activities,
            vec![ActivityId::new("p1"), ActivityId::new("p2")]
        );
    }

    #[test]
    fn activities_after_now_do_not_score() {
        let rules = shipped().scoring.rules;
        let card = score(&[page("p", "pricing", 20)], &rules, TH, t(10));
        assert_eq!(card.total, 0);
    }
}
