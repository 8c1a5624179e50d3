//! The shipped triggers end to end on the embedded pipeline (HTTP entry logic, bus, scheduler,
//! SQLite): each fires once per lead (per cooldown), enrolls and alerts once under duplicate
//! delivery and a bus failure mid-way, and time-based conditions fire from the scheduler.

use chrono::Duration;
use kindling::activities::ports::ActivityLog;
use kindling::app::events::Event;
use kindling::app::{handle_event, Kindling};
use kindling::events::Audience;
use kindling::scoring::rescore_with;
use kindling_tests::harness::{
    config_with, lead_fields, monday_10_jst, FailFirst, FlakyBus, TestApp,
};
use serde_json::json;
use std::sync::Arc;

const VISITOR: &str = "v-trigger-1";

async fn known_lead(t: &TestApp, email: &str) {
    let mut f = lead_fields(email, "Asia/Tokyo");
    f.push(("visitor_id", VISITOR));
    assert_eq!(t.submit("whitepaper", &f).await.status(), 303);
}

async fn beacon(t: &TestApp, events: serde_json::Value) {
    let body = json!({ "visitor_id": VISITOR, "events": events }).to_string();
    let res = t
        .request("POST", "/t/events", Some("text/plain"), body)
        .await;
    assert_eq!(res.status(), 202);
}

async fn visit(t: &TestApp, id: &str, path: &str) {
    beacon(
        t,
        json!([{ "id": id, "type": "page_view", "url": format!("https://example.jp{path}"), "at": t.now() }]),
    )
    .await;
}

fn trigger_alerts(t: &TestApp, trigger: &str) -> Vec<kindling::alerts::ports::Alert> {
    t.notifier
        .alerts
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.trigger.as_deref() == Some(trigger))
        .cloned()
        .collect()
}

async fn sequences_of(t: &TestApp, email: &str) -> Vec<String> {
    let mut s: Vec<String> = t
        .enrollments(email)
        .await
        .into_iter()
        .map(|e| e.sequence_id.to_string())
        .collect();
    s.sort();
    s
}

#[tokio::test]
async fn three_pricing_views_in_a_week_invite_once_and_alert_sales_once() {
    let t = TestApp::new();
    known_lead(&t, "p@example.jp").await;
    // Views on days 0, 2 and 5.
    for (i, wait) in [0, 2, 3].into_iter().enumerate() {
        t.clock.advance(Duration::days(wait));
        visit(&t, &format!("pv{i}"), "/pricing.html").await;
        // A redelivered beacon changes nothing.
        visit(&t, &format!("pv{i}"), "/pricing.html").await;
    }
    assert_eq!(
        sequences_of(&t, "p@example.jp").await,
        ["consultation_invite", "document_followup"]
    );
    let alerts = trigger_alerts(&t, "pricing_interest");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].audience, Audience::Sales);
    assert!(
        alerts[0].reasons[0].contains("3× page_view (pricing) within 7d"),
        "{:?}",
        alerts[0].reasons
    );
    // A fourth view, the trigger event delivered twice more: still one of each.
    t.clock.advance(Duration::hours(1));
    visit(&t, "pv4", "/pricing.html").await;
    let lead = t.lead("p@example.jp").await;
    assert_eq!(lead.triggers["pricing_interest"].fired, 1);
    let fired = Event::TriggerFired(kindling::scoring::events::TriggerFired {
        lead_id: lead.id.clone(),
        trigger: "pricing_interest".into(),
        firing: 1,
        reason: "redelivered".into(),
        evidence: vec![],
        enrolled: Some("consultation_invite".into()),
        alert: Some(Audience::Sales),
        at: t.now(),
        owner: None,
        handoff: None,
    });
    for _ in 0..2 {
        handle_event(&t.app.kindling, t.notifier.as_ref(), &fired)
            .await
            .unwrap();
    }
    assert_eq!(trigger_alerts(&t, "pricing_interest").len(), 1);
    // The invitation goes out once.
    t.run_until(t.now() + Duration::days(3), Duration::minutes(30))
        .await;
    let invites = t
        .sends("p@example.jp")
        .await
        .into_iter()
        .filter(|s| s.sequence_id.as_deref() == Some("consultation_invite"))
        .count();
    assert_eq!(invites, 1);
}

#[tokio::test]
async fn a_bus_failure_after_the_enrollment_retries_into_one_enrollment_and_one_alert() {
    let t = TestApp::new();
    known_lead(&t, "f@example.jp").await;
    let lead = t.lead("f@example.jp").await;
    // Three views recorded without scoring (as if the score function had not run yet).
    for i in 0..3 {
        let a = kindling::activities::Activity {
            id: kindling::ids::ActivityId::new(format!("pv{i}")),
            subject: kindling::activities::Subject::Lead(lead.id.clone()),
            kind: kindling::activities::ActivityKind::PageView,
            at: t.now() + Duration::hours(i),
            attrs: kindling::activities::Attrs {
                page_category: Some("pricing".into()),
                ..Default::default()
            },
        };
        t.app.store.record(&a).await.unwrap();
    }
    t.clock.advance(Duration::hours(3));
    let flaky = Kindling {
        bus: Arc::new(FlakyBus {
            inner: t.app.kindling.bus.clone(),
            // The first publish is the enrollment's `sequence.step_due.v1` (its failure only
            // leaves the step to the scheduled run); the second, the rescore's events.
            failures: FailFirst::new(2),
        }),
        ..t.app.kindling.clone()
    };
    // Views recorded without their events reach scoring as a rebuild from the log (what
    // `kindling rescore --apply` does). The first attempt enrolls, then cannot publish: an
    // error, the lead is not stored.
    let rebuild = kindling::scoring::Fresh::Rebuild;
    assert!(rescore_with(&flaky.scoring(), &lead.id, rebuild)
        .await
        .is_err());
    assert_eq!(
        sequences_of(&t, "f@example.jp").await,
        ["consultation_invite", "document_followup"]
    );
    assert!(!t
        .lead("f@example.jp")
        .await
        .triggers
        .contains_key("pricing_interest"));
    // The retry fires the same firing (number 1): the enrollment exists, the alert goes once.
    let r = rescore_with(&flaky.scoring(), &lead.id, rebuild)
        .await
        .unwrap()
        .unwrap();
    assert!(
        r.enrolled.is_empty(),
        "already enrolled by the first attempt"
    );
    t.app.pump().await.unwrap();
    t.app.pump().await.unwrap();
    assert_eq!(trigger_alerts(&t, "pricing_interest").len(), 1);
    assert_eq!(
        t.lead("f@example.jp").await.triggers["pricing_interest"].fired,
        1
    );
}

#[tokio::test]
async fn an_abandoned_application_gets_one_follow_up_an_hour_later_from_the_scheduler() {
    let t = TestApp::new();
    known_lead(&t, "a@example.jp").await;
    // Let the day-0 thank-you go, so the cap does not hold the follow-up.
    t.run_until(t.now() + Duration::hours(25), Duration::hours(1))
        .await;
    beacon(
        &t,
        json!([{ "id": "fs1", "type": "form_start", "form_id": "consultation", "url": "https://example.jp/apply.html", "at": t.now() }]),
    )
    .await;
    let due = t.now() + Duration::hours(1);
    assert_eq!(t.lead("a@example.jp").await.recheck_at, Some(due));
    let reports = t
        .run_until(due + Duration::minutes(30), Duration::minutes(5))
        .await;
    let fired: u32 = reports.iter().map(|r| r.rechecks.triggers_fired).sum();
    assert_eq!(fired, 1);
    let follow_ups: Vec<_> = reports
        .iter()
        .flat_map(|r| &r.steps.sent)
        .filter(|m| m.sequence_id == "application_followup")
        .collect();
    assert_eq!(follow_ups.len(), 1, "sent in the run that found it due");
    assert!(follow_ups[0].at >= due && follow_ups[0].at < due + Duration::minutes(5));
    // Starting the form again later: no second follow-up, ever.
    t.clock.advance(Duration::days(2));
    beacon(
        &t,
        json!([{ "id": "fs2", "type": "form_start", "form_id": "consultation", "url": "https://example.jp/apply.html", "at": t.now() }]),
    )
    .await;
    let reports = t
        .run_until(t.now() + Duration::hours(3), Duration::minutes(15))
        .await;
    assert_eq!(
        reports
            .iter()
            .map(|r| r.rechecks.triggers_fired)
            .sum::<u32>(),
        0
    );
    assert_eq!(
        t.lead("a@example.jp").await.triggers["application_abandoned"].fired,
        1
    );
}

#[tokio::test]
async fn a_submitted_application_gets_no_follow_up() {
    let t = TestApp::new();
    known_lead(&t, "s@example.jp").await;
    beacon(
        &t,
        json!([{ "id": "fs1", "type": "form_start", "form_id": "consultation", "url": "https://example.jp/apply.html", "at": t.now() }]),
    )
    .await;
    t.clock.advance(Duration::minutes(20));
    let mut f = lead_fields("s@example.jp", "Asia/Tokyo");
    f.push(("visitor_id", VISITOR));
    t.submit("consultation", &f).await;
    let reports = t
        .run_until(t.now() + Duration::hours(2), Duration::minutes(10))
        .await;
    assert_eq!(
        reports
            .iter()
            .map(|r| r.rechecks.triggers_fired)
            .sum::<u32>(),
        0
    );
    assert!(!sequences_of(&t, "s@example.jp")
        .await
        .contains(&"application_followup".to_owned()));
    assert_eq!(t.lead("s@example.jp").await.recheck_at, None);
}

#[tokio::test]
async fn the_cancellation_page_alerts_support_once_per_cooldown() {
    let t = TestApp::with_config(
        config_with(|s| s.replace("cooldown = \"30d\"", "cooldown = \"14d\"")),
        monday_10_jst(),
    );
    known_lead(&t, "c@example.jp").await;
    visit(&t, "c1", "/cancel.html").await;
    t.clock.advance(Duration::days(3));
    visit(&t, "c2", "/cancel.html").await;
    let alerts = trigger_alerts(&t, "cancellation_risk");
    assert_eq!(alerts.len(), 1, "the second view is within the cooldown");
    assert_eq!(alerts[0].audience, Audience::Support);
    assert_eq!(
        sequences_of(&t, "c@example.jp").await,
        ["document_followup"],
        "an alert only: no mail"
    );
    // After the cooldown, a new view alerts again (the second firing).
    t.clock.advance(Duration::days(12));
    visit(&t, "c3", "/cancel.html").await;
    let alerts = trigger_alerts(&t, "cancellation_risk");
    assert_eq!(alerts.len(), 2);
    assert!(alerts[1].key.ends_with("/cancellation_risk/2"));
}
