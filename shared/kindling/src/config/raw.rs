//! The file format of `kindling.toml`, as written by people: the sections, each defined by the
//! capability that owns it (its `config::raw`). Values that other sections refer to, or that
//! need checks serde cannot do, keep their span so errors can name file:line.

use crate::diag::{Choice, S};
use crate::sending::calendar::Holidays;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub program: crate::program::raw::Program,
    pub sender: crate::program::raw::Sender,
    pub consent: crate::forms::config::raw::Consent,
    pub scoring: crate::scoring::config::raw::Scoring,
    #[serde(default)]
    pub pages: Vec<crate::activities::pages::raw::Page>,
    pub sending: Sending,
    #[serde(default)]
    pub alerts: crate::alerts::config::raw::Alerts,
    #[serde(default)]
    pub forms: Vec<crate::forms::config::raw::Form>,
    #[serde(default)]
    pub sequences: Vec<crate::sequences::config::raw::Sequence>,
    #[serde(default)]
    pub triggers: Vec<crate::triggers::config::raw::Trigger>,
    #[serde(default)]
    pub segments: Vec<crate::segments::config::raw::Segment>,
    #[serde(default)]
    pub stages: Vec<crate::segments::stages::raw::Stage>,
    #[serde(default)]
    pub reps: Vec<crate::routing::config::raw::Rep>,
    #[serde(default)]
    pub routing: Vec<crate::routing::config::raw::Rule>,
    #[serde(default)]
    pub broadcasts: Option<crate::broadcasts::config::raw::Broadcasts>,
    #[serde(default)]
    pub topics: Vec<crate::deliverability::topics::raw::Topic>,
    #[serde(default)]
    pub unsubscribe: Option<crate::deliverability::topics::raw::Unsubscribe>,
    #[serde(default)]
    pub api: Option<crate::web::limits::raw::Api>,
    #[serde(default)]
    pub kpis: crate::kpis::config::raw::Kpis,
    #[serde(default)]
    pub digest: Option<crate::kpis::config::raw::Digest>,
    #[serde(default)]
    pub crm: Option<crate::crm::config::raw::Crm>,
}

/// `[sending]`: the schedule (sending) and the breaker and soft-bounce rule (deliverability).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sending {
    pub quiet_hours: S<crate::sending::config::raw::QuietHours>,
    pub cap: S<crate::sending::config::raw::Cap>,
    /// Public holidays that are not business days: `none` (default) or `jp`.
    pub holidays: Option<S<Choice<Holidays>>>,
    /// The bounce and complaint circuit breaker; defaults apply when absent.
    #[serde(default)]
    pub breaker: Option<S<crate::deliverability::config::raw::Breaker>>,
    /// When repeated transient bounces suppress an address; defaults apply when absent.
    #[serde(default)]
    pub soft_bounces: Option<S<crate::deliverability::config::raw::SoftBounces>>,
}
