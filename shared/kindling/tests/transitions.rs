//! What a rescore changes (`scoring::plan`, pure): temperature transitions and their events,
//! the hot alert once per crossing with the re-alert cooldown, the first MQL, trigger firings
//! with their numbers, and when the lead is looked at again.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::log::clean_log;
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::config::Config;
use kindling::email::EmailAddress;
use kindling::events::Audience;
use kindling::ids::{ActivityId, LeadId};
use kindling::leads::Lead;
use kindling::leads::Temperature;
use kindling::scoring::events::ScoringEvent;
use kindling::scoring::{plan, Plan};
use std::path::PathBuf;

fn config() -> Config {
    Config::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap()
}

fn act(id: &str, kind: ActivityKind, at: DateTime<Utc>, cat: Option<&str>) -> Activity {
    Activity {
        id: ActivityId::new(id),
        subject: Subject::Lead(LeadId::new("L1")),
        kind,
        at,
        attrs: Attrs {
            page_category: cat.map(Into::into),
            ..Attrs::default()
        },
    }
}

fn consult(id: &str, at: DateTime<Utc>) -> Activity {
    act(id, ActivityKind::ConsultationRequest, at, None)
}

fn lead() -> Lead {
    Lead::new(
        LeadId::new("L1"),
        EmailAddress::parse("a@example.jp").unwrap(),
        t0(),
    )
}

fn run(c: &Config, stored: &Lead, log: &[Activity], now: DateTime<Utc>) -> Plan {
    plan(&c.for_scoring(), stored, &clean_log(log, now), now)
}

fn types(p: &Plan) -> Vec<&'static str> {
    p.events.iter().map(ScoringEvent::detail_type).collect()
}

#[test]
fn cold_to_warm_to_hot_publishes_each_transition_once() {
    let c = config();
    let mut log = vec![consult("k1", t0())];
    let p = run(&c, &lead(), &log, t0());
    assert_eq!(p.lead.score.temperature, Temperature::Warm);
    // A consultation request also puts the lead in the shipped decision stage.
    assert_eq!(types(&p), ["lead.became_warm.v1", "lead.stage_changed.v1"]);
    // Stored, then nothing new: nothing to do.
    let warm = p.lead;
    let again = run(&c, &warm, &log, t0() + Duration::minutes(1));
    assert!(again.changes_nothing(&warm));
    assert!(again.events.is_empty());

    log.push(consult("k2", t0() + Duration::hours(1)));
    let p = run(&c, &warm, &log, t0() + Duration::hours(1));
    assert_eq!(
        types(&p),
        ["lead.became_hot.v1", "lead.became_mql.v1"],
        "hot at 60, and the shipped MQL is a total of 50"
    );
    assert_eq!(p.hot_crossing, Some(1));
    match &p.events[0] {
        ScoringEvent::LeadBecameHot(e) => {
            assert!(e.alert);
            assert_eq!(
                (e.crossing, e.score, e.previous),
                (1, 60, Temperature::Warm)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.lead.score.mql_at, Some(t0() + Duration::hours(1)));
}

#[test]
fn a_lead_that_cools_and_heats_again_within_the_cooldown_is_not_alerted_again() {
    // Consultations decay (half-life 1 day) so a hot lead cools without new activity.
    let mut c = config();
    for r in &mut c.scoring.rules {
        if r.id == "consultation_request" {
            r.half_life_days = Some(1);
        }
    }
    let log1 = vec![consult("k1", t0()), consult("k2", t0())];
    let hot = run(&c, &lead(), &log1, t0()).lead;
    assert_eq!(hot.score.temperature, Temperature::Hot);
    assert_eq!(hot.score.hot_alerted_at, Some(t0()));
    assert_eq!(
        hot.recheck_at,
        Some(t0() + Duration::hours(24)),
        "a decaying hot lead is looked at again a day later"
    );

    // Two days later: 60 → 15, cold: lead.cooled.v1. A cold lead is no longer rechecked. Sales
    // never marked it since the hand-off: the reminder and the escalation are due (cooling does
    // not excuse the follow-up).
    let day2 = t0() + Duration::days(2);
    let p = run(&c, &hot, &log1, day2);
    assert_eq!(
        types(&p),
        [
            "lead.cooled.v1",
            "lead.follow_up_due.v1",
            "lead.follow_up_due.v1"
        ]
    );
    assert_eq!(p.lead.score.temperature, Temperature::Cold);
    assert_eq!(p.lead.recheck_at, None);
    let cooled = p.lead;

    // Hot again on day 3 (within 7 days of the alert): a crossing, published, but no alert.
    let day3 = t0() + Duration::days(3);
    let mut log2 = log1.clone();
    log2.extend([consult("k3", day3), consult("k4", day3)]);
    let p = run(&c, &cooled, &log2, day3);
    match &p.events[0] {
        ScoringEvent::LeadBecameHot(e) => assert_eq!((e.crossing, e.alert), (2, false)),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.lead.score.hot_alerted_at, Some(t0()), "the last alert");
    assert!(
        !types(&p).contains(&"lead.became_mql.v1"),
        "MQL is published once"
    );

    // Cooling again and heating on day 9 (8 days after the alert): alerted.
    let day9 = t0() + Duration::days(9);
    let cooled_again = run(&c, &p.lead, &log2, day9 - Duration::hours(1)).lead;
    assert_eq!(cooled_again.score.temperature, Temperature::Cold);
    let mut log3 = log2.clone();
    log3.extend([consult("k5", day9), consult("k6", day9)]);
    let p = run(&c, &cooled_again, &log3, day9);
    match &p.events[0] {
        ScoringEvent::LeadBecameHot(e) => assert_eq!((e.crossing, e.alert), (3, true)),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.lead.score.hot_alerted_at, Some(day9));
}

#[test]
fn a_trigger_fires_once_with_its_enrollment_and_alert_and_is_remembered() {
    let c = config();
    let views: Vec<Activity> = (0..3)
        .map(|i| {
            act(
                &format!("p{i}"),
                ActivityKind::PageView,
                t0() + Duration::days(i),
                Some("pricing"),
            )
        })
        .collect();
    let now = t0() + Duration::days(2);
    let p = run(&c, &lead(), &views, now);
    assert_eq!(p.enroll, ["consultation_invite"]);
    let fired: Vec<_> = p
        .events
        .iter()
        .filter_map(|e| match e {
            ScoringEvent::TriggerFired(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].trigger, "pricing_interest");
    assert_eq!(fired[0].firing, 1);
    assert_eq!(fired[0].alert, Some(Audience::Sales));
    assert_eq!(fired[0].evidence.len(), 3);
    assert_eq!(p.lead.triggers["pricing_interest"].fired, 1);

    // The same log delivered again, or a fourth view: the trigger stays fired.
    let stored = p.lead;
    let mut more = views.clone();
    more.extend(views.iter().cloned());
    more.push(act(
        "p4",
        ActivityKind::PageView,
        now + Duration::hours(1),
        Some("pricing"),
    ));
    let p = run(&c, &stored, &more, now + Duration::hours(1));
    assert!(p.enroll.is_empty());
    assert!(!p
        .events
        .iter()
        .any(|e| matches!(e, ScoringEvent::TriggerFired(_))));
}

#[test]
fn a_pending_abandoned_form_sets_the_recheck_and_fires_when_it_comes() {
    let c = config();
    let start = Activity {
        attrs: Attrs {
            form_id: Some("consultation".into()),
            ..Attrs::default()
        },
        ..act("s", ActivityKind::FormStarted, t0(), None)
    };
    let log = vec![start];
    let p = run(&c, &lead(), &log, t0() + Duration::minutes(1));
    assert_eq!(p.lead.recheck_at, Some(t0() + Duration::hours(1)));
    assert!(p.events.is_empty());
    let p = run(&c, &p.lead, &log, t0() + Duration::hours(1));
    assert_eq!(p.enroll, ["application_followup"]);
    assert_eq!(p.lead.recheck_at, None);
}

/// A rescore that meets a further buying stage moves the lead there, stores the change with its
/// evidence and publishes `lead.stage_changed.v1`; the same log again changes nothing.
#[test]
fn a_stage_change_is_stored_with_its_evidence_and_published_once() {
    let c = config();
    let at = |m: i64| t0() + Duration::minutes(m);
    let now = at(60);
    let log = vec![
        act("d1", ActivityKind::DocumentDownload, at(0), None),
        act("p1", ActivityKind::PageView, at(10), Some("pricing")),
        act("p2", ActivityKind::PageView, at(20), Some("pricing")),
    ];
    let p = run(&c, &lead(), &log, now);
    let change = p.lead.stage_changes.last().unwrap();
    assert_eq!(
        (change.from.as_deref(), change.to.as_deref()),
        (None, Some("consideration"))
    );
    assert_eq!(
        change.evidence,
        vec![ActivityId::new("p1"), ActivityId::new("p2")]
    );
    let published: Vec<_> = p
        .events
        .iter()
        .filter_map(|e| match e {
            ScoringEvent::LeadStageChanged(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].to.as_deref(), Some("consideration"));
    let again = run(&c, &p.lead, &log, now);
    assert!(again.lead.stage_changes == p.lead.stage_changes);
    assert!(!again
        .events
        .iter()
        .any(|e| matches!(e, ScoringEvent::LeadStageChanged(_))));
}
