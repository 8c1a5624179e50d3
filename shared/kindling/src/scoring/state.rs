//! The incremental score state: what a rescore needs of a lead's history, kept on the lead, so
//! that scoring a new activity reads the lead and nothing else.
//!
//! - Activities older than the **horizon** (an hour behind the newest rescore) are folded into a
//!   [`Tally`]: what each rule awarded, its decay sum, the mails it counted, its day and week
//!   limits.
//! - Of those, only the ones a condition can still read are **kept**: for each segment, stage
//!   or routing condition the newest hits it counts, the newest reaction inside its window, the
//!   last mails and their reactions; for each trigger the newest hits it counts inside its
//!   window and the form activity its abandonment check reads; and every activity within the machine-click window of
//!   the horizon, the context that classifies the next clicks. A condition's window only moves
//!   forward and newer hits only push older ones out, so what is dropped is never needed again.
//! - Activities after the horizon are kept as they came.
//!
//! The full recomputation from the log stays the reference: a property test checks that this
//! state gives the same plan (score, transitions, segments, stages, triggers). The state is
//! rebuilt from the whole log when it was made under another program, or when an activity
//! arrives that it cannot place: older than the horizon (plus the click window), or a repeated
//! delivery of an id it no longer holds.

use super::tally::{rules_of_kind, Fold, Tally};
use super::{ScoreCard, Sections};
use crate::activities::classify::{machine_hits, BURST_WINDOW};
use crate::activities::{Activity, ActivityKind};
use crate::ids::ActivityId;
pub use crate::leads::score_state::{Kept, ScoreState};
use crate::segments::{Cond, Recent};
use crate::triggers::Condition;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

/// How far the horizon stays behind the newest rescore: activities arriving this late (SES
/// events, a retried beacon) still land in the state without a rebuild.
pub const SETTLE: Duration = Duration::hours(1);

/// What the state makes of a new activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Added (or already there).
    Held,
    /// It cannot be placed: rebuild from the log.
    Rebuild,
}

/// The program's fingerprint for scoring: its rules, triggers, stages, segments and routing.
pub fn fingerprint(c: &Sections<'_>) -> u64 {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        c.scoring.rules,
        c.triggers,
        c.stages,
        c.segments
            .iter()
            .map(|s| (&s.id, &s.when))
            .collect::<Vec<_>>(),
        c.routing.rules.iter().map(|r| &r.when).collect::<Vec<_>>(),
        SETTLE.num_seconds(),
    );
    let d = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(d[..8].try_into().unwrap_or_default())
}

fn order(a: &Activity, b: &Activity) -> std::cmp::Ordering {
    (a.at, &a.id).cmp(&(b.at, &b.id))
}

impl ScoreState {
    /// The state of a whole log at `now`.
    pub fn build(
        c: &Sections<'_>,
        program: u64,
        visitors: Vec<crate::ids::VisitorId>,
        all: &[Activity],
        now: DateTime<Utc>,
    ) -> Self {
        let mut s = Self {
            program,
            visitors,
            horizon: DateTime::<Utc>::MIN_UTC,
            tally: Tally::default(),
            kept: Vec::with_capacity(all.len()),
        };
        let mut sorted: Vec<&Activity> = all.iter().collect();
        sorted.sort_unstable_by(|a, b| order(a, b));
        let mut seen: HashSet<&ActivityId, crate::fasthash::FastBuild> = HashSet::default();
        for a in sorted {
            if seen.insert(&a.id) {
                s.kept.push(Kept {
                    activity: trimmed(a),
                    machine: false,
                });
            }
        }
        s.advance(c, now);
        s
    }

    /// [`ScoreState::build`], also saying how the whole log sees activity `fresh`: as a person's
    /// (`Some`), or not at all (a machine's, or not yet due). A rebuilt state may have folded it
    /// already and dropped it, so its own view cannot tell.
    pub fn rebuild(
        c: &Sections<'_>,
        visitors: Vec<crate::ids::VisitorId>,
        all: &[Activity],
        now: DateTime<Utc>,
        fresh: &ActivityId,
    ) -> (Self, Option<Activity>) {
        let seen = crate::activities::log::clean_log(all, now)
            .into_iter()
            .find(|a| &a.id == fresh)
            .cloned();
        (Self::build(c, c.fingerprint, visitors, all, now), seen)
    }

    /// Activity `fresh` if the state's view at `now` counts it as a person's (see
    /// [`ScoreState::rebuild`] for a state just rebuilt).
    pub fn seen(view: &[&Activity], fresh: &Activity) -> Option<Activity> {
        // The state keeps activities trimmed: the fresh one, at the time the log holds (the
        // earliest delivery's).
        let held = view.iter().find(|a| a.id == fresh.id)?;
        Some(Activity {
            at: held.at,
            ..fresh.clone()
        })
    }

    /// Places a new activity (`duplicate`: its id was recorded before).
    pub fn place(&mut self, a: &Activity, duplicate: bool) -> Placed {
        let browser = match &a.subject {
            crate::activities::Subject::Visitor(v) => Some(v),
            crate::activities::Subject::Lead(_) => a.attrs.visitor_id.as_ref(),
        };
        if browser.is_some_and(|v| !self.visitors.contains(v)) {
            return Placed::Rebuild;
        }
        if let Some(i) = self.kept.iter().position(|k| k.activity.id == a.id) {
            if a.at >= self.kept[i].activity.at {
                return Placed::Held;
            }
            // A redelivery with an earlier time: the earliest wins.
            if a.at < self.horizon + BURST_WINDOW || self.kept[i].activity.at < self.horizon {
                return Placed::Rebuild;
            }
            self.kept[i].activity.at = a.at;
            self.kept.sort_by(|x, y| order(&x.activity, &y.activity));
            return Placed::Held;
        }
        if duplicate || a.at < self.horizon + BURST_WINDOW {
            return Placed::Rebuild;
        }
        let at = self.kept.partition_point(|k| order(&k.activity, a).is_lt());
        self.kept.insert(
            at,
            Kept {
                activity: trimmed(a),
                machine: false,
            },
        );
        Placed::Held
    }

    /// Every activity held that has happened by `now` (machines' too), in time order.
    fn happened(&self, now: DateTime<Utc>) -> Vec<&Activity> {
        self.kept
            .iter()
            .map(|k| &k.activity)
            .take_while(|a| a.at <= now)
            .collect()
    }

    /// The activities a full recomputation would see at `now` (see
    /// [`crate::activities::log::clean_log`]) that conditions can still read, in time order.
    pub fn view(&self, now: DateTime<Utc>) -> Vec<&Activity> {
        let seen = self.happened(now);
        let machine = machine_hits(&seen);
        self.kept
            .iter()
            .take(seen.len())
            .filter(|k| {
                if k.activity.at < self.horizon {
                    !k.machine
                } else {
                    !machine.contains_key(&k.activity.id)
                }
            })
            .map(|k| &k.activity)
            .collect()
    }

    /// The engagement card at `now` (fit left at zero), from the tally and the activities after
    /// the horizon.
    pub fn card(&self, c: &Sections<'_>, view: &[&Activity], now: DateTime<Utc>) -> ScoreCard {
        let rules = &c.scoring.rules;
        let of_kind = rules_of_kind(rules);
        let mut fold = Fold::resume(&self.tally);
        let from = view.partition_point(|a| a.at < self.horizon);
        for a in &view[from..] {
            fold.add(rules, &of_kind, a);
        }
        fold.card(rules, c.scoring.thresholds, now)
    }

    /// Moves the horizon to `now - SETTLE` when that passes an activity: folds what it passes
    /// and drops what no condition can read any more.
    pub fn advance(&mut self, c: &Sections<'_>, now: DateTime<Utc>) {
        let to = now - SETTLE;
        // Only when it passes an activity: a state with nothing to fold stays as stored (a
        // rescore that changes nothing writes nothing).
        let first_new = self.kept.partition_point(|k| k.activity.at < self.horizon);
        if to <= self.horizon || self.kept.get(first_new).is_none_or(|k| k.activity.at >= to) {
            return;
        }
        let seen = self.happened(now);
        let machine: HashSet<ActivityId> = machine_hits(&seen).into_keys().cloned().collect();
        let rules = &c.scoring.rules;
        let of_kind = rules_of_kind(rules);
        let mut fold = Fold::resume(&self.tally);
        for k in &mut self.kept {
            let a = &k.activity;
            if a.at >= to {
                break;
            }
            if a.at < self.horizon {
                continue;
            }
            k.machine = machine.contains(&a.id);
            if !k.machine {
                fold.add(rules, &of_kind, a);
            }
        }
        self.horizon = to;
        self.tally = fold.tally(to);
        let view = self.view(now);
        let needed = needed(c, &view, now);
        let context = to - BURST_WINDOW;
        self.kept.retain(|k| {
            let a = &k.activity;
            a.at >= context || (!k.machine && needed.contains(&a.id))
        });
    }
}

/// An activity as the state keeps it: what rules, conditions and the machine-click check read
/// (its page, form, mail, link and agent), without what only reports read (campaign, referrer,
/// zone, dwell, template, send time, reason, browser, topic) or its subject. The lead's item
/// stays small.
fn trimmed(a: &Activity) -> Activity {
    let x = &a.attrs;
    Activity {
        attrs: crate::activities::Attrs {
            url: x.url.clone(),
            page_category: x.page_category.clone(),
            form_id: x.form_id.clone(),
            sequence_id: x.sequence_id.clone(),
            enrollment_id: x.enrollment_id.clone(),
            step: x.step,
            broadcast_id: x.broadcast_id.clone(),
            link: x.link,
            agent: x.agent,
            ..Default::default()
        },
        // As stored (see `Kept`): nothing here reads the subject.
        subject: crate::activities::Subject::Lead(crate::ids::LeadId::new("")),
        ..a.clone()
    }
}

/// The ids of the activities before the horizon that a condition can read now or later.
fn needed(c: &Sections<'_>, view: &[&Activity], now: DateTime<Utc>) -> HashSet<ActivityId> {
    let mut out = HashSet::new();
    let mut conds: Vec<&Cond> = Vec::new();
    for s in c.segments {
        leaves(&s.when, &mut conds);
    }
    for s in c.stages {
        leaves(&s.when, &mut conds);
    }
    for r in c.routing.rules.iter().filter_map(|r| r.when.as_ref()) {
        leaves(r, &mut conds);
    }
    let newest = |out: &mut HashSet<ActivityId>,
                  n: usize,
                  from: Option<DateTime<Utc>>,
                  f: &dyn Fn(&Activity) -> bool| {
        view.iter()
            .rev()
            .take_while(|a| from.is_none_or(|f| a.at > f))
            .filter(|a| f(a))
            .take(n)
            .for_each(|a| {
                out.insert(a.id.clone());
            });
    };
    for cond in conds {
        match cond {
            Cond::Did {
                matcher,
                at_least,
                within,
            } => newest(
                &mut out,
                (*at_least).max(1) as usize,
                within.map(|w| now - w),
                &|a| matcher.matches(a),
            ),
            Cond::Engaged {
                clicks,
                recent: Recent::Within(w),
            } => {
                let clicks = *clicks;
                newest(&mut out, 1, Some(now - *w), &move |a| {
                    a.kind == ActivityKind::EmailClick
                        || (!clicks && a.kind == ActivityKind::EmailOpen)
                })
            }
            Cond::Engaged {
                recent: Recent::LastMails(n),
                ..
            }
            | Cond::Unopened(n) => last_mails(&mut out, view, *n),
            _ => {}
        }
    }
    for t in c.triggers {
        match &t.condition {
            Condition::Count {
                matcher,
                at_least,
                within,
            } => newest(
                &mut out,
                (*at_least).max(1) as usize,
                Some(now - *within),
                &|a| matcher.matches(a),
            ),
            Condition::FormAbandoned { form_id, after } => {
                let from = now - *after - Duration::hours(crate::triggers::STALE_AFTER_HOURS);
                let f = form_id.as_str();
                newest(
                    &mut out,
                    usize::MAX,
                    Some(from - Duration::seconds(1)),
                    &|a| a.attrs.form_id.as_deref() == Some(f),
                )
            }
            Condition::Unopened { mails, .. } => last_mails(&mut out, view, *mails),
            Condition::EnteredSegment(_) => {}
        }
    }
    out
}

/// The last `n` mails sent and every open or click of them since its send.
fn last_mails(out: &mut HashSet<ActivityId>, view: &[&Activity], n: u32) {
    let sent = crate::segments::last_sent(view, n);
    let Some(oldest) = sent.first() else {
        return;
    };
    for a in view.iter().filter(|a| a.at >= oldest.at) {
        // Reactions count from their own mail's send on, so a mail sent later (the next of
        // the last mails) never needs one stamped before it.
        let reaction = matches!(a.kind, ActivityKind::EmailOpen | ActivityKind::EmailClick)
            && a.attrs.message_ref().is_some_and(|m| {
                sent.iter()
                    .any(|s| s.attrs.message_ref() == Some(m) && s.at <= a.at)
            });
        if reaction || sent.iter().any(|s| s.id == a.id) {
            out.insert(a.id.clone());
        }
    }
}

fn leaves<'a>(c: &'a Cond, out: &mut Vec<&'a Cond>) {
    match c {
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| leaves(c, out)),
        Cond::Not(c) => leaves(c, out),
        leaf => out.push(leaf),
    }
}
