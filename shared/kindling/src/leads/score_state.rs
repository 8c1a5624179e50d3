//! The score state a lead carries: what the next rescore needs of its history. The data only;
//! [`crate::scoring::state`] builds and moves it, [`crate::scoring::tally`] folds into it.

use crate::activities::Activity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A float compared and stored by its bits: the tally (on the lead) stays `Eq`, and a decimal
/// round trip (which JSON parsers need not make exact) cannot move it by one ulp.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bits(pub f64);

impl Serialize for Bits {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0.to_bits())
    }
}

impl<'de> Deserialize<'de> for Bits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Bits(f64::from_bits(u64::deserialize(d)?)))
    }
}

impl PartialEq for Bits {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for Bits {}

/// What one rule has awarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTally {
    /// The rule's index in `[scoring] rules`.
    pub rule: u16,
    pub count: u32,
    /// Points awarded (after limits, before decay).
    pub undecayed: i64,
    /// The decayed worth of the awards at `anchor` (rules with a half-life only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum: Bits,
}

fn is_zero(b: &Bits) -> bool {
    b.0.to_bits() == 0
}

/// The fold's state: per rule what it awarded, the mails `once_per_message` rules counted, and
/// the awards of rules with day or week limits in their newest periods.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleTally>,
    /// `(rule, mail)`: mails already scored by a `once_per_message` rule (`s:{enrollment}:{step}`
    /// or `b:{broadcast}`). The one part that grows: with the mails the lead reacted to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mails: Vec<(u16, String)>,
    /// `(rule, period, awards)`: a UTC day number, or `-1 - week number` for a week.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<(u16, i64, u32)>,
}

/// An activity the state holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    #[serde(flatten)]
    pub activity: Activity,
    /// Folded and found a machine's (kept only as context for classifying later clicks).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub machine: bool,
}

/// See the module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreState {
    /// The program it was built under ([`fingerprint`]).
    pub program: u64,
    /// Every activity before this instant is in `tally`.
    pub horizon: DateTime<Utc>,
    #[serde(default)]
    pub tally: Tally,
    /// The browsers tied to the lead whose histories it holds: an activity of another browser
    /// (one tied since) rebuilds it, bringing that browser's anonymous history in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub visitors: Vec<crate::ids::VisitorId>,
    /// In time order: those before the horizon that conditions still read, then all after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
}
