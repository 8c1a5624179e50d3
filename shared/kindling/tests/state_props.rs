//! The incremental score state ([`kindling::scoring::state`]) against the full recomputation:
//! for generated logs delivered late, out of order and twice, under generated rule limits
//! (repeat, day and week limits, point caps, half-lives) and a clock that moves by seconds to
//! days, every rescore plans exactly what a rescore over the whole log plans: the score and its
//! per-rule counts and points, temperature transitions, MQL, stages, segments with their
//! evidence and recheck times, trigger firings, routing, and whether the fresh activity counts
//! as a person's (what A/B tests count). Machine clicks (links clicked at once)
//! are generated too, so the classification context across the horizon is exercised.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::log::clean_log;
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::config::Config;
use kindling::ids::{ActivityId, EnrollmentId, LeadId};
use kindling::leads::Lead;
use kindling::scoring::state::{Placed, ScoreState};
use kindling::scoring::{plan, plan_scored, Plan, Repeat};
use proptest::prelude::*;
use std::path::PathBuf;

fn config() -> Config {
    Config::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap()
}

const KINDS: [ActivityKind; 9] = [
    ActivityKind::PageView,
    ActivityKind::EmailSent,
    ActivityKind::EmailOpen,
    ActivityKind::EmailClick,
    ActivityKind::FormStarted,
    ActivityKind::FormSubmitted,
    ActivityKind::DocumentDownload,
    ActivityKind::SeminarSignup,
    ActivityKind::ConsultationRequest,
];

/// One activity at `at`; mails and links from small sets so that repeats and bursts happen.
fn activity() -> impl Strategy<Value = (u32, usize, u32, u16, u8, i64)> {
    (
        0u32..1000,
        0usize..KINDS.len(),
        0u32..5,
        0u16..3,
        0u8..3,
        // Seconds over three weeks, clustered (some at the same hour of five days), or over
        // two hundred days (past a mail's 90-day memory).
        prop_oneof![
            0i64..(21 * 86_400),
            (0i64..5).prop_map(|m| m * 86_400 + 3_600),
            0i64..(200 * 86_400)
        ],
    )
}

fn make(n: usize, (id, kind, mail, link, page, secs): (u32, usize, u32, u16, u8, i64)) -> Activity {
    let kind = KINDS[kind];
    let is_mail = matches!(
        kind,
        ActivityKind::EmailSent | ActivityKind::EmailOpen | ActivityKind::EmailClick
    );
    let is_form = matches!(
        kind,
        ActivityKind::FormStarted | ActivityKind::FormSubmitted
    );
    Activity {
        id: ActivityId::new(format!("a{n}-{id}")),
        subject: Subject::Lead(LeadId::new("L1")),
        kind,
        at: t0() + Duration::seconds(secs + i64::from(link)),
        attrs: Attrs {
            page_category: (kind == ActivityKind::PageView)
                .then(|| ["pricing", "cancellation", "blog"][page as usize].into()),
            enrollment_id: is_mail.then(|| EnrollmentId::new(format!("E{mail}"))),
            step: is_mail.then_some(0),
            link: (kind == ActivityKind::EmailClick).then_some(link),
            form_id: is_form.then(|| "consultation".into()),
            ..Attrs::default()
        },
    }
}

/// A rule's generated limits: repeat mode, per day, per week, point cap, half-life.
type Limits = (u8, Option<u32>, Option<u32>, Option<i64>, Option<u32>);

/// Limits on the shipped rules, generated.
fn limits() -> impl Strategy<Value = Vec<Limits>> {
    prop::collection::vec(
        (
            0u8..3,
            prop::option::of(1u32..3),
            prop::option::of(1u32..4),
            prop::option::of(5i64..40),
            prop::option::of(1u32..10),
        ),
        12,
    )
}

fn lead() -> Lead {
    Lead::new(
        LeadId::new("L1"),
        kindling::email::EmailAddress::parse("a@example.com").unwrap(),
        t0() - Duration::days(1),
    )
}

fn with_fit(
    c: &kindling::scoring::Sections<'_>,
    lead: &Lead,
    card: kindling::scoring::ScoreCard,
) -> kindling::scoring::ScoreCard {
    kindling::scoring::with_fit(card, lead, &c.scoring.fit_rules, c.scoring.thresholds)
}

fn without_state(mut p: Plan) -> Plan {
    p.lead.score.state = None;
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_state_plans_what_the_whole_log_plans(
        raw in prop::collection::vec(activity(), 1..80),
        delays in prop::collection::vec(0i64..7_200, 80),
        repeats in prop::collection::vec(any::<bool>(), 80),
        gaps in prop::collection::vec(prop_oneof![0i64..600, 0i64..(3 * 86_400)], 80),
        limits in limits(),
    ) {
        let mut c = config();
        for (rule, (repeat, day, week, cap, half)) in c.scoring.rules.iter_mut().zip(&limits) {
            rule.repeat = [Repeat::Every, Repeat::OncePerMessage, Repeat::Once][*repeat as usize];
            rule.max_per_day = *day;
            rule.max_per_week = *week;
            rule.max_points = cap.map(|m| m * rule.points.signum());
            rule.half_life_days = *half;
        }
        let mut sections = c.for_scoring();
        sections.fingerprint = kindling::scoring::state::fingerprint(&sections);
        let mut arrivals: Vec<Activity> =
            raw.iter().enumerate().map(|(n, r)| make(n, *r)).collect();
        arrivals.sort_by_key(|a| a.at);
        let mut log: Vec<Activity> = Vec::new();
        let mut stored = lead();
        let mut state: Option<ScoreState> = None;
        let mut now = t0();
        for (i, a) in arrivals.iter().enumerate() {
            // Delivered late (up to two hours), the clock never going back.
            now = now.max(a.at + Duration::seconds(delays[i]));
            let twice = repeats[i];
            let mut deliveries = vec![(a.clone(), false)];
            if twice {
                // A redelivery, some seconds later, of the same id.
                let mut again = a.clone();
                again.at += Duration::seconds(delays[i] % 90);
                deliveries.push((again, true));
            }
            for (d, duplicate) in deliveries {
                log.push(d.clone());
                let mut s = state.take();
                if let Some(st) = &mut s {
                    if st.place(&d, duplicate) == Placed::Rebuild {
                        s = None;
                    }
                }
                let (st, seen) = match s {
                    Some(mut st) => {
                        let seen = ScoreState::seen(&st.view(now), &d);
                        st.advance(&sections, now);
                        (st, seen)
                    }
                    None => ScoreState::rebuild(&sections, Vec::new(), &log, now, &d.id),
                };
                let full = plan(&sections, &stored, &clean_log(&log, now), now);
                let view = st.view(now);
                // What an A/B test counts: the activity as a person's, once.
                prop_assert_eq!(
                    seen,
                    clean_log(&log, now).into_iter().find(|x| x.id == d.id).cloned()
                );
                let card = with_fit(&sections, &stored, st.card(&sections, &view, now));
                let inc = plan_scored(&sections, &stored, &view, card, now);
                prop_assert_eq!(without_state(inc.clone()), without_state(full.clone()),
                    "at {} after {} arrivals", now, i + 1);
                stored = full.lead;
                state = Some(st);
            }
            // Time passes with nothing new: a recheck.
            now += Duration::seconds(gaps[i]);
            let mut st = state.take().unwrap();
            st.advance(&sections, now);
            let full = plan(&sections, &stored, &clean_log(&log, now), now);
            let view = st.view(now);
            let card = with_fit(&sections, &stored, st.card(&sections, &view, now));
            let inc = plan_scored(&sections, &stored, &view, card, now);
            prop_assert_eq!(without_state(inc), without_state(full.clone()), "recheck at {}", now);
            stored = full.lead;
            state = Some(st);
        }
    }
}
