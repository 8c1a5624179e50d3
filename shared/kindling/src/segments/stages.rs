//! Buying stages (`[[stages]]`): an ordered list, awareness to decision, each with a condition in
//! the segments' language. A lead moves forward to the furthest stage whose condition it meets,
//! and never back, unless its current stage says `fall_back = true` and its condition no longer
//! holds: then it moves back to the furthest earlier stage it still meets (or to none).

use super::{Cond, Facts};
use crate::activities::Activity;
use crate::diag::Diag;
use crate::ids::StageId;
use crate::leads::StageChange;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// One stage from `[[stages]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub id: StageId,
    /// For people: `認知`, `興味`, `比較検討`, `決定`.
    pub label: Option<String>,
    pub when: Cond,
    /// A lead that no longer meets this stage's condition moves back.
    pub fall_back: bool,
}

/// The move a lead makes now, if any, from `current` (see the module's rule). Stages are
/// evaluated from the last one back and only as far as the answer needs: a lead at its furthest
/// stage costs one condition at most (its own, if it may fall back).
pub fn next_stage(
    stages: &[Stage],
    current: Option<&StageId>,
    facts: &Facts<'_>,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> Option<StageChange> {
    let at = current.and_then(|c| stages.iter().position(|s| s.id == *c));
    let change = |to: Option<(usize, Vec<crate::ids::ActivityId>)>| StageChange {
        from: current.cloned(),
        to: to.as_ref().map(|(i, _)| stages[*i].id.clone()),
        at: now,
        evidence: to.map_or_else(Vec::new, |(_, e)| e),
    };
    // The furthest stage met, among those in `range`.
    let furthest = |range: std::ops::Range<usize>| {
        range.rev().find_map(|i| {
            let v = stages[i].when.evaluate(facts, log, now);
            v.member.then_some((i, v.evidence))
        })
    };
    let forward = at.map_or(0, |a| a + 1);
    if let Some(f) = furthest(forward..stages.len()) {
        return Some(change(Some(f)));
    }
    let a = at?;
    if stages[a].fall_back && !stages[a].when.evaluate(facts, log, now).member {
        return Some(change(furthest(0..a)));
    }
    None
}

/// Checks `[[stages]]`: unique ids, each condition as a segment's, in the order written (the
/// order of the buying process).
pub(crate) fn validate(
    d: &mut Diag<'_>,
    raw: &[raw::Stage],
    categories: &HashSet<&str>,
    forms: &HashSet<String>,
) -> Vec<Stage> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for s in raw {
        let id = s.id.get_ref();
        crate::diag::new_id(d, &mut ids, &s.id, "stages", "stage");
        let refs = super::config::Refs {
            categories,
            forms,
            stages: None,
            reps: None,
        };
        if let Some(when) = super::config::cond(d, &s.when, &refs, 0) {
            out.push(Stage {
                id: id.as_str().into(),
                label: s.label.clone(),
                when,
                fall_back: s.fall_back,
            });
        }
    }
    out
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use crate::segments::config::raw::Cond;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Stage {
        pub id: S<String>,
        pub label: Option<String>,
        #[serde(default)]
        pub fall_back: bool,
        pub when: S<Cond>,
    }
}
