//! What the behaviour rules have awarded so far: the fold behind every score.
//!
//! A full recomputation folds a lead's whole cleaned log in time order; the incremental score
//! state ([`super::state`]) keeps the tally of the activities before its horizon and folds the
//! newer ones on top. Both run the same steps in the same order, so they agree to the bit,
//! decay included: a rule's decayed worth is kept as a sum anchored at one instant (moved
//! forward every [`REANCHOR_HALF_LIVES`] half-lives so it never overflows), and scaled to `now`
//! only when a card is made.

use super::{Repeat, Rule, RuleScore, ScoreCard, Thresholds};
use crate::activities::Activity;
use crate::fasthash::FastBuild;
use crate::ids::ActivityId;
use crate::message::MessageRef;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

pub use crate::leads::score_state::{Bits, RuleTally, Tally};

/// A decay anchor moves forward once an award is this many half-lives after it.
const REANCHOR_HALF_LIVES: f64 = 64.0;

/// A rule's running total while folding.
#[derive(Clone)]
struct Acc {
    count: u32,
    undecayed: i64,
    anchor: Option<DateTime<Utc>>,
    sum: f64,
    ids: Vec<ActivityId>,
}

/// The working form of a [`Tally`].
#[derive(Clone, Default)]
pub struct Fold {
    by_rule: BTreeMap<usize, Acc>,
    /// `(rule, mail hash)` → when the rule scored the mail.
    mails: HashMap<(usize, u64), DateTime<Utc>, FastBuild>,
    per_period: HashMap<(usize, i64), u32, FastBuild>,
    with_ids: bool,
}

/// A mail's 64-bit key, stable across builds and processes (it is stored): the Fx hash of its
/// kind, id and step written byte by byte, then the SplitMix64 finalizer so that every bit mixes.
/// No allocation: it runs for every open and click a `once_per_message` rule scores.
fn mail_key(m: MessageRef<'_>) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::fasthash::Fx::default();
    match m {
        MessageRef::Step(e, s) => {
            h.write(b"s");
            h.write(e.as_str().as_bytes());
            h.write(&s.to_le_bytes());
        }
        MessageRef::Broadcast(b) => {
            h.write(b"b");
            h.write(b.as_str().as_bytes());
        }
    }
    let mut z = h.finish().wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn mail_memory() -> chrono::Duration {
    chrono::Duration::days(crate::leads::score_state::MAIL_MEMORY_DAYS)
}

fn encode_mails(mails: &[(u16, u64, DateTime<Utc>)]) -> String {
    use base64::Engine as _;
    let mut bytes = Vec::with_capacity(mails.len() * 14);
    for (r, h, at) in mails {
        bytes.extend_from_slice(&r.to_be_bytes());
        bytes.extend_from_slice(&h.to_be_bytes());
        let minute = u32::try_from(at.timestamp().div_euclid(60)).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&minute.to_be_bytes());
    }
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

fn decode_mails(text: &str) -> Vec<(usize, u64, DateTime<Utc>)> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text)
        .unwrap_or_default();
    bytes
        .chunks_exact(14)
        .map(|c| {
            let r = u16::from_be_bytes([c[0], c[1]]);
            let h = u64::from_be_bytes(c[2..10].try_into().unwrap_or_default());
            let minute = u32::from_be_bytes(c[10..14].try_into().unwrap_or_default());
            let at = DateTime::from_timestamp(i64::from(minute) * 60, 0).unwrap_or_default();
            (usize::from(r), h, at)
        })
        .collect()
}

fn day_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// 1970-01-01 was a Thursday: shifting by 3 days starts weeks on Monday.
fn week_of(day: i64) -> i64 {
    -1 - (day + 3).div_euclid(7)
}

fn half_lives(from: DateTime<Utc>, to: DateTime<Utc>, h: u32) -> f64 {
    (to - from).num_seconds() as f64 / (86_400.0 * f64::from(h))
}

impl Fold {
    /// An empty fold; `with_ids` keeps each rule's activity ids (the full explanation).
    pub fn new(with_ids: bool) -> Self {
        Self {
            with_ids,
            ..Self::default()
        }
    }

    /// The fold a stored tally describes.
    pub fn resume(t: &Tally) -> Self {
        let mut f = Self::new(false);
        for r in &t.rules {
            f.by_rule.insert(
                usize::from(r.rule),
                Acc {
                    count: r.count,
                    undecayed: r.undecayed,
                    anchor: r.anchor,
                    sum: r.sum.0,
                    ids: Vec::new(),
                },
            );
        }
        f.mails = decode_mails(&t.mails)
            .into_iter()
            .map(|(r, h, at)| ((r, h), at))
            .collect();
        f.per_period = t
            .periods
            .iter()
            .map(|(r, p, n)| ((usize::from(*r), *p), *n))
            .collect();
        f
    }

    /// The tally to store, keeping only the periods an activity at or after `from` can touch.
    pub fn tally(&self, from: DateTime<Utc>) -> Tally {
        let day = day_of(from);
        let week = week_of(day);
        // A mail scored longer ago than the memory counts again for any activity from `from`.
        let remembered = from - mail_memory();
        let mut mails: Vec<(u16, u64, DateTime<Utc>)> = self
            .mails
            .iter()
            .filter(|(_, at)| **at > remembered)
            .map(|((r, h), at)| (*r as u16, *h, *at))
            .collect();
        mails.sort();
        let mut periods: Vec<(u16, i64, u32)> = self
            .per_period
            .iter()
            .filter(|((_, p), _)| if *p >= 0 { *p >= day } else { *p == week })
            .map(|((r, p), n)| (*r as u16, *p, *n))
            .collect();
        periods.sort();
        Tally {
            rules: self
                .by_rule
                .iter()
                .map(|(i, a)| RuleTally {
                    rule: *i as u16,
                    count: a.count,
                    undecayed: a.undecayed,
                    anchor: a.anchor,
                    sum: Bits(a.sum),
                })
                .collect(),
            mails: encode_mails(&mails),
            periods,
        }
    }

    /// Folds one activity of a cleaned log (activities must come in time order).
    pub fn add(&mut self, rules: &[Rule], of_kind: &[Vec<usize>], a: &Activity) {
        for &i in &of_kind[a.kind as usize] {
            let rule = &rules[i];
            if !rule.matches(a) {
                continue;
            }
            // A message-scoped activity without a message is counted on its own: ids are
            // unique in a cleaned log, so it needs no entry.
            let mail = match rule.repeat {
                Repeat::OncePerMessage => a.attrs.message_ref().map(mail_key),
                _ => None,
            };
            if rule.repeat == Repeat::Once && self.by_rule.get(&i).is_some_and(|r| r.count > 0) {
                continue;
            }
            let limited = rule.max_per_day.is_some() || rule.max_per_week.is_some();
            let day = day_of(a.at);
            let week = week_of(day);
            if limited {
                let within = |limit: Option<u32>, period: i64| {
                    limit.is_none_or(|max| {
                        self.per_period.get(&(i, period)).copied().unwrap_or(0) < max
                    })
                };
                if !within(rule.max_per_day, day) || !within(rule.max_per_week, week) {
                    continue;
                }
            }
            let award = match rule.max_points {
                None => rule.points,
                Some(cap) => {
                    let so_far = self.by_rule.get(&i).map_or(0, |r| r.undecayed);
                    let room = cap.abs() - so_far.abs();
                    rule.points.signum() * rule.points.abs().min(room.max(0))
                }
            };
            if award == 0 && rule.points != 0 {
                continue;
            }
            if let Some(mail) = mail {
                // Minute precision, as stored, so that both paths forget a mail at one time.
                let minute = a.at.timestamp().div_euclid(60) * 60;
                let at = DateTime::from_timestamp(minute, 0).unwrap_or(a.at);
                match self.mails.get(&(i, mail)) {
                    Some(scored) if a.at - *scored < mail_memory() => continue,
                    _ => {
                        self.mails.insert((i, mail), at);
                    }
                }
            }
            if rule.max_per_day.is_some() {
                *self.per_period.entry((i, day)).or_default() += 1;
            }
            if rule.max_per_week.is_some() {
                *self.per_period.entry((i, week)).or_default() += 1;
            }
            let acc = self.by_rule.entry(i).or_insert_with(|| Acc {
                count: 0,
                undecayed: 0,
                anchor: None,
                sum: 0.0,
                ids: Vec::new(),
            });
            acc.count += 1;
            acc.undecayed += award;
            if let Some(h) = rule.half_life_days.filter(|h| *h > 0) {
                let anchor = *acc.anchor.get_or_insert(a.at);
                let ahead = half_lives(anchor, a.at, h);
                if ahead > REANCHOR_HALF_LIVES {
                    acc.sum *= (-ahead).exp2();
                    acc.anchor = Some(a.at);
                    acc.sum += award as f64;
                } else {
                    acc.sum += award as f64 * ahead.exp2();
                }
            }
            if self.with_ids {
                acc.ids.push(a.id.clone());
            }
        }
    }

    /// The engagement card at `now` (fit left at zero).
    pub fn card(self, rules: &[Rule], thresholds: Thresholds, now: DateTime<Utc>) -> ScoreCard {
        let breakdown: Vec<RuleScore> = self
            .by_rule
            .into_iter()
            .map(|(i, acc)| {
                let rule = &rules[i];
                let points = match (rule.half_life_days.filter(|h| *h > 0), acc.anchor) {
                    (Some(h), Some(anchor)) => {
                        (acc.sum * (-half_lives(anchor, now, h)).exp2()).round() as i64
                    }
                    _ => acc.undecayed,
                };
                RuleScore {
                    rule: rule.id.clone(),
                    count: acc.count,
                    points,
                    undecayed: acc.undecayed,
                    activities: acc.ids,
                }
            })
            .collect();
        let total = breakdown.iter().map(|r| r.points).sum();
        ScoreCard {
            total,
            temperature: thresholds.temperature(total),
            fit: 0,
            engagement: total,
            breakdown,
            fit_breakdown: Vec::new(),
        }
    }
}

/// The rules of each activity kind, so an activity is only tested against rules it may match.
pub fn rules_of_kind(rules: &[Rule]) -> Vec<Vec<usize>> {
    let mut of_kind = vec![Vec::new(); crate::activities::ActivityKind::ALL.len()];
    for (i, r) in rules.iter().enumerate() {
        of_kind[r.kind as usize].push(i);
    }
    of_kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activities::{ActivityKind, Attrs, Subject};
    use crate::ids::{EnrollmentId, LeadId};
    use chrono::{Duration, TimeZone};

    fn open(id: &str, days: i64) -> Activity {
        Activity {
            id: ActivityId::new(id),
            subject: Subject::Lead(LeadId::new("L1")),
            kind: ActivityKind::EmailOpen,
            at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(days),
            attrs: Attrs {
                enrollment_id: Some(EnrollmentId::new("E1")),
                step: Some(0),
                ..Attrs::default()
            },
        }
    }

    #[test]
    fn a_mail_scores_once_then_again_after_its_memory_and_the_stored_tally_agrees() {
        let rules = crate::config::tests::shipped().scoring.rules;
        let of_kind = rules_of_kind(&rules);
        let opens = [
            open("a", 0),
            open("b", 10),
            open("c", 89),
            open("d", 90),
            open("e", 91),
        ];
        let mut whole = Fold::new(false);
        for a in &opens {
            whole.add(&rules, &of_kind, a);
        }
        let th = Thresholds { hot: 50, warm: 30 };
        let now = opens[4].at;
        let card = whole.clone().card(&rules, th, now);
        // The first, and the one 90 days after it; the rest are repeats.
        assert_eq!(card.breakdown[0].count, 2, "{card:?}");
        // Stored after the first three and resumed: the same answer.
        let mut part = Fold::new(false);
        for a in &opens[..3] {
            part.add(&rules, &of_kind, a);
        }
        let stored = part.tally(opens[2].at);
        assert_eq!(stored.mails.len(), 19, "one mail: 14 bytes in base64");
        let mut resumed = Fold::resume(&stored);
        for a in &opens[3..] {
            resumed.add(&rules, &of_kind, a);
        }
        assert_eq!(resumed.card(&rules, th, now), card);
        // Stored after its memory: forgotten, and still the same answer.
        assert!(part.tally(opens[0].at + mail_memory()).mails.is_empty());
    }
}
