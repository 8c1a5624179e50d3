//! The bounce/complaint circuit breaker on the embedded pipeline: real sends through the sender,
//! SES-shaped feedback through the feedback use case, the ops alert through the bus and the
//! notifier, and the resume through the admin route.

use bytes::Bytes;
use chrono::Duration;
use kindling::alerts::ops::notify_sending_paused;
use kindling::alerts::NotifyOutcome;
use kindling::deliverability::events::SendingPaused;
use kindling::deliverability::{apply_feedback, sending_status, Feedback};
use kindling::sequences::EnrollmentStatus;
use kindling_tests::harness::{
    config_with, lead_fields, monday_10_jst, FailFirst, FlakyBus, TestApp,
};
use serde_json::json;
use std::sync::Arc;

const TOKEN: &str = "breaker-admin-token";
const SHIPPED: &str =
    r#"breaker = { bounce_rate = "2%", complaint_rate = "0.08%", window = "7d", min_sends = 500 }"#;

/// The shipped program with the breaker judging from 100 sends, and no triggers.
fn config(min_sends: u32) -> kindling::config::Config {
    let mut c = config_with(|t| {
        assert!(t.contains(SHIPPED));
        t.replacen(
            SHIPPED,
            &format!("breaker = {{ min_sends = {min_sends} }}"),
            1,
        )
    });
    c.triggers.clear();
    c
}

fn app(min_sends: u32) -> TestApp {
    let mut t = TestApp::with_config(config(min_sends), monday_10_jst());
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    t
}

fn email(i: usize) -> String {
    format!("lead{i:03}@example.jp")
}

/// Leads `range` download the white paper, a minute apart (the local per-address rate limit).
async fn download(t: &TestApp, range: std::ops::Range<usize>) {
    for i in range {
        let res = t
            .submit("whitepaper", &lead_fields(&email(i), "Asia/Tokyo"))
            .await;
        assert_eq!(res.status(), 303);
        t.clock.advance(Duration::minutes(1));
    }
}

/// Runs the sender until a run sends nothing; how many went.
async fn send_all(t: &TestApp) -> usize {
    let mut n = 0;
    loop {
        let report = t.tick().await;
        assert_eq!(report.steps.paused, None);
        if report.steps.sent.is_empty() {
            return n;
        }
        n += report.steps.sent.len();
    }
}

/// SES feedback as the feedback function parses it.
fn feedback(kind: &str, id: &str, to: &str, at: chrono::DateTime<chrono::Utc>) -> Feedback {
    let detail = match kind {
        "complaint" => json!({ "eventType": "Complaint", "mail": { "messageId": "m" },
            "complaint": { "feedbackId": id, "complainedRecipients": [{ "emailAddress": to }], "timestamp": at } }),
        bounce_type => json!({ "eventType": "Bounce", "mail": { "messageId": "m" },
            "bounce": { "feedbackId": id, "bounceType": bounce_type, "bouncedRecipients": [{ "emailAddress": to }], "timestamp": at } }),
    };
    Feedback::from_ses_detail(&detail).unwrap().unwrap()
}

async fn admin(t: &TestApp, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap();
    req.extensions_mut().insert(kindling::web::ClientInfo {
        ip: Some("192.0.2.10".into()),
        ..Default::default()
    });
    let res = t.app.http(req).await;
    let status = res.status().as_u16();
    let json = serde_json::from_slice(res.body()).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test]
async fn bounces_above_two_percent_pause_every_step_mail_and_alert_ops_once_a_day() {
    let t = app(100);
    let k = &t.app.kindling;
    download(&t, 0..100).await;
    assert_eq!(send_all(&t).await, 100);
    let status = sending_status(&k.deliverability()).await.unwrap();
    assert_eq!(
        (status.state.as_str(), status.health.sends),
        ("sending", 100)
    );

    // Two hard bounces are 2 %: not above. A redelivered report, a soft bounce: nothing more.
    let now = t.now();
    for fb in [
        feedback("Permanent", "fb-1", &email(1), now),
        feedback("Permanent", "fb-2", &email(2), now),
        feedback("Permanent", "fb-2", &email(2), now),
        feedback("Transient", "fb-3", &email(3), now),
    ] {
        apply_feedback(&k.deliverability(), &fb).await.unwrap();
    }
    let status = sending_status(&k.deliverability()).await.unwrap();
    assert_eq!((status.health.bounces, status.would_trip), (2, None));
    let report = t.tick().await;
    assert_eq!(report.steps.paused, None);
    assert!(t.notifier.ops.lock().unwrap().is_empty());

    // A third is 3 %: the next run trips the breaker and sends nothing.
    apply_feedback(
        &k.deliverability(),
        &feedback("Permanent", "fb-4", &email(4), t.now()),
    )
    .await
    .unwrap();
    download(&t, 100..101).await;
    let before = t.enrollments(&email(100)).await;
    let report = t.tick().await;
    assert_eq!(
        report.steps.paused.as_deref(),
        Some("bounce rate 3% (3 of 100 sends) is above 2%")
    );
    assert!(report.steps.sent.is_empty());
    assert_eq!(t.mailer.count(), 100);
    // The new lead's first step stays due, untouched.
    assert_eq!(t.enrollments(&email(100)).await, before);
    assert_eq!(before[0].status, EnrollmentStatus::Active);

    // Ops hears once: the event went over the bus to the notifier.
    let ops = t.notifier.ops.lock().unwrap().clone();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        ops[0].subject,
        "Kindling paused step mails: bounce or complaint rate too high"
    );
    assert!(
        ops[0].body.contains("bounce rate 3% (3 of 100 sends)"),
        "{}",
        ops[0].body
    );
    assert!(ops[0].body.contains("kindling sending resume"));
    assert!(ops[0]
        .body
        .contains("Limits: 2% bounces or 0.08% complaints over 7d"));
    assert!(
        t.notifier.alerts.lock().unwrap().is_empty(),
        "sales hears nothing"
    );

    // Later runs that day stay paused and quiet.
    for _ in 0..5 {
        t.clock.advance(Duration::minutes(7));
        assert!(t.tick().await.steps.paused.is_some());
    }
    assert_eq!(t.notifier.ops.lock().unwrap().len(), 1);
    // A day later, one reminder.
    t.clock
        .set(monday_10_jst() + Duration::days(1) + Duration::hours(2));
    assert!(t.tick().await.steps.paused.is_some());
    assert!(t.tick().await.steps.paused.is_some());
    let ops = t.notifier.ops.lock().unwrap().clone();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[1].subject, "Kindling step mails still paused (day 2)");

    // What the admin route says, then a resume with a note.
    let (code, status) = admin(&t, "GET", "/admin/sending", "").await;
    assert_eq!(code, 200);
    assert_eq!(status["state"], "paused");
    assert_eq!(status["paused"]["bounces"], 3);
    let (code, _) = admin(&t, "POST", "/admin/sending/resume", "{\"reason\": 1}").await;
    assert_eq!(code, 400, "a bad body writes nothing");
    assert_eq!(
        sending_status(&k.deliverability()).await.unwrap().state,
        "paused"
    );
    let (code, resumed) = admin(
        &t,
        "POST",
        "/admin/sending/resume",
        "{\"note\": \"removed the purchased list\"}",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(resumed["was_paused"]["sends"], 100);

    // The waiting mail goes; counting restarted at the next hour, so the old bounces are gone.
    let report = t.tick().await;
    assert_eq!(report.steps.paused, None);
    assert_eq!(report.steps.sent.len(), 1);
    assert_eq!(report.steps.sent[0].to.as_str(), email(100));
    let status = sending_status(&k.deliverability()).await.unwrap();
    assert_eq!(status.state, "sending");
    assert_eq!((status.health.sends, status.health.bounces), (0, 0));
    assert_eq!(
        status.resumed.unwrap().note.as_deref(),
        Some("removed the purchased list")
    );

    // A reminder for the resumed trip that arrives late alerts nobody.
    let trip = resumed["was_paused"]["at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let late = SendingPaused {
        key: "late".into(),
        tripped_at: trip,
        day: 2,
        reason: "x".into(),
        sends: 100,
        bounces: 3,
        complaints: 0,
        at: t.now(),
    };
    let outcome = notify_sending_paused(&k.alerts(), t.notifier.as_ref(), &late)
        .await
        .unwrap();
    assert_eq!(outcome, NotifyOutcome::NotAlerting);
    assert_eq!(t.notifier.ops.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_complaint_rate_above_its_limit_pauses_too() {
    let t = app(100);
    let k = &t.app.kindling;
    download(&t, 0..100).await;
    assert_eq!(send_all(&t).await, 100);
    // One complaint in 100 sends is 1 %, far above 0.08 %; the complainer is unsubscribed too.
    apply_feedback(
        &k.deliverability(),
        &feedback("complaint", "c-1", &email(7), t.now()),
    )
    .await
    .unwrap();
    let report = t.tick().await;
    assert_eq!(
        report.steps.paused.as_deref(),
        Some("complaint rate 1% (1 of 100 sends) is above 0.08%")
    );
    assert!(t.lead(&email(7)).await.unsubscribed_at.is_some());
}

#[tokio::test]
async fn below_the_minimum_volume_nothing_pauses() {
    let t = app(100);
    let k = &t.app.kindling;
    download(&t, 0..10).await;
    assert_eq!(send_all(&t).await, 10);
    // Half of ten bounced: a rate, but from too few sends to judge.
    for i in 0..5 {
        let fb = feedback("Permanent", &format!("fb-{i}"), &email(i), t.now());
        apply_feedback(&k.deliverability(), &fb).await.unwrap();
    }
    assert_eq!(
        sending_status(&k.deliverability())
            .await
            .unwrap()
            .health
            .bounces,
        5
    );
    download(&t, 10..11).await;
    let report = t.tick().await;
    assert_eq!((report.steps.paused, report.steps.sent.len()), (None, 1));
    assert!(t.notifier.ops.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_lost_publish_or_a_failed_alert_is_retried_and_ops_hears_once() {
    let t = app(100);
    download(&t, 0..100).await;
    assert_eq!(send_all(&t).await, 100);
    for i in 0..3 {
        let fb = feedback("Permanent", &format!("fb-{i}"), &email(i), t.now());
        apply_feedback(&t.app.kindling.deliverability(), &fb)
            .await
            .unwrap();
    }
    // The bus fails the first publish: sending pauses anyway, and the next run publishes.
    let mut app = t.app.clone();
    app.kindling.bus = Arc::new(FlakyBus {
        inner: t.app.kindling.bus.clone(),
        failures: FailFirst::new(1),
    });
    let report = app.tick().await.unwrap();
    assert!(report.steps.paused.is_some());
    assert!(t.notifier.ops.lock().unwrap().is_empty());
    // Now the notifier fails once: the event stays on the bus and is delivered again.
    *t.notifier.failures.lock().unwrap() = FailFirst::new(1);
    t.clock.advance(Duration::minutes(1));
    assert!(app.tick().await.unwrap().steps.paused.is_some());
    assert!(t.notifier.ops.lock().unwrap().is_empty());
    for _ in 0..10 {
        t.clock.advance(Duration::minutes(1));
        assert!(app.tick().await.unwrap().steps.paused.is_some());
    }
    assert_eq!(t.notifier.ops.lock().unwrap().len(), 1);
}
