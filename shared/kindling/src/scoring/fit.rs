//! Fit: who the lead is (industry, title, company size, email domain, ...), scored by fit rules.

use crate::leads::Lead;
use serde::{Deserialize, Serialize};

/// Which lead field a fit rule looks at: any attribute a condition can (`leads::attrs::Field`).
pub use crate::leads::attrs::Field as FitField;

/// How a fit rule tests its field: the test every lead attribute condition uses.
pub use crate::leads::attrs::Test as FitTest;

/// A fit rule: a lead whose `field` passes `test` gets `points` (negative for free mail or
/// competitors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitRule {
    pub id: String,
    pub field: FitField,
    pub test: FitTest,
    pub points: i64,
}

/// What one fit rule contributed, and the value it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitScore {
    pub rule: String,
    pub value: String,
    pub points: i64,
}

impl FitRule {
    fn value<'a>(&self, lead: &'a Lead) -> Option<&'a str> {
        self.field.value(lead)
    }

    fn passes(&self, value: &str) -> bool {
        self.test.passes(value)
    }
}

/// The fit part of a score: the lead's profile against the fit rules.
pub fn fit(lead: &Lead, rules: &[FitRule]) -> (i64, Vec<FitScore>) {
    let breakdown: Vec<FitScore> = rules
        .iter()
        .filter_map(|r| {
            let value = r.value(lead)?;
            r.passes(value).then(|| FitScore {
                rule: r.id.clone(),
                value: value.to_owned(),
                points: r.points,
            })
        })
        .collect();
    (breakdown.iter().map(|f| f.points).sum(), breakdown)
}
