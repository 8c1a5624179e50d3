//! Owner routing: who in sales gets a lead when it is handed to sales (it turns hot and alerts,
//! it becomes an MQL, or a trigger alerts sales). `[[routing]]` rules are tried in file order;
//! the first one the lead meets names a rep, or a team whose members take turns
//! ([`assign`]: the member with the fewest leads of that team so far, in file order on a tie).
//! A rule with no condition meets every lead: written last, it is the fallback. No rule met:
//! no owner, and the alert goes to the whole sales team as before.
//!
//! The owner is chosen once, at the first hand-off, and kept (a later hot crossing or MQL does
//! not reroute); it travels on the hand-off's event and its alert, so sales hears it even
//! before the lead is stored.

pub mod config;
pub mod follow_up;

use crate::activities::Activity;
use crate::email::EmailAddress;
use crate::error::Result;
use crate::ids::{LeadId, SegmentId};
use crate::leads::Owner;
use crate::ports::Tallies;
use crate::segments::{Cond, Facts};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A sales rep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rep {
    /// `tanaka`: a name of `a-z`, `0-9`, `_`, `-` (the SNS `owner` attribute on AWS).
    pub id: String,
    pub name: Option<String>,
    pub email: EmailAddress,
    /// The team whose turns the rep takes.
    pub team: Option<String>,
}

/// Whom a rule hands a lead to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// This rep.
    Rep(String),
    /// A team's members, in turn.
    Team(String),
}

/// One `[[routing]]` rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// A condition as for segments; `None`: any lead.
    pub when: Option<Cond>,
    /// The lead must be in this segment now.
    pub segment: Option<SegmentId>,
    pub to: Target,
}

/// The reps and the rules.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub reps: Vec<Rep>,
    pub rules: Vec<Rule>,
}

impl Settings {
    /// The rep with this id.
    pub fn rep(&self, id: &str) -> Option<&Rep> {
        self.reps.iter().find(|r| r.id == id)
    }

    /// A team's members, in file order.
    pub fn team(&self, team: &str) -> Vec<&Rep> {
        self.reps
            .iter()
            .filter(|r| r.team.as_deref() == Some(team))
            .collect()
    }
}

/// The first rule the lead meets now: its id and target.
pub fn route<'a>(
    s: &'a Settings,
    facts: &Facts<'_>,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> Option<&'a Rule> {
    s.rules.iter().find(|r| {
        r.segment
            .as_ref()
            .is_none_or(|seg| facts.lead.segments.contains_key(seg))
            && r.when
                .as_ref()
                .is_none_or(|c| c.evaluate(facts, log, now).member)
    })
}

/// The series counting a team's assignments (one bucket, a counter per rep).
fn series(team: &str) -> String {
    format!("routing.{team}")
}

/// Makes `rule`'s choice for `lead`: its rep, or the member of its team with the fewest leads
/// of that team so far (the first in file order on a tie), counted once per lead. Concurrent
/// hand-offs may both see the same counts and pick the same rep; the counts still say who has
/// how many, and the next hand-offs even it out. `None`: a team with no members.
pub async fn assign(
    s: &Settings,
    tallies: &dyn Tallies,
    rule: &Rule,
    lead: &LeadId,
    now: DateTime<Utc>,
) -> Result<Option<Owner>> {
    let (rep, team) = match &rule.to {
        Target::Rep(rep) => (rep.clone(), None),
        Target::Team(team) => {
            let members = s.team(team);
            let counts = tallies.tallies(&series(team), None, None).await?;
            let count = |rep: &str| counts.iter().map(|t| t.get(rep)).sum::<u64>();
            let Some(rep) = members.iter().min_by_key(|r| count(&r.id)) else {
                return Ok(None);
            };
            tallies
                .tally_once(&series(team), "all", &rep.id, lead.as_str(), now)
                .await?;
            (rep.id.clone(), Some(team.clone()))
        }
    };
    Ok(Some(Owner {
        rep,
        rule: rule.id.clone(),
        team,
        at: now,
    }))
}
