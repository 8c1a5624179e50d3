//! Exactly-once effects under at-least-once delivery: duplicate beacons and submissions, hot
//! events delivered twice, a notifier outage, a bus that fails after the store wrote, a store
//! error mid-way through a submission, and the dead-letter path.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Duration;
use kindling::activities::ports::ActivityLog;
use kindling::activities::Activity;
use kindling::app::events::Event;
use kindling::app::handle_event;
use kindling::error::PortError;
use kindling::ids::{LeadId, VisitorId};
use kindling::leads::Temperature;
use kindling::ports::{PortResult, Put};
use kindling::scoring::events::LeadBecameHot;
use kindling_local::store::SqliteStore;
use kindling_local::LocalApp;
use kindling_tests::harness::{lead_fields, FailFirst, FlakyBus, TestApp};
use serde_json::json;
use std::sync::Arc;

fn beacon_body(t: &TestApp, id: &str) -> String {
    json!({ "visitor_id": "v-dup-0001", "events": [{ "id": id, "type": "page_view", "url": "https://example.jp/pricing", "at": t.now() }] }).to_string()
}

async fn send(
    app: &LocalApp,
    method: &str,
    uri: &str,
    ct: &str,
    body: impl Into<Bytes>,
) -> http::Response<Bytes> {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", ct)
        .body(body.into())
        .unwrap();
    let res = app.http(req).await;
    app.pump().await.unwrap();
    res
}

#[tokio::test]
async fn a_beacon_delivered_twice_scores_once() {
    let t = TestApp::new();
    let mut f = lead_fields("dup@example.jp", "Asia/Tokyo");
    f.push(("visitor_id", "v-dup-0001"));
    t.submit("whitepaper", &f).await;
    for _ in 0..3 {
        assert_eq!(
            t.request(
                "POST",
                "/t/events",
                Some("text/plain"),
                beacon_body(&t, "same-event")
            )
            .await
            .status(),
            202
        );
    }
    let l = t.lead("dup@example.jp").await;
    assert_eq!(l.score.total, 10 + 15);
    assert_eq!(t.activities("dup@example.jp").await.len(), 2);
}

#[tokio::test]
async fn a_form_submitted_twice_with_one_submission_id_counts_once() {
    let t = TestApp::new();
    let mut f = lead_fields("dup@example.jp", "Asia/Tokyo");
    f.push(("submission_id", "sub-123"));
    t.submit("whitepaper", &f).await;
    t.clock.advance(Duration::minutes(3));
    t.submit("whitepaper", &f).await;
    let l = t.lead("dup@example.jp").await;
    assert_eq!(l.score.total, 10);
    assert_eq!(t.activities("dup@example.jp").await.len(), 1);
}

#[tokio::test]
async fn a_hot_event_delivered_twice_alerts_sales_once() {
    let t = TestApp::new();
    t.submit("consultation", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await;
    t.submit("seminar", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await;
    let l = t.lead("hot@example.jp").await;
    assert_eq!(
        (l.score.temperature, l.score.hot_crossings),
        (Temperature::Hot, 1)
    );
    assert_eq!(t.notifier.alerts.lock().unwrap().len(), 1);
    let again = Event::LeadBecameHot(LeadBecameHot {
        lead_id: l.id.clone(),
        crossing: 1,
        score: 50,
        previous: Temperature::Warm,
        at: t.now(),
        alert: true,
        owner: None,
        handoff: None,
    });
    for _ in 0..2 {
        handle_event(&t.app.kindling, t.notifier.as_ref(), &again)
            .await
            .unwrap();
    }
    assert_eq!(t.notifier.alerts.lock().unwrap().len(), 1);
    // Rescoring an unchanged log changes nothing and publishes nothing.
    let pending = t.app.bus.pending().unwrap();
    kindling::scoring::rescore_lead(&t.app.kindling.scoring(), &l.id)
        .await
        .unwrap();
    assert_eq!(t.app.bus.pending().unwrap(), pending);
}

#[tokio::test]
async fn a_notifier_outage_delays_the_alert_but_does_not_lose_or_double_it() {
    let t = TestApp::new();
    *t.notifier.failures.lock().unwrap() = FailFirst::new(2);
    t.submit("consultation", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await;
    t.submit("seminar", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await;
    assert!(t.notifier.alerts.lock().unwrap().is_empty());
    assert_eq!(
        t.app.bus.pending().unwrap(),
        1,
        "the hot event waits for a retry"
    );
    for _ in 0..3 {
        t.clock.advance(Duration::seconds(10));
        t.app.pump().await.unwrap();
    }
    assert_eq!(t.notifier.alerts.lock().unwrap().len(), 1);
    assert_eq!(t.app.bus.pending().unwrap(), 0);
    assert_eq!(t.app.bus.dead_letters().unwrap(), 0);
}

#[tokio::test]
async fn an_activity_stored_but_not_published_scores_when_the_client_retries() {
    let t = TestApp::new();
    let mut f = lead_fields("flaky@example.jp", "Asia/Tokyo");
    f.push(("visitor_id", "v-dup-0001"));
    t.submit("whitepaper", &f).await;
    let mut app = t.app.clone();
    app.kindling.bus = Arc::new(FlakyBus {
        inner: t.app.kindling.bus.clone(),
        failures: FailFirst::new(1),
    });
    let res = send(
        &app,
        "POST",
        "/t/events",
        "text/plain",
        beacon_body(&t, "ev-1"),
    )
    .await;
    assert_eq!(res.status(), 503);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(res.body()).unwrap()["error"],
        "unavailable"
    );
    assert_eq!(
        t.lead("flaky@example.jp").await.score.total,
        10,
        "stored, not yet scored"
    );
    let res = send(
        &app,
        "POST",
        "/t/events",
        "text/plain",
        beacon_body(&t, "ev-1"),
    )
    .await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        t.lead("flaky@example.jp").await.score.total,
        25,
        "scored exactly once"
    );
}

/// An activity log that fails once, mid-way through a form submission.
struct FailingLog {
    inner: Arc<SqliteStore>,
    failures: FailFirst,
}

#[async_trait]
impl ActivityLog for FailingLog {
    async fn record(&self, a: &Activity) -> PortResult<Put> {
        if self.failures.fires() {
            return Err(PortError::new("sqlite", "database is locked"));
        }
        self.inner.record(a).await
    }
    async fn activities_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Activity>> {
        self.inner.activities_of_lead(lead).await
    }
    async fn activities_of_visitor(&self, v: &VisitorId) -> PortResult<Vec<Activity>> {
        self.inner.activities_of_visitor(v).await
    }
}

#[tokio::test]
async fn a_store_error_mid_submission_is_a_503_and_the_retry_converges() {
    let t = TestApp::new();
    let mut app = t.app.clone();
    app.kindling.stores.activities = Arc::new(FailingLog {
        inner: t.app.store.clone(),
        failures: FailFirst::new(1),
    });
    let body = "email=mid%40example.jp&consent=on&submission_id=s-1&time_zone=Asia%2FTokyo";
    let res = send(
        &app,
        "POST",
        "/forms/whitepaper",
        "application/x-www-form-urlencoded",
        body,
    )
    .await;
    assert_eq!(res.status(), 503);
    let res = send(
        &app,
        "POST",
        "/forms/whitepaper",
        "application/x-www-form-urlencoded",
        body,
    )
    .await;
    assert_eq!(res.status(), 303);
    let l = t.lead("mid@example.jp").await;
    assert_eq!(l.score.total, 10);
    assert_eq!(t.enrollments("mid@example.jp").await.len(), 1);
    assert_eq!(t.activities("mid@example.jp").await.len(), 1);
    t.tick().await;
    assert_eq!(t.mailer.count(), 1);
}

#[tokio::test]
async fn events_that_can_never_succeed_are_dead_lettered_and_failing_ones_give_up_after_24_hours() {
    let t = TestApp::new();
    // A hot event for a lead that does not exist is handled (nothing to alert) and dropped.
    let ghost = Event::LeadBecameHot(LeadBecameHot {
        lead_id: LeadId::new("ghost"),
        crossing: 1,
        score: 90,
        previous: Temperature::Warm,
        at: t.now(),
        alert: true,
        owner: None,
        handoff: None,
    });
    t.app
        .kindling
        .bus
        .publish(&[ghost.envelope()])
        .await
        .unwrap();
    let d = t.app.pump().await.unwrap();
    assert_eq!((d.delivered, d.dead_lettered), (1, 0));

    // A handler that keeps failing is retried with backoff until the event is 24 h old.
    t.app
        .kindling
        .bus
        .publish(&[Event::LeadBecameHot(LeadBecameHot {
            lead_id: LeadId::new("x"),
            crossing: 1,
            score: 1,
            previous: Temperature::Cold,
            at: t.now(),
            alert: true,
            owner: None,
            handoff: None,
        })
        .envelope()])
        .await
        .unwrap();
    let mut attempts = 0;
    for _ in 0..200 {
        let d = t
            .app
            .bus
            .dispatch(10, |_| async {
                Err(kindling::Error::Port(PortError::new("notifier", "down")))
            })
            .await
            .unwrap();
        attempts += d.retried + d.dead_lettered;
        if d.dead_lettered == 1 {
            break;
        }
        t.clock.advance(Duration::minutes(15));
    }
    assert_eq!(t.app.bus.dead_letters().unwrap(), 1);
    assert_eq!(t.app.bus.pending().unwrap(), 0);
    assert!(
        attempts > 10,
        "retried for a day, not given up early ({attempts})"
    );

    // A non-retryable failure is dead-lettered at once.
    t.app
        .kindling
        .bus
        .publish(&[Event::LeadBecameHot(LeadBecameHot {
            lead_id: LeadId::new("y"),
            crossing: 1,
            score: 1,
            previous: Temperature::Cold,
            at: t.now(),
            alert: true,
            owner: None,
            handoff: None,
        })
        .envelope()])
        .await
        .unwrap();
    let d = t
        .app
        .bus
        .dispatch(10, |_| async {
            Err(kindling::Error::Invalid("malformed".into()))
        })
        .await
        .unwrap();
    assert_eq!(d.dead_lettered, 1);
    assert_eq!(t.app.bus.dead_letters().unwrap(), 2);
}

#[tokio::test]
async fn a_beacon_with_several_events_records_them_all_and_scores_once_per_event() {
    let t = TestApp::new();
    let mut f = lead_fields("multi@example.jp", "Asia/Tokyo");
    f.push(("visitor_id", "v-dup-0001"));
    t.submit("whitepaper", &f).await;
    let events: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| json!({ "id": id, "type": "page_view", "url": "https://example.jp/pricing", "at": t.now() }))
        .collect();
    let body = json!({ "visitor_id": "v-dup-0001", "events": events }).to_string();
    let res = t
        .request("POST", "/t/events", Some("application/json"), body)
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(res.body()).unwrap()["accepted"],
        3
    );
    assert_eq!(t.activities("multi@example.jp").await.len(), 4);
    assert_eq!(t.lead("multi@example.jp").await.score.total, 10 + 3 * 15);
}
