//! Segments: groups of leads by who they are (attributes, score, temperature, consent, sales
//! status) and what they did (activities within a window, reactions to mail), defined in
//! `[[segments]]` and combined with `all`, `any` and `not`.
//!
//! Like scores and triggers, membership is a pure function of the lead, its cleaned log (see
//! [`crate::activities::log::clean_log`]: one entry per activity, time order, no machine opens or
//! scanner clicks) and the time, so a redelivered or reordered activity cannot change it, and a
//! definition can be evaluated again over history. A condition over a trailing window says when
//! it can next change without new activity ([`Verdict::changes_at`]).

pub mod config;
pub mod membership;
pub mod ports;
pub mod stages;

use crate::activities::{Activity, ActivityKind, Matcher};
use crate::ids::{ActivityId, SegmentId, StageId};
use crate::leads::attrs::{Field, Test};
use crate::leads::{Lead, SalesStatus, Temperature};
use chrono::{DateTime, Duration, Utc};

/// A segment from `[[segments]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: SegmentId,
    /// For people: `製造業 × 部長職 × 価格ページ3回閲覧`.
    pub label: Option<String>,
    pub when: Cond,
    /// The condition as written, as JSON (for people and the admin API).
    pub definition: serde_json::Value,
}

/// Which score a bound applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Fit plus engagement.
    Total,
    /// Who the lead is (fit rules).
    Fit,
    /// What the lead did (behaviour rules, after decay).
    Engagement,
}

/// What a mail condition looks at: the last `within` of time, or the lead's last `n` mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recent {
    Within(Duration),
    LastMails(u32),
}

/// A segment's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    /// A profile field (or the address's domain) passes a test.
    Attr {
        field: Field,
        test: Test,
    },
    /// A score within bounds: `at_least` ≤ score < `below`.
    Score {
        of: Measure,
        at_least: Option<i64>,
        below: Option<i64>,
    },
    Temperature(Vec<Temperature>),
    /// Marketing-qualified (`true`) or not yet (`false`).
    Mql(bool),
    /// At least `at_least` matching activities, within the last `within` (or ever).
    Did {
        matcher: Matcher,
        at_least: u32,
        within: Option<Duration>,
    },
    /// A person opened (`clicks` false) or clicked a mail in the `recent` period or mails.
    Engaged {
        clicks: bool,
        recent: Recent,
    },
    /// None of the lead's last `n` mails was opened or clicked by a person (and it had `n`).
    Unopened(u32),
    /// The lead agreed to marketing mail and has not unsubscribed (`true`), or not (`false`).
    /// Suppressed addresses are still skipped when a mail is sent.
    Consent(bool),
    /// Where sales stands: `None` for a lead sales has not marked.
    SalesStatus(Vec<Option<SalesStatus>>),
    /// The lead's buying stage is one of these (`None`: no stage yet).
    Stage(Vec<Option<StageId>>),
    /// The rep who owns the lead is one of these (`None`: nobody owns it yet).
    Owner(Vec<Option<String>>),
}

/// What a segment reads about a lead besides its log: the scores of the rescore that is
/// evaluating it.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub lead: &'a Lead,
    pub total: i64,
    pub fit: i64,
    pub engagement: i64,
    pub temperature: Temperature,
    pub mql: bool,
    /// The buying stage as this rescore leaves it.
    pub stage: Option<&'a StageId>,
}

/// Whether a lead is in a segment now, why, and when that can next change by itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    pub member: bool,
    /// The activities that made it true (for a member): for a count, the newest `count`
    /// matching activities.
    pub evidence: Vec<ActivityId>,
    /// The earliest time a windowed condition changes its answer without new activity: the
    /// lead's recheck time for this segment. `None`: only new activity (or a new profile,
    /// score or mark) can change it.
    pub changes_at: Option<DateTime<Utc>>,
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn is_person_reaction(a: &Activity, clicks: bool) -> bool {
    if clicks {
        a.kind == ActivityKind::EmailClick
    } else {
        matches!(a.kind, ActivityKind::EmailOpen | ActivityKind::EmailClick)
    }
}

impl Cond {
    /// Evaluates the condition for a lead whose cleaned log is `log`, at `now`.
    pub fn evaluate(&self, facts: &Facts<'_>, log: &[&Activity], now: DateTime<Utc>) -> Verdict {
        let yes = |member: bool| Verdict {
            member,
            ..Verdict::default()
        };
        match self {
            Cond::All(cs) => {
                let mut out = Verdict {
                    member: true,
                    ..Verdict::default()
                };
                for c in cs {
                    let v = c.evaluate(facts, log, now);
                    out.member &= v.member;
                    out.evidence.extend(v.evidence);
                    out.changes_at = earliest(out.changes_at, v.changes_at);
                }
                if !out.member {
                    out.evidence.clear();
                }
                out
            }
            Cond::Any(cs) => {
                let mut out = Verdict::default();
                for c in cs {
                    let v = c.evaluate(facts, log, now);
                    if v.member {
                        out.member = true;
                        out.evidence.extend(v.evidence);
                    }
                    out.changes_at = earliest(out.changes_at, v.changes_at);
                }
                out
            }
            Cond::Not(c) => {
                let v = c.evaluate(facts, log, now);
                Verdict {
                    member: !v.member,
                    evidence: Vec::new(),
                    changes_at: v.changes_at,
                }
            }
            Cond::Attr { field, test } => {
                yes(field.value(facts.lead).is_some_and(|v| test.passes(v)))
            }
            Cond::Score {
                of,
                at_least,
                below,
            } => {
                let s = match of {
                    Measure::Total => facts.total,
                    Measure::Fit => facts.fit,
                    Measure::Engagement => facts.engagement,
                };
                yes(at_least.is_none_or(|lo| s >= lo) && below.is_none_or(|hi| s < hi))
            }
            Cond::Temperature(ts) => yes(ts.contains(&facts.temperature)),
            Cond::Mql(want) => yes(facts.mql == *want),
            Cond::Consent(want) => yes(facts.lead.may_receive_marketing() == *want),
            Cond::SalesStatus(want) => {
                yes(want.contains(&facts.lead.sales.as_ref().map(|m| m.status)))
            }
            Cond::Stage(want) => yes(want.iter().any(|w| w.as_ref() == facts.stage)),
            Cond::Owner(want) => {
                let owner = facts.lead.owner.as_ref().map(|o| o.rep.clone());
                yes(want.contains(&owner))
            }
            Cond::Did {
                matcher,
                at_least,
                within,
            } => {
                // Only the newest `n` hits matter: they decide membership, are its evidence, and
                // the oldest of them says when it ends. The scan stops there.
                let from = within.map(|w| now - w);
                let n = (*at_least).max(1) as usize;
                let mut hits: Vec<&&Activity> = log
                    .iter()
                    .rev()
                    .take_while(|a| from.is_none_or(|f| a.at > f))
                    .filter(|a| matcher.matches(a))
                    .take(n)
                    .collect();
                if hits.len() < n {
                    return yes(false);
                }
                hits.reverse();
                // True until the oldest hit it needs leaves the window.
                let needed = hits[0];
                Verdict {
                    member: true,
                    evidence: hits.iter().map(|a| a.id.clone()).collect(),
                    changes_at: within.map(|w| needed.at + w),
                }
            }
            Cond::Engaged { clicks, recent } => match recent {
                Recent::Within(w) => {
                    let from = now - *w;
                    let newest = log
                        .iter()
                        .rev()
                        .take_while(|a| a.at > from)
                        .find(|a| is_person_reaction(a, *clicks));
                    match newest {
                        Some(a) => Verdict {
                            member: true,
                            evidence: vec![a.id.clone()],
                            changes_at: Some(a.at + *w),
                        },
                        None => yes(false),
                    }
                }
                Recent::LastMails(n) => {
                    let reacted = last_mails_reactions(log, *n, *clicks);
                    match reacted.first() {
                        Some(_) => Verdict {
                            member: true,
                            evidence: reacted,
                            changes_at: None,
                        },
                        None => yes(false),
                    }
                }
            },
            Cond::Unopened(n) => {
                let sent = last_sent(log, *n);
                if sent.len() < *n as usize || *n == 0 {
                    return yes(false);
                }
                let reacted = last_mails_reactions(log, *n, false);
                Verdict {
                    member: reacted.is_empty(),
                    evidence: if reacted.is_empty() {
                        sent.iter().map(|a| a.id.clone()).collect()
                    } else {
                        Vec::new()
                    },
                    changes_at: None,
                }
            }
        }
    }
}

/// The lead's last `n` mails sent, oldest first.
pub(crate) fn last_sent<'a>(log: &[&'a Activity], n: u32) -> Vec<&'a Activity> {
    let mut sent: Vec<&Activity> = log
        .iter()
        .rev()
        .filter(|a| a.kind == ActivityKind::EmailSent)
        .take(n as usize)
        .copied()
        .collect();
    sent.reverse();
    sent
}

/// A person's opens (or clicks) of the lead's last `n` mails.
fn last_mails_reactions(log: &[&Activity], n: u32, clicks: bool) -> Vec<ActivityId> {
    let sent = last_sent(log, n);
    let Some(first) = sent.first() else {
        return Vec::new();
    };
    let from = log.partition_point(|a| a.at < first.at);
    // A reaction counts from its own mail's send on (one stamped earlier is clock skew).
    log[from..]
        .iter()
        .filter(|a| is_person_reaction(a, clicks))
        .filter(|a| {
            a.attrs.message_ref().is_some_and(|m| {
                sent.iter()
                    .any(|s| s.attrs.message_ref() == Some(m) && s.at <= a.at)
            })
        })
        .map(|a| a.id.clone())
        .collect()
}

impl Segment {
    /// Whether the lead is in this segment now.
    pub fn evaluate(&self, facts: &Facts<'_>, log: &[&Activity], now: DateTime<Utc>) -> Verdict {
        self.when.evaluate(facts, log, now)
    }
}

/// Every segment's verdict for one lead, in file order.
pub fn evaluate_all<'a>(
    segments: &'a [Segment],
    facts: &Facts<'_>,
    log: &[&Activity],
    now: DateTime<Utc>,
) -> Vec<(&'a Segment, Verdict)> {
    segments
        .iter()
        .map(|s| (s, s.evaluate(facts, log, now)))
        .collect()
}

#[cfg(test)]
mod tests;
