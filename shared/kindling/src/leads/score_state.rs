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

/// How long a `once_per_message` rule remembers a mail it scored: a reaction this long after the
/// scored one counts again (a mail found again months later is new interest), and the state
/// stays bounded however many mails a lead reads.
pub const MAIL_MEMORY_DAYS: i64 = 90;

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
    /// Mails a `once_per_message` rule scored in the last [`MAIL_MEMORY_DAYS`], as base64 of
    /// 14 bytes each: the rule (u16), a 64-bit hash of the mail, and the minute it was scored
    /// (u32 since the Unix epoch), all big-endian.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mails: String,
    /// `(rule, period, awards)`: a UTC day number, or `-1 - week number` for a week.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<(u16, i64, u32)>,
}

/// An activity the state holds. Stored without its subject (the lead's own, or a browser tied
/// to it: nothing the state does reads it), so a stored one reads back as the lead's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "KeptForm", into = "KeptForm")]
pub struct Kept {
    pub activity: Activity,
    /// Folded and found a machine's (kept only as context for classifying later clicks).
    pub machine: bool,
}

/// How a [`Kept`] is stored.
#[derive(Serialize, Deserialize)]
struct KeptForm {
    id: crate::ids::ActivityId,
    kind: crate::activities::ActivityKind,
    at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "crate::activities::Attrs::is_empty")]
    attrs: crate::activities::Attrs,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    machine: bool,
}

impl From<KeptForm> for Kept {
    fn from(f: KeptForm) -> Self {
        Kept {
            activity: Activity {
                id: f.id,
                subject: crate::activities::Subject::Lead(crate::ids::LeadId::new("")),
                kind: f.kind,
                at: f.at,
                attrs: f.attrs,
            },
            machine: f.machine,
        }
    }
}

impl From<Kept> for KeptForm {
    fn from(k: Kept) -> Self {
        KeptForm {
            id: k.activity.id,
            kind: k.activity.kind,
            at: k.activity.at,
            attrs: k.activity.attrs,
            machine: k.machine,
        }
    }
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
