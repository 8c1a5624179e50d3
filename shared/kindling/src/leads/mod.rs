//! Leads: a person with an address, a profile, a consent record and a cached score.

pub mod attrs;
mod bant;
mod handoff;
pub mod ports;
mod sales;
mod sales_mark;
pub mod score_state;
mod submitted;

pub use bant::{Bant, MAX_BANT_CHARS};
pub use handoff::{Handoff, Owner};
pub use sales::{mark_lead, parse_lead_key, LeadKey};
pub use sales_mark::{hundredths, Amount, Money, SalesMark, SalesStatus};
pub use submitted::Submissions;

use crate::email::EmailAddress;
use crate::ids::LeadId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How hot a lead is, from its total and the configured thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Temperature {
    Cold,
    Warm,
    Hot,
}

crate::named!(Temperature {
    Cold = "cold",
    Warm = "warm",
    Hot = "hot",
});

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

/// What a lead told us about themselves. Every field is optional; a later submission fills gaps
/// but never blanks a known value (see [`Profile::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub industry: Option<String>,
    pub company_size: Option<String>,
    pub region: Option<String>,
    /// IANA zone (validated on input), e.g. `Asia/Tokyo`; drives quiet hours.
    pub time_zone: Option<String>,
    /// Preferred mail language, e.g. `ja` or `en`.
    pub language: Option<String>,
}

impl Profile {
    /// Takes every non-blank field of `newer`; keeps known values where `newer` is silent.
    pub fn merge(&mut self, newer: &Profile) {
        fn take(slot: &mut Option<String>, v: &Option<String>) {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                *slot = Some(v.to_owned());
            }
        }
        take(&mut self.name, &newer.name);
        take(&mut self.company, &newer.company);
        take(&mut self.title, &newer.title);
        take(&mut self.phone, &newer.phone);
        take(&mut self.industry, &newer.industry);
        take(&mut self.company_size, &newer.company_size);
        take(&mut self.region, &newer.region);
        take(&mut self.time_zone, &newer.time_zone);
        take(&mut self.language, &newer.language);
    }
}

/// Proof of opt-in: when, where, to which wording, from which client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub at: DateTime<Utc>,
    pub form_id: crate::ids::FormId,
    /// Version of the consent text the lead agreed to (from configuration).
    pub text_version: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The lead's choices per subscription topic, kept with its consent: the topics it left, and
/// every change, oldest first (at most [`Preferences::HISTORY`], the newest kept). Leaving
/// everything is `unsubscribed_at`, recorded here too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// The topics the lead opted out of, and when.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub opted_out: BTreeMap<crate::ids::TopicId, DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<PreferenceChange>,
}

impl Preferences {
    /// How many changes the lead keeps (a token holder cannot grow the item without bound).
    pub const HISTORY: usize = 100;

    /// Whether the lead left `topic`.
    pub fn left(&self, topic: &crate::ids::TopicId) -> bool {
        self.opted_out.contains_key(topic)
    }
}

/// One change of a lead's subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceChange {
    pub at: DateTime<Utc>,
    /// The topic; `None`: everything (the lead unsubscribed from all mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<crate::ids::TopicId>,
    /// `true`: subscribed again; `false`: opted out.
    pub subscribed: bool,
    /// How: `page` (the preference page), `one_click` (RFC 8058).
    pub via: String,
}

/// A move from one buying stage to another, with why: stored on the lead, one per move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    /// `None`: the lead had no stage yet.
    pub from: Option<crate::ids::StageId>,
    /// `None`: it fell back out of every stage.
    pub to: Option<crate::ids::StageId>,
    pub at: DateTime<Utc>,
    /// The activities that met the new stage's condition.
    pub evidence: Vec<crate::ids::ActivityId>,
}

/// The lead is in a segment: since when, and the activities that put it there (at most
/// [`Membership::EVIDENCE`], the newest kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub since: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<crate::ids::ActivityId>,
}

impl Membership {
    /// How many evidence ids a membership keeps (the lead's item stays small).
    pub const EVIDENCE: usize = 5;
}

/// The score as last computed, cached on the lead for queries and for detecting crossings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreSnapshot {
    pub total: i64,
    pub temperature: Temperature,
    pub computed_at: Option<DateTime<Utc>>,
    /// How many times the lead has crossed into hot; each crossing alerts sales once.
    pub hot_crossings: u32,
    /// When sales was last alerted of a hot crossing: a lead that cools and heats again within
    /// the re-alert cooldown does not alert again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_alerted_at: Option<DateTime<Utc>>,
    /// When the lead first met the MQL definition (it stays an MQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mql_at: Option<DateTime<Utc>>,
    /// What the next rescore needs of the history ([`score_state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<score_state::ScoreState>>,
}

impl Default for ScoreSnapshot {
    fn default() -> Self {
        Self {
            total: 0,
            temperature: Temperature::Cold,
            computed_at: None,
            hot_crossings: 0,
            hot_alerted_at: None,
            mql_at: None,
            state: None,
        }
    }
}

/// How often a trigger fired for a lead, and when last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerState {
    pub fired: u32,
    pub last_at: DateTime<Utc>,
}

/// A known person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub email: EmailAddress,
    pub profile: Profile,
    /// The latest opt-in; `None` means no marketing mail may be sent.
    pub consent: Option<Consent>,
    /// Per-topic opt-outs and their history.
    #[serde(default, skip_serializing_if = "is_default")]
    pub preferences: Preferences,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub score: ScoreSnapshot,
    /// Every trigger that fired for this lead: how often and when last (cooldowns).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub triggers: BTreeMap<crate::ids::TriggerId, TriggerState>,
    /// Where sales stands with the lead, if a rep or a sales tool said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales: Option<SalesMark>,
    /// Who owns the lead in sales: chosen by `[[routing]]` when it was first handed to sales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The latest hand-off to sales and its follow-up clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    /// What inside sales confirmed (budget, authority, need, timeline), from the CRM.
    #[serde(default, skip_serializing_if = "Bant::is_empty")]
    pub bant: Bant,
    /// The ids of the newest CRM hooks applied (`source/id`, at most
    /// [`crate::crm::inbound::SEEN_HOOKS`]): stored with their effect, so one applies once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crm_hooks: Vec<String>,
    /// When the lead must be looked at again without new activity: a pending trigger condition
    /// (an abandoned form, unopened mails) or a decaying score. `None`: only on new activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_at: Option<DateTime<Utc>>,
    /// Every move between buying stages, oldest first; the last one's `to` is the stage now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_changes: Vec<StageChange>,
    /// The segments the lead is in now, as last evaluated (sparse: only those it is in).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<crate::ids::SegmentId, Membership>,
    /// The latest submission of each form, for exit goals. `None` on a lead stored before these
    /// were kept (by an earlier version) and not rebuilt from its log since: a send then reads the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<Submissions>,
    /// Optimistic-concurrency version; stores reject an update whose version is stale.
    pub version: u64,
}

impl Lead {
    /// A new lead with an empty score.
    pub fn new(id: LeadId, email: EmailAddress, now: DateTime<Utc>) -> Self {
        Self {
            id,
            email,
            profile: Profile::default(),
            consent: None,
            preferences: Preferences::default(),
            created_at: now,
            updated_at: now,
            unsubscribed_at: None,
            score: ScoreSnapshot::default(),
            triggers: BTreeMap::new(),
            sales: None,
            owner: None,
            handoff: None,
            bant: Bant::default(),
            crm_hooks: Vec::new(),
            recheck_at: None,
            stage_changes: Vec::new(),
            segments: BTreeMap::new(),
            submitted: None,
            version: 0,
        }
    }

    /// The buying stage the lead is in now.
    pub fn stage(&self) -> Option<&crate::ids::StageId> {
        self.stage_changes.last().and_then(|c| c.to.as_ref())
    }

    /// Whether the lead agreed to marketing mail and has not unsubscribed. (A suppressed
    /// address is a store fact, checked when a mail is sent.)
    pub fn may_receive_marketing(&self) -> bool {
        self.consent.is_some() && self.unsubscribed_at.is_none()
    }

    /// Whether the lead may get marketing mail of `topic` (`None`: a mail of no topic): it may
    /// receive marketing and has not left the topic.
    pub fn may_receive(&self, topic: Option<&crate::ids::TopicId>) -> bool {
        self.may_receive_marketing() && topic.is_none_or(|t| !self.preferences.left(t))
    }

    /// The lead's zone if it is a valid IANA name, else `default`.
    pub fn zone(&self, default: chrono_tz::Tz) -> chrono_tz::Tz {
        self.profile
            .time_zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(default)
    }
}

fn is_default(p: &Preferences) -> bool {
    *p == Preferences::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_fills_gaps_but_never_blanks_known_fields() {
        let mut known = Profile {
            name: Some("佐藤 太郎".into()),
            company: Some("Acme".into()),
            ..Profile::default()
        };
        let newer = Profile {
            name: Some("   ".into()),
            company: None,
            title: Some("部長".into()),
            ..Profile::default()
        };
        known.merge(&newer);
        assert_eq!(known.name.as_deref(), Some("佐藤 太郎"));
        assert_eq!(known.company.as_deref(), Some("Acme"));
        assert_eq!(known.title.as_deref(), Some("部長"));
    }

    #[test]
    fn merge_overwrites_with_newer_non_blank_value() {
        let mut known = Profile {
            company: Some("Old Co".into()),
            ..Profile::default()
        };
        known.merge(&Profile {
            company: Some(" New Co ".into()),
            ..Profile::default()
        });
        assert_eq!(known.company.as_deref(), Some("New Co"));
    }
}
