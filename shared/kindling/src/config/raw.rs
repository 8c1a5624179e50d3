//! The file format of `kindling.toml`, as written by people. Values that other sections refer
//! to, or that need checks serde cannot do, keep their span so errors can name file:line.

use crate::activities::ActivityKind;
use crate::names::Named;
use crate::scoring::{FitField, Repeat};
use crate::sending::ab::Metric;
use crate::sending::calendar::Holidays;
use crate::sending::schedule::WindowDays;
use serde::Deserialize;
use toml::Spanned;

use super::ConsentPolicy;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub program: Program,
    pub sender: Sender,
    pub consent: Consent,
    pub scoring: Scoring,
    #[serde(default)]
    pub pages: Vec<Page>,
    pub sending: Sending,
    #[serde(default)]
    pub alerts: Alerts,
    #[serde(default)]
    pub forms: Vec<Form>,
    #[serde(default)]
    pub sequences: Vec<Sequence>,
    #[serde(default)]
    pub triggers: Vec<Trigger>,
}

/// An enum-like value as written: its variant, or the name that is none (reported with the
/// value's span when the file is validated, so every bad name is reported at once).
#[derive(Debug)]
pub struct Choice<T>(pub Result<T, String>);

impl<'de, T: Named> Deserialize<'de> for Choice<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Choice(T::from_name(&name).ok_or(name)))
    }
}

/// Who a trigger's alert goes to (ops alerts come from the breaker, not from triggers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Team {
    Sales,
    Support,
}

crate::named!(Team {
    Sales = "sales",
    Support = "support",
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub id: S<String>,
    pub when: S<When>,
    pub enroll: Option<S<String>>,
    pub alert: Option<S<Choice<Team>>>,
    pub cooldown: Option<S<String>>,
}

/// One of: `kind` (+ filters, `count`, `within`); `form_abandoned` + `after`;
/// `unopened_mails` + `after`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    pub kind: Option<Choice<ActivityKind>>,
    pub page_category: Option<String>,
    pub form: Option<String>,
    pub url: Option<String>,
    pub count: Option<u32>,
    pub within: Option<String>,
    pub form_abandoned: Option<String>,
    pub unopened_mails: Option<u32>,
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mql {
    pub min_total: Option<i64>,
    pub min_fit: Option<i64>,
    pub min_engagement: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub name: S<String>,
    pub public_url: S<String>,
    pub default_time_zone: S<String>,
    pub default_language: S<String>,
    /// The namespace of every mail's `List-Id` (RFC 2919), a domain the sender controls.
    pub list_id: Option<S<String>>,
    /// kindling.js sends nothing when the browser signals Global Privacy Control or Do Not Track.
    #[serde(default = "yes")]
    pub respect_gpc: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    pub from_name: S<String>,
    pub from_address: S<String>,
    pub reply_to: Option<S<String>>,
    pub postal_address: S<String>,
    pub contact: S<String>,
    pub unsubscribe_mailto: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub text_version: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub hot: S<i64>,
    pub warm: S<i64>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub fit: Vec<FitRule>,
    pub mql: Option<S<Mql>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitRule {
    pub id: S<String>,
    pub field: S<Choice<FitField>>,
    pub any_of: Option<Vec<String>>,
    pub contains_any: Option<Vec<String>>,
    pub between: Option<S<[u32; 2]>>,
    pub points: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: S<String>,
    pub kind: S<Choice<ActivityKind>>,
    pub page_category: Option<S<String>>,
    pub form: Option<S<String>>,
    pub url: Option<S<String>>,
    pub sequence: Option<S<String>>,
    pub step: Option<u32>,
    pub max_per_day: Option<S<u32>>,
    pub max_per_week: Option<S<u32>>,
    pub max_points: Option<S<i64>>,
    pub half_life_days: Option<S<u32>>,
    pub points: i64,
    pub repeat: Option<S<Choice<Repeat>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub category: S<String>,
    pub paths: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sending {
    pub quiet_hours: S<QuietHours>,
    pub cap: S<Cap>,
    /// Public holidays that are not business days: `none` (default) or `jp`.
    pub holidays: Option<S<Choice<Holidays>>>,
    /// The bounce and complaint circuit breaker; defaults apply when absent.
    #[serde(default)]
    pub breaker: Option<S<Breaker>>,
    /// When repeated transient bounces suppress an address; defaults apply when absent.
    #[serde(default)]
    pub soft_bounces: Option<S<SoftBounces>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoftBounces {
    /// `3`
    pub count: Option<S<u32>>,
    /// `"7d"`
    pub within: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    /// `"2%"`
    pub bounce_rate: Option<S<String>>,
    /// `"0.08%"`
    pub complaint_rate: Option<S<String>>,
    /// `"7d"`
    pub window: Option<S<String>>,
    pub min_sends: Option<S<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub max: u32,
    pub window_hours: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    #[serde(default = "default_follow_up_hours")]
    pub follow_up_hours: u32,
    /// A lead that cools and turns hot again within this long is not alerted again.
    pub realert_cooldown: Option<S<String>>,
}

impl Default for Alerts {
    fn default() -> Self {
        Self {
            follow_up_hours: default_follow_up_hours(),
            realert_cooldown: None,
        }
    }
}

fn default_follow_up_hours() -> u32 {
    48
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub id: S<String>,
    pub activity: S<String>,
    pub thank_you_url: S<String>,
    #[serde(default)]
    pub consent: Option<S<Choice<ConsentPolicy>>>,
    #[serde(default)]
    pub sequences: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    pub id: S<String>,
    #[serde(default)]
    pub exit_when: Vec<S<String>>,
    /// Higher goes first when two sequences' steps compete for the frequency cap (default 0).
    #[serde(default)]
    pub priority: i32,
    /// `never` (default) or a duration such as `30d`: the least time between two entries.
    pub reentry: Option<S<String>>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at: S<String>,
    pub template: S<String>,
    pub window: Option<S<Window>>,
    pub ab: Option<S<Ab>>,
}

/// An A/B test of a step: `template` against each template in `with`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ab {
    pub with: Vec<String>,
    /// `click` (default) or `open`.
    pub metric: Option<Choice<Metric>>,
    /// Sends per variant before a winner may be chosen.
    pub sample: u64,
    /// Default 0.95.
    pub confidence: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub days: Option<Choice<WindowDays>>,
}
