//! Explainable scores: a pure function of a lead's activity log, the rules and the time.
//!
//! Because nothing else goes in, a redelivered or reordered event cannot change a score, and a
//! change of rules can be replayed over history.

use crate::activity::{Activity, ActivityKind};
use crate::fasthash::FastBuild;
use crate::ids::{ActivityId, EnrollmentId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// How hot a lead is, from its total and the configured thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Temperature {
    Cold,
    Warm,
    Hot,
}

impl Temperature {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Warm => "warm",
            Self::Hot => "hot",
        }
    }
}

impl fmt::Display for Temperature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Score at or above which a lead is warm or hot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub hot: i64,
    pub warm: i64,
}

impl Thresholds {
    /// The temperature of a total.
    pub fn temperature(&self, total: i64) -> Temperature {
        if total >= self.hot {
            Temperature::Hot
        } else if total >= self.warm {
            Temperature::Warm
        } else {
            Temperature::Cold
        }
    }
}

/// How often one rule may award points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// Every matching activity scores.
    #[default]
    Every,
    /// Once per mail (repeated opens of one mail count once).
    OncePerMessage,
    /// Once in the lead's lifetime.
    Once,
}

/// A behaviour rule: activities of `kind` (and matching the optional conditions) score `points`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub kind: ActivityKind,
    pub page_category: Option<String>,
    pub form_id: Option<String>,
    pub points: i64,
    pub repeat: Repeat,
}

impl Rule {
    fn matches(&self, a: &Activity) -> bool {
        a.kind == self.kind
            && self
                .page_category
                .as_ref()
                .is_none_or(|c| a.attrs.page_category.as_ref() == Some(c))
            && self
                .form_id
                .as_ref()
                .is_none_or(|f| a.attrs.form_id.as_ref() == Some(f))
    }
}

/// What one rule contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleScore {
    pub rule: String,
    pub count: u32,
    pub points: i64,
    pub activities: Vec<ActivityId>,
}

/// A score with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreCard {
    pub total: i64,
    pub temperature: Temperature,
    /// One entry per rule that scored, in rule order.
    pub breakdown: Vec<RuleScore>,
}

/// What a rule with a repeat limit has counted.
#[derive(PartialEq, Eq, Hash)]
enum Counted<'a> {
    Lead,
    Mail(&'a EnrollmentId, u32),
    Activity(&'a ActivityId),
}

/// Scores an activity log. Activities after `now` are ignored (they have not happened yet) and
/// a repeated activity id counts once, so the result does not depend on delivery order or count.
pub fn score(
    activities: &[Activity],
    rules: &[Rule],
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> ScoreCard {
    // One entry per activity id (a redelivery may carry another timestamp: the earliest wins,
    // whatever the order of delivery), then in time order.
    let mut log: Vec<&Activity> = activities.iter().filter(|a| a.at <= now).collect();
    log.sort_unstable_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let mut seen: HashSet<&ActivityId, FastBuild> =
        HashSet::with_capacity_and_hasher(log.len(), FastBuild::default());
    log.retain(|a| seen.insert(&a.id));
    // Machine opens and scanner clicks stay in the log and score 0.
    let machine = crate::classify::machine_hits(&log);
    if !machine.is_empty() {
        log.retain(|a| !machine.contains_key(&a.id));
    }

    let mut by_rule: BTreeMap<usize, RuleScore> = BTreeMap::new();
    // What a limited rule has already counted: the lead (once), a mail, or an activity of its own.
    let mut counted: HashSet<(usize, Counted<'_>), FastBuild> = HashSet::default();
    for a in log {
        for (i, rule) in rules.iter().enumerate().filter(|(_, r)| r.matches(a)) {
            let key = match rule.repeat {
                Repeat::Every => None,
                Repeat::Once => Some(Counted::Lead),
                // A message-scoped activity without a message is counted on its own.
                Repeat::OncePerMessage => Some(match a.attrs.message_ref() {
                    Some((enrollment, step)) => Counted::Mail(enrollment, step),
                    None => Counted::Activity(&a.id),
                }),
            };
            if let Some(key) = key {
                if !counted.insert((i, key)) {
                    continue;
                }
            }
            let entry = by_rule.entry(i).or_insert_with(|| RuleScore {
                rule: rule.id.clone(),
                count: 0,
                points: 0,
                activities: Vec::new(),
            });
            entry.count += 1;
            entry.points += rule.points;
            entry.activities.push(a.id.clone());
        }
    }
    let breakdown: Vec<RuleScore> = by_rule.into_values().collect();
    let total = breakdown.iter().map(|r| r.points).sum();
    ScoreCard {
        total,
        temperature: thresholds.temperature(total),
        breakdown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::{Attrs, Subject};
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
        let rules = shipped().rules;
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
        let rules = shipped().rules;
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
        let rules = shipped().rules;
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
        let rules = shipped().rules;
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
        let rules = shipped().rules;
        let card = score(&[page("p", "pricing", 20)], &rules, TH, t(10));
        assert_eq!(card.total, 0);
    }
}
