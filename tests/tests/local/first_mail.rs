//! The first mail in seconds: a step due as its lead is enrolled (the whitepaper's day-0 mail)
//! is announced (`sequence.step_due.v1`) and sent by the bus's consumer at once, not at the next
//! scheduled run; in quiet hours it still waits; and the immediate path and a scheduled run never
//! both send it, in either order or at once.

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use kindling::sequences::EnrollmentStatus;
use kindling_tests::harness::{lead_fields, TestApp};

const TOKYO: &str = "Asia/Tokyo";

/// A whitepaper form posted without delivering what it published.
async fn post_only(t: &TestApp, email: &str) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(lead_fields(email, TOKYO))
        .finish();
    let req = http::Request::builder()
        .method("POST")
        .uri("/forms/whitepaper")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap();
    assert_eq!(t.app.http(req).await.status(), 303);
}

#[tokio::test]
async fn the_day0_mail_goes_out_with_the_form_not_at_the_next_run() {
    let t = TestApp::new().sending_at_once();
    let res = t
        .submit("whitepaper", &lead_fields("first@example.jp", TOKYO))
        .await;
    assert_eq!(res.status(), 303);
    // No scheduled run yet: the request's events alone sent it.
    let sends = t.sends("first@example.jp").await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(t.outbox().len(), 1);
    let e = &t.enrollments("first@example.jp").await[0];
    assert_eq!(e.next_step, 1, "moved on to the next step");
    // The next run finds nothing due for it.
    let report = t.tick().await;
    assert!(report.steps.sent.is_empty(), "{report:?}");
    assert_eq!(t.outbox().len(), 1);
}

#[tokio::test]
async fn in_quiet_hours_the_first_mail_waits_for_the_morning() {
    // 23:30 in Tokyo: inside the shipped quiet hours (22:00-09:00).
    let late = Utc.with_ymd_and_hms(2026, 11, 2, 14, 30, 0).unwrap();
    let t = TestApp::with_config(kindling_tests::harness::shipped_config(), late).sending_at_once();
    t.submit("whitepaper", &lead_fields("late@example.jp", TOKYO))
        .await;
    assert!(t.sends("late@example.jp").await.is_empty());
    assert!(t.outbox().is_empty());
    let e = &t.enrollments("late@example.jp").await[0];
    assert_eq!(e.status, EnrollmentStatus::Active);
    assert!(e.next_due_at.unwrap() >= late + Duration::hours(9));
    // The morning's run sends it.
    t.run_until(late + Duration::hours(11), Duration::minutes(30))
        .await;
    assert_eq!(t.sends("late@example.jp").await.len(), 1);
}

#[tokio::test]
async fn a_scheduled_run_first_then_the_announcement_sends_once() {
    let t = TestApp::new().sending_at_once();
    post_only(&t, "run-first@example.jp").await;
    assert_eq!(t.app.tick().await.unwrap().steps.sent.len(), 1);
    // `tick` also delivered the announcement: it found the step sent and sent nothing.
    t.app.pump().await.unwrap();
    assert_eq!(t.sends("run-first@example.jp").await.len(), 1);
    assert_eq!(t.outbox().len(), 1);
}

#[tokio::test]
async fn the_announcement_first_then_a_scheduled_run_sends_once() {
    let t = TestApp::new().sending_at_once();
    post_only(&t, "event-first@example.jp").await;
    t.app.pump().await.unwrap();
    assert_eq!(t.outbox().len(), 1);
    assert!(t.app.tick().await.unwrap().steps.sent.is_empty());
    assert_eq!(t.sends("event-first@example.jp").await.len(), 1);
    assert_eq!(t.outbox().len(), 1);
}

#[tokio::test]
async fn the_announcement_and_a_scheduled_run_at_once_send_once() {
    for n in 0..5 {
        let t = TestApp::new().sending_at_once();
        let email = format!("race{n}@example.jp");
        post_only(&t, &email).await;
        let k = &t.app.kindling;
        let due = kindling::sequences::events::StepDue {
            lead_id: t.lead(&email).await.id,
            enrollment_id: t.enrollments(&email).await[0].id.clone(),
            sequence_id: "document_followup".into(),
            step: 0,
            due_at: t.now(),
        };
        let mailer = t.app.mailer.clone();
        let (a, b) = (k.sequences(), k.sequences());
        let (now, run) = tokio::join!(
            kindling::sequences::send_step_now(&a, mailer.as_ref(), &due),
            kindling::sequences::send_due_steps(&b, mailer.as_ref(), 10),
        );
        let sent = now.unwrap().sent.len() + run.unwrap().sent.len();
        assert_eq!(sent, 1, "{email}");
        t.app.pump().await.unwrap();
        assert_eq!(t.sends(&email).await.len(), 1);
        assert_eq!(t.outbox().len(), 1, "{email}");
    }
}
