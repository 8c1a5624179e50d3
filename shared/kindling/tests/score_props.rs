//! Properties of scoring, over generated activity logs: the order of activities does not matter,
//! duplicated deliveries change nothing (for the score and for a whole rescore plan: transitions,
//! MQL, triggers), repeat limits hold, the future does not count, and machine hits never add points.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::classify::Agent;
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::config::Config;
use kindling::ids::{ActivityId, EnrollmentId, LeadId};
use kindling::scoring::{score, Repeat};
use proptest::prelude::*;
use std::path::PathBuf;

fn config() -> Config {
    Config::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap()
}

const KINDS: [ActivityKind; 6] = [
    ActivityKind::PageView,
    ActivityKind::EmailOpen,
    ActivityKind::EmailClick,
    ActivityKind::DocumentDownload,
    ActivityKind::SeminarSignup,
    ActivityKind::ConsultationRequest,
];

/// Mails a generated log can mention.
const MAILS: u32 = 4;

/// One activity: one of a few mails and links, a page category or none, within ten days. The id
/// is made from all of that, so a repeated id is a redelivery of the same event.
fn activity() -> impl Strategy<Value = Activity> {
    (
        0u32..40,
        0usize..KINDS.len(),
        0u32..MAILS,
        0u16..3,
        any::<bool>(),
        0i64..(10 * 24 * 60),
    )
        .prop_map(|(id, kind, mail, link, pricing, minute)| {
            let kind = KINDS[kind];
            let is_mail = matches!(kind, ActivityKind::EmailOpen | ActivityKind::EmailClick);
            Activity {
                id: ActivityId::new(format!("a{id}-{kind}-{mail}-{link}-{pricing}-{minute}")),
                subject: Subject::Lead(LeadId::new("L1")),
                kind,
                at: t0() + Duration::minutes(minute),
                attrs: Attrs {
                    page_category: (kind == ActivityKind::PageView && pricing)
                        .then(|| "pricing".into()),
                    enrollment_id: is_mail.then(|| EnrollmentId::new(format!("E{mail}"))),
                    step: is_mail.then_some(0),
                    link: (kind == ActivityKind::EmailClick).then_some(link),
                    ..Attrs::default()
                },
            }
        })
}

fn now() -> DateTime<Utc> {
    t0() + Duration::days(11)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_order_of_activities_does_not_matter(
        log in prop::collection::vec(activity(), 0..60),
        seed in any::<u64>(),
    ) {
        let c = config();
        let mut shuffled = log.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(
            score(&log, &c.scoring.rules, c.scoring.thresholds, now()),
            score(&shuffled, &c.scoring.rules, c.scoring.thresholds, now())
        );
    }

    #[test]
    fn a_whole_rescore_plan_ignores_order_and_duplicates(
        log in prop::collection::vec(activity(), 0..60),
        seed in any::<u64>(),
        dup in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        // Transitions, MQL and trigger firings (pricing_interest fires on some of these logs)
        // are as independent of delivery as the score.
        let c = config();
        let mut other = log.clone();
        if !log.is_empty() {
            for d in dup {
                other.push(log[d.index(log.len())].clone());
            }
        }
        let mut s = seed;
        for i in (1..other.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            other.swap(i, (s >> 33) as usize % (i + 1));
        }
        let lead = kindling::leads::Lead::new(
            LeadId::new("L1"),
            kindling::email::EmailAddress::parse("a@example.jp").unwrap(),
            t0(),
        );
        let a = kindling::scoring::plan(&c.for_scoring(), &lead, &kindling::activities::log::clean_log(&log, now()), now());
        let b = kindling::scoring::plan(&c.for_scoring(), &lead, &kindling::activities::log::clean_log(&other, now()), now());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn duplicated_deliveries_change_nothing(
        log in prop::collection::vec(activity(), 0..60),
        dup in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let c = config();
        let mut with_dups = log.clone();
        if !log.is_empty() {
            for d in dup {
                with_dups.push(log[d.index(log.len())].clone());
            }
        }
        prop_assert_eq!(
            score(&log, &c.scoring.rules, c.scoring.thresholds, now()),
            score(&with_dups, &c.scoring.rules, c.scoring.thresholds, now())
        );
    }

    #[test]
    fn repeat_limits_hold(log in prop::collection::vec(activity(), 0..80)) {
        let c = config();
        let card = score(&log, &c.scoring.rules, c.scoring.thresholds, now());
        for rs in &card.breakdown {
            let rule = c.scoring.rules.iter().find(|r| r.id == rs.rule).unwrap();
            match rule.repeat {
                Repeat::Once => prop_assert!(rs.count <= 1),
                Repeat::OncePerMessage => prop_assert!(rs.count <= MAILS),
                Repeat::Every => {}
            }
            prop_assert_eq!(rs.points, rule.points * i64::from(rs.count));
        }
        prop_assert_eq!(card.total, card.breakdown.iter().map(|r| r.points).sum::<i64>());
        prop_assert_eq!(card.temperature, c.scoring.thresholds.temperature(card.total));
    }

    #[test]
    fn activities_in_the_future_do_not_count(
        log in prop::collection::vec(activity(), 0..60),
        cut in 0i64..(10 * 24 * 60),
    ) {
        let c = config();
        let at = t0() + Duration::minutes(cut);
        let past: Vec<Activity> = log.iter().filter(|a| a.at <= at).cloned().collect();
        prop_assert_eq!(
            score(&log, &c.scoring.rules, c.scoring.thresholds, at),
            score(&past, &c.scoring.rules, c.scoring.thresholds, at)
        );
    }

    #[test]
    fn decay_never_increases_a_score_and_caps_hold(
        log in prop::collection::vec(activity(), 0..80),
        half_life in 1u32..60,
        cap in 1i64..60,
        per_day in 1u32..4,
    ) {
        let c = config();
        let limited: Vec<_> = c
            .scoring.rules
            .iter()
            .cloned()
            .map(|mut r| {
                r.half_life_days = Some(half_life);
                r.max_points = Some(cap * r.points.signum());
                r.max_per_day = Some(per_day);
                r
            })
            .collect();
        let undecayed: Vec<_> = limited
            .iter()
            .cloned()
            .map(|mut r| {
                r.half_life_days = None;
                r
            })
            .collect();
        let with_decay = score(&log, &limited, c.scoring.thresholds, now());
        let without = score(&log, &undecayed, c.scoring.thresholds, now());
        prop_assert!(with_decay.total <= without.total);
        for (d, u) in with_decay.breakdown.iter().zip(&without.breakdown) {
            prop_assert_eq!(d.undecayed, u.points);
            prop_assert!(d.points.abs() <= u.points.abs());
            prop_assert!(u.points.abs() <= cap);
        }
    }

    #[test]
    fn machine_hits_never_add_points(
        log in prop::collection::vec(activity(), 0..60),
        machine in prop::collection::vec(activity(), 1..20),
    ) {
        let c = config();
        let base = score(&log, &c.scoring.rules, c.scoring.thresholds, now()).total;
        let mut with_machines = log.clone();
        for mut m in machine {
            m.id = ActivityId::new(format!("m-{}", m.id));
            m.attrs.agent = Some(if m.kind == ActivityKind::EmailOpen {
                Agent::MachineOpen
            } else {
                Agent::ScannerClick
            });
            with_machines.push(m);
        }
        prop_assert!(score(&with_machines, &c.scoring.rules, c.scoring.thresholds, now()).total <= base);
    }
}
