//! Behavioural triggers: declarative conditions over a lead's activity log that enroll the lead
//! in a sequence and/or alert a team, at most once per lead per cooldown.
//!
//! Like scores, a trigger's condition is a pure function of the log and the time, so a
//! redelivered or reordered event cannot fire it twice, and evaluating it again changes nothing.
//! Conditions that become true with the passing of time (a form left unsubmitted, mails left
//! unopened) say when to look again: the lead's `recheck_at`, which the scheduler honours.

pub mod config;

use crate::activities::{Activity, ActivityKind, Matcher};
use crate::events::Audience;
use crate::ids::ActivityId;
use crate::leads::TriggerState;
use crate::segments::membership::Move;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// A condition that became true longer ago than this (a long outage, a trigger added to the
/// program after the fact) does not fire: a follow-up about last month's visit is worse than
/// none. Conditions over a trailing window (`count` … `within`) are fresh by definition.
pub const STALE_AFTER_HOURS: i64 = 48;

/// When a trigger fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// At least `at_least` matching activities within the last `within`.
    Count {
        matcher: Matcher,
        at_least: u32,
        within: Duration,
    },
    /// The form was started (kindling.js `form_start`) and not submitted within `after`.
    FormAbandoned { form_id: String, after: Duration },
    /// None of the lead's last `mails` step mails was opened or clicked by a person, the newest
    /// of them sent at least `after` ago.
    Unopened { mails: u32, after: Duration },
    /// The lead entered this segment in the rescore that evaluates the trigger.
    EnteredSegment(crate::ids::SegmentId),
}

/// A declarative trigger from `[[triggers]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub id: crate::ids::TriggerId,
    pub condition: Condition,
    /// Enroll the lead in this sequence.
    pub enroll: Option<crate::ids::SequenceId>,
    /// Alert this team.
    pub alert: Option<Audience>,
    /// It may fire again this long after its last firing; `None`: once per lead, ever.
    pub cooldown: Option<Duration>,
}

/// A trigger that fires now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing<'a> {
    pub trigger: &'a Trigger,
    /// 1 for the first firing for this lead, 2 for the next (after a cooldown)…
    pub firing: u32,
    pub reason: String,
    pub evidence: Vec<ActivityId>,
}

/// What evaluating every trigger for one lead found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evaluation<'a> {
    pub firings: Vec<Firing<'a>>,
    /// The earliest time a condition may become true without new activity.
    pub recheck_at: Option<DateTime<Utc>>,
}

enum Check {
    No,
    /// Not yet; true at this time unless something happens first.
    Pending(DateTime<Utc>),
    /// True since `since`.
    Met {
        since: DateTime<Utc>,
        reason: String,
        evidence: Vec<ActivityId>,
    },
}

/// A duration for people: `7d`, `1h`, `30m`.
pub fn human(d: Duration) -> String {
    let m = d.num_minutes();
    if m % 1440 == 0 {
        format!("{}d", m / 1440)
    } else if m % 60 == 0 {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

impl Condition {
    /// Checks the condition over `log` (deduplicated, people only, time order), counting only
    /// activities after `since` (the last firing). Each condition reads the log backwards from
    /// the newest activity and stops at the oldest one it can use, so a long history costs
    /// nothing beyond the window.
    fn check(
        &self,
        log: &[&Activity],
        since: Option<DateTime<Utc>>,
        moves: &[Move],
        now: DateTime<Utc>,
    ) -> Check {
        let fresh = |a: &&&Activity| since.is_none_or(|s| a.at > s);
        match self {
            Condition::EnteredSegment(id) => moves
                .iter()
                .find_map(|m| match m {
                    Move::Entered { segment, evidence } if segment == id => Some(Check::Met {
                        since: now,
                        reason: format!("entered segment {id}"),
                        evidence: evidence.clone(),
                    }),
                    _ => None,
                })
                .unwrap_or(Check::No),
            Condition::Count {
                matcher,
                at_least,
                within,
            } => {
                // Only the newest `at_least` hits matter, as for a segment's count: they decide,
                // they are the evidence, and the scan stops there (so the score state keeps no
                // more of the history than that).
                let from = now - *within;
                let n = (*at_least).max(1) as usize;
                let mut hits: Vec<&&Activity> = log
                    .iter()
                    .rev()
                    .take_while(|a| a.at > from)
                    .filter(fresh)
                    .filter(|a| matcher.matches(a))
                    .take(n)
                    .collect();
                hits.reverse();
                if hits.len() < n {
                    return Check::No;
                }
                Check::Met {
                    since: hits[n - 1].at,
                    reason: format!(
                        "{}× {} within {}",
                        hits.len(),
                        matcher.describe(),
                        human(*within)
                    ),
                    evidence: hits.iter().map(|a| a.id.clone()).collect(),
                }
            }
            Condition::FormAbandoned { form_id, after } => {
                let mut pending = None;
                let of_form = |a: &&&Activity| a.attrs.form_id.as_deref() == Some(form_id);
                // Starts older than this would only give a stale firing.
                let oldest = now - *after - Duration::hours(STALE_AFTER_HOURS);
                let recent = log.partition_point(|a| a.at < oldest);
                let recent = &log[recent..];
                for (i, start) in recent.iter().enumerate() {
                    if !(start.kind == ActivityKind::FormStarted
                        && of_form(&start)
                        && fresh(&start))
                    {
                        continue;
                    }
                    let same_time = recent[..i].partition_point(|a| a.at < start.at);
                    let submitted = recent[same_time..]
                        .iter()
                        .filter(of_form)
                        .any(|a| a.kind != ActivityKind::FormStarted);
                    if submitted {
                        continue;
                    }
                    let due = start.at + *after;
                    if due > now {
                        pending = Some(pending.map_or(due, |p: DateTime<Utc>| p.min(due)));
                        continue;
                    }
                    return Check::Met {
                        since: due,
                        reason: format!(
                            "form {form_id} started {} and not submitted within {}",
                            start.at.format("%Y-%m-%d %H:%M UTC"),
                            human(*after)
                        ),
                        evidence: vec![start.id.clone()],
                    };
                }
                pending.map_or(Check::No, Check::Pending)
            }
            Condition::Unopened { mails, after } => {
                let n = *mails as usize;
                let mut last: Vec<&&Activity> = log
                    .iter()
                    .rev()
                    .filter(|a| a.kind == ActivityKind::EmailSent)
                    .take_while(fresh)
                    .take(n)
                    .collect();
                if last.len() < n || n == 0 {
                    return Check::No;
                }
                last.reverse();
                let newest = last[last.len() - 1].at;
                // A mail is opened after it was sent: only the log since the oldest counts.
                let from = log.partition_point(|a| a.at < last[0].at);
                // And each from its own send on (one stamped earlier is clock skew).
                let engaged = log[from..].iter().any(|a| {
                    matches!(a.kind, ActivityKind::EmailOpen | ActivityKind::EmailClick)
                        && a.attrs.message_ref().is_some_and(|m| {
                            last.iter()
                                .any(|s| s.attrs.message_ref() == Some(m) && s.at <= a.at)
                        })
                });
                if engaged {
                    return Check::No;
                }
                let due = newest + *after;
                if due > now {
                    return Check::Pending(due);
                }
                Check::Met {
                    since: due,
                    reason: format!(
                        "last {mails} mails not opened (newest sent {})",
                        newest.format("%Y-%m-%d %H:%M UTC")
                    ),
                    evidence: last.iter().map(|a| a.id.clone()).collect(),
                }
            }
        }
    }

    /// Whether the condition only becomes true with time (then staleness applies).
    fn timed(&self) -> bool {
        !matches!(self, Condition::Count { .. } | Condition::EnteredSegment(_))
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// Evaluates every trigger for a lead whose cleaned log is `log` (see
/// [`crate::activities::log::clean_log`]), whose firings so far are `state`, and which entered
/// or left the segments of `moves` in this rescore.
pub fn evaluate<'a>(
    triggers: &'a [Trigger],
    state: &BTreeMap<crate::ids::TriggerId, TriggerState>,
    log: &[&Activity],
    moves: &[Move],
    now: DateTime<Utc>,
) -> Evaluation<'a> {
    let mut out = Evaluation::default();
    for t in triggers {
        let last = state.get(&t.id);
        let open_at = match (last, t.cooldown) {
            (None, _) => None,
            // Once per lead: done for good.
            (Some(_), None) => continue,
            (Some(s), Some(cd)) => Some(s.last_at + cd),
        };
        match t.condition.check(log, last.map(|s| s.last_at), moves, now) {
            Check::No => {}
            Check::Pending(at) => out.recheck_at = earliest(out.recheck_at, at),
            Check::Met {
                since,
                reason,
                evidence,
            } => {
                if t.condition.timed() && now - since > Duration::hours(STALE_AFTER_HOURS) {
                    continue;
                }
                match open_at {
                    Some(open) if open > now => out.recheck_at = earliest(out.recheck_at, open),
                    _ => out.firings.push(Firing {
                        trigger: t,
                        firing: last.map_or(1, |s| s.fired + 1),
                        reason,
                        evidence,
                    }),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activities::{Attrs, Subject};
    use crate::ids::{EnrollmentId, LeadId};
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap() + Duration::minutes(min)
    }
    const DAY: i64 = 1440;

    fn act(id: &str, kind: ActivityKind, min: i64, attrs: Attrs) -> Activity {
        Activity {
            id: ActivityId::new(id),
            subject: Subject::Lead(LeadId::new("L1")),
            kind,
            at: t(min),
            attrs,
        }
    }
    fn page(id: &str, cat: &str, min: i64) -> Activity {
        let attrs = Attrs {
            page_category: Some(cat.into()),
            ..Attrs::default()
        };
        act(id, ActivityKind::PageView, min, attrs)
    }
    fn form(id: &str, kind: ActivityKind, form: &str, min: i64) -> Activity {
        let attrs = Attrs {
            form_id: Some(form.into()),
            ..Attrs::default()
        };
        act(id, kind, min, attrs)
    }
    fn mail(id: &str, kind: ActivityKind, step: u32, min: i64) -> Activity {
        let attrs = Attrs {
            enrollment_id: Some(EnrollmentId::new("E1")),
            step: Some(step),
            ..Attrs::default()
        };
        act(id, kind, min, attrs)
    }

    fn pricing(cooldown: Option<Duration>) -> Trigger {
        Trigger {
            id: "pricing_interest".into(),
            condition: Condition::Count {
                matcher: Matcher {
                    kind: ActivityKind::PageView,
                    page_category: Some("pricing".into()),
                    form_id: None,
                    url: None,
                },
                at_least: 3,
                within: Duration::days(7),
            },
            enroll: Some("consultation_invite".into()),
            alert: Some(Audience::Sales),
            cooldown,
        }
    }
    fn abandoned() -> Trigger {
        Trigger {
            id: "application_abandoned".into(),
            condition: Condition::FormAbandoned {
                form_id: "consultation".into(),
                after: Duration::hours(1),
            },
            enroll: Some("application_followup".into()),
            alert: None,
            cooldown: None,
        }
    }
    fn unopened() -> Trigger {
        Trigger {
            id: "not_opening".into(),
            condition: Condition::Unopened {
                mails: 3,
                after: Duration::days(3),
            },
            enroll: Some("different_angle".into()),
            alert: None,
            cooldown: None,
        }
    }

    fn eval<'a>(
        triggers: &'a [Trigger],
        state: &BTreeMap<crate::ids::TriggerId, TriggerState>,
        log: &[Activity],
        now: i64,
    ) -> Evaluation<'a> {
        let refs: Vec<&Activity> = log.iter().collect();
        evaluate(triggers, state, &refs, &[], t(now))
    }

    fn fired(at: i64, n: u32) -> TriggerState {
        TriggerState {
            fired: n,
            last_at: t(at),
        }
    }

    #[test]
    fn pricing_three_times_within_seven_days_fires_once() {
        let ts = [pricing(None)];
        let none = BTreeMap::new();
        let two = vec![page("p1", "pricing", 0), page("p2", "pricing", DAY)];
        assert!(eval(&ts, &none, &two, DAY).firings.is_empty());
        let mut three = two.clone();
        three.push(page("p3", "pricing", 2 * DAY));
        let e = eval(&ts, &none, &three, 2 * DAY);
        assert_eq!(e.firings.len(), 1);
        assert_eq!(e.firings[0].firing, 1);
        assert_eq!(e.firings[0].evidence.len(), 3);
        assert_eq!(e.firings[0].reason, "3× page_view (pricing) within 7d");
        // Once fired (no cooldown), never again.
        let state = BTreeMap::from([("pricing_interest".into(), fired(2 * DAY, 1))]);
        three.push(page("p4", "pricing", 3 * DAY));
        assert!(eval(&ts, &state, &three, 3 * DAY).firings.is_empty());
    }

    #[test]
    fn views_spread_over_more_than_the_window_do_not_fire() {
        let ts = [pricing(None)];
        let log = vec![
            page("p1", "pricing", 0),
            page("p2", "pricing", 4 * DAY),
            page("p3", "pricing", 8 * DAY),
            page("h", "home", 8 * DAY),
        ];
        assert!(eval(&ts, &BTreeMap::new(), &log, 8 * DAY)
            .firings
            .is_empty());
    }

    #[test]
    fn a_cooldown_lets_fresh_evidence_fire_again_only_after_it_ends() {
        let ts = [pricing(Some(Duration::days(30)))];
        let state = BTreeMap::from([("pricing_interest".into(), fired(0, 1))]);
        // Three new views 10 days later: cooling until day 30; look again then.
        let log: Vec<Activity> = (0..3)
            .map(|i| page(&format!("p{i}"), "pricing", 10 * DAY + i))
            .collect();
        let e = eval(&ts, &state, &log, 10 * DAY + 2);
        assert!(e.firings.is_empty());
        assert_eq!(e.recheck_at, Some(t(30 * DAY)));
        // After the cooldown: three views after the last firing fire the second time.
        let log: Vec<Activity> = (0..3)
            .map(|i| page(&format!("q{i}"), "pricing", 31 * DAY + i))
            .collect();
        let e = eval(&ts, &state, &log, 31 * DAY + 2);
        assert_eq!(e.firings[0].firing, 2);
        // Views before the last firing never count again.
        let old: Vec<Activity> = (0..3)
            .map(|i| page(&format!("r{i}"), "pricing", -1 - i))
            .collect();
        assert!(eval(&ts, &state, &old, 1).firings.is_empty());
    }

    #[test]
    fn an_abandoned_form_fires_an_hour_after_the_start_unless_submitted() {
        let ts = [abandoned()];
        let none = BTreeMap::new();
        let started = vec![form("s", ActivityKind::FormStarted, "consultation", 0)];
        let e = eval(&ts, &none, &started, 10);
        assert!(e.firings.is_empty());
        assert_eq!(e.recheck_at, Some(t(60)));
        let e = eval(&ts, &none, &started, 60);
        assert_eq!(e.firings.len(), 1);
        assert_eq!(e.firings[0].evidence, vec![ActivityId::new("s")]);
        // Submitted (any activity of that form but a start) after the start: nothing.
        let mut done = started.clone();
        done.push(form(
            "k",
            ActivityKind::ConsultationRequest,
            "consultation",
            30,
        ));
        let e = eval(&ts, &none, &done, 90);
        assert_eq!(e, Evaluation::default());
        // Another form's start is not this one.
        let other = vec![form("s", ActivityKind::FormStarted, "whitepaper", 0)];
        assert_eq!(eval(&ts, &none, &other, 90), Evaluation::default());
    }

    #[test]
    fn a_stale_timed_condition_does_not_fire() {
        let ts = [abandoned()];
        let started = vec![form("s", ActivityKind::FormStarted, "consultation", 0)];
        let late = 60 + STALE_AFTER_HOURS * 60;
        assert_eq!(eval(&ts, &BTreeMap::new(), &started, late).firings.len(), 1);
        assert!(eval(&ts, &BTreeMap::new(), &started, late + 1)
            .firings
            .is_empty());
    }

    #[test]
    fn three_unopened_mails_fire_once_the_newest_had_time_to_be_opened() {
        let ts = [unopened()];
        let none = BTreeMap::new();
        let mut log = vec![
            mail("m0", ActivityKind::EmailSent, 0, 0),
            mail("m1", ActivityKind::EmailSent, 1, 3 * DAY),
            mail("m2", ActivityKind::EmailSent, 2, 7 * DAY),
        ];
        let e = eval(&ts, &none, &log, 7 * DAY);
        assert!(e.firings.is_empty());
        assert_eq!(e.recheck_at, Some(t(10 * DAY)));
        let e = eval(&ts, &none, &log, 10 * DAY);
        assert_eq!(e.firings.len(), 1);
        assert_eq!(e.firings[0].evidence.len(), 3);
        // An open of any of the three: no firing.
        log.push(mail("o", ActivityKind::EmailOpen, 1, 4 * DAY));
        assert_eq!(eval(&ts, &none, &log, 10 * DAY), Evaluation::default());
        // Only two mails: nothing to decide.
        assert_eq!(eval(&ts, &none, &log[..2], 20 * DAY), Evaluation::default());
    }

    #[test]
    fn the_result_does_not_depend_on_log_order() {
        let ts = [pricing(None), abandoned(), unopened()];
        let log = vec![
            page("p1", "pricing", 0),
            form("s", ActivityKind::FormStarted, "consultation", 5),
            page("p2", "pricing", 10),
            page("p3", "pricing", 20),
        ];
        let mut reversed = log.clone();
        reversed.reverse();
        let a = crate::activities::log::clean_log(&log, t(120));
        let b = crate::activities::log::clean_log(&reversed, t(120));
        assert_eq!(a, b);
        let e = evaluate(&ts, &BTreeMap::new(), &b, &[], t(120));
        assert_eq!(
            e.firings
                .iter()
                .map(|f| f.trigger.id.as_str())
                .collect::<Vec<_>>(),
            ["pricing_interest", "application_abandoned"]
        );
    }
}
