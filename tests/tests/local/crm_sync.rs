//! The CRM sync against a real HTTP server on loopback that plays the CRM (an upsert by email):
//! what goes out, signed by the Standard Webhooks scheme (checked with an independent
//! implementation), once per change however often it is delivered, nothing lost while the
//! receiver is down; and what comes back in through `POST /hooks/crm/{source}`.

use chrono::Duration;
use kindling::admin::interface::{Admin, ReplaySync};
use kindling::admin::InProcess;
use kindling::crm::events::CrmUpsert;
use kindling_tests::harness::{
    config_with, lead_fields, shipped_config, FakeCrm, Secret, TestApp, CRM_SECRET,
};

const EMAIL: &str = "lead@example.co.jp";

/// Makes the lead hot (seminar 20 + consultation 30): created, updated, hot, handed to sales.
async fn hot_lead(t: &TestApp) {
    for form in ["seminar", "consultation"] {
        let res = t.submit(form, &lead_fields(EMAIL, "Asia/Tokyo")).await;
        assert_eq!(res.status(), 303);
        t.clock.advance(Duration::minutes(1));
    }
    t.tick().await;
}

/// Checks every delivery with the `standardwebhooks` crate (not Kindling's code): its
/// signature is the one of its id, timestamp and body under the secret.
fn assert_signed(crm: &FakeCrm) {
    let wh = standardwebhooks::Webhook::new(CRM_SECRET).unwrap();
    for d in crm.deliveries() {
        let expected = wh
            .sign(&d.id, d.timestamp.parse().unwrap(), &d.body)
            .unwrap();
        assert!(
            d.signature.split(' ').any(|s| s == expected),
            "{} signed {}, expected {expected}",
            d.id,
            d.signature
        );
        assert!(d.verified);
    }
}

fn upserts(crm: &FakeCrm) -> Vec<CrmUpsert> {
    crm.deliveries()
        .iter()
        .map(|d| serde_json::from_slice(&d.body).unwrap())
        .collect()
}

#[tokio::test]
async fn each_change_reaches_the_crm_once_signed_as_one_contact() {
    let (t, crm) =
        TestApp::with_crm(shipped_config(), kindling_tests::harness::monday_10_jst()).await;
    hot_lead(&t).await;
    assert_signed(&crm);
    let sent = upserts(&crm);
    let changes: Vec<_> = sent.iter().flat_map(|u| u.changes.clone()).collect();
    use kindling::crm::events::Change::*;
    for c in [Created, Updated, Hot, Owner] {
        assert!(changes.contains(&c), "{c:?} in {changes:?}");
    }
    let ids: std::collections::BTreeSet<_> = sent.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids.len(), sent.len(), "one message per change");
    assert_eq!(crm.contacts(), 1);
    let contact = crm.contact(EMAIL).unwrap();
    assert_eq!(contact["temperature"], "hot");
    assert!(contact["owner"].is_string(), "{contact}");
    assert!(contact["owner_email"].as_str().unwrap().contains('@'));
    let status = InProcess::new(&t.app.kindling).sync_status().await.unwrap();
    assert_eq!(status.backlog, Some(0));
    assert_eq!(status.delivered, Some(sent.len() as u64));
    assert_eq!(status.last_success_at, Some(t.now() - Duration::minutes(1)));
    assert_eq!((status.dead, status.failures.len()), (0, 0));
    assert_eq!(status.target, crm.url);
}

#[tokio::test]
async fn redelivery_and_a_crash_between_send_and_record_make_no_second_record() {
    let (t, crm) =
        TestApp::with_crm(shipped_config(), kindling_tests::harness::monday_10_jst()).await;
    hot_lead(&t).await;
    let before = crm.deliveries().len();
    let last = upserts(&crm).pop().unwrap();
    // The bus delivers an upsert again (at least once).
    let again = kindling::app::Event::CrmUpsert(Box::new(last.clone())).envelope();
    use kindling::events::EventBus;
    t.app
        .bus
        .publish(std::slice::from_ref(&again))
        .await
        .unwrap();
    t.app.pump().await.unwrap();
    // It crashes after the receiver's 2xx, before recording it: the record fails.
    t.app
        .store
        .db()
        .conn()
        .execute_batch("ALTER TABLE crm_synced RENAME TO crm_synced_away")
        .unwrap();
    t.app
        .bus
        .publish(std::slice::from_ref(&again))
        .await
        .unwrap();
    let d = t.app.pump().await.unwrap();
    assert_eq!((d.delivered, d.retried), (0, 1));
    t.app
        .store
        .db()
        .conn()
        .execute_batch("ALTER TABLE crm_synced_away RENAME TO crm_synced")
        .unwrap();
    t.clock.advance(Duration::seconds(5));
    let d = t.app.pump().await.unwrap();
    assert_eq!(d.delivered, 1);
    let deliveries = crm.deliveries();
    assert_eq!(deliveries.len(), before + 3);
    assert!(deliveries[before..].iter().all(|x| x.id == last.id));
    assert_eq!(crm.contacts(), 1, "one record however often delivered");
    assert_signed(&crm);
}

#[tokio::test]
async fn a_receiver_down_for_an_hour_loses_nothing() {
    let (t, crm) =
        TestApp::with_crm(shipped_config(), kindling_tests::harness::monday_10_jst()).await;
    crm.stop().await;
    hot_lead(&t).await;
    let admin = InProcess::new(&t.app.kindling);
    let down = admin.sync_status().await.unwrap();
    let waiting = down.backlog.unwrap();
    assert!(waiting >= 4, "{down:?}");
    assert_eq!(down.delivered, Some(0));
    assert!(
        down.failures
            .iter()
            .all(|f| !f.dead && f.error.contains("did not complete")),
        "{down:?}"
    );
    // An hour of the schedule every minute while it is down.
    let back = t.now() + Duration::hours(1);
    t.run_until(back, Duration::minutes(1)).await;
    assert!(crm.deliveries().is_empty());
    crm.restart().await.unwrap();
    // The longest backoff is 15 minutes.
    t.run_until(back + Duration::minutes(16), Duration::minutes(1))
        .await;
    let up = admin.sync_status().await.unwrap();
    assert_eq!(up.backlog, Some(0), "{up:?}");
    assert_eq!(
        (up.dead, up.delivered),
        (0, Some(crm.deliveries().len() as u64))
    );
    assert!(crm.deliveries().len() as u64 >= waiting);
    assert_eq!(crm.contacts(), 1);
    // The contact is the lead as it is now, whatever order the retries came in.
    let lead = t.lead(EMAIL).await;
    let contact = crm.contact(EMAIL).unwrap();
    assert_eq!(contact["temperature"], "hot");
    assert_eq!(contact["score"], lead.score.total);
    assert_signed(&crm);
}

#[tokio::test]
async fn a_refused_upsert_is_dead_at_once_and_replayed_by_id() {
    let (t, crm) =
        TestApp::with_crm(shipped_config(), kindling_tests::harness::monday_10_jst()).await;
    crm.answer(Some(422));
    let res = t.submit("seminar", &lead_fields(EMAIL, "Asia/Tokyo")).await;
    assert_eq!(res.status(), 303);
    let admin = InProcess::new(&t.app.kindling);
    let s = admin.sync_status().await.unwrap();
    let dead = s.dead;
    assert!(
        dead >= 2 && s.backlog == Some(0),
        "created and its stage: {s:?}"
    );
    let first = s.failures.last().unwrap().clone();
    assert!(first.dead && first.error.contains("422"), "{first:?}");
    assert_eq!(crm.contacts(), 0);
    // Bad requests change nothing.
    let none = admin.replay_sync(&ReplaySync::default()).await.unwrap_err();
    assert!(matches!(none, kindling::Error::Invalid(_)), "{none}");
    let unknown = ReplaySync {
        id: Some("crm_nope".into()),
        dead: false,
    };
    let unknown = admin.replay_sync(&unknown).await.unwrap_err();
    assert!(matches!(unknown, kindling::Error::NotFound(_)), "{unknown}");
    crm.answer(None);
    let one = ReplaySync {
        id: Some(first.id.clone()),
        dead: false,
    };
    let r = admin.replay_sync(&one).await.unwrap();
    assert_eq!(r.replayed, std::slice::from_ref(&first.id));
    t.app.pump().await.unwrap();
    assert_eq!(crm.contacts(), 1);
    let s = admin.sync_status().await.unwrap();
    assert_eq!((s.dead, s.delivered), (dead - 1, Some(1)));
    let all = ReplaySync {
        id: None,
        dead: true,
    };
    assert_eq!(
        admin.replay_sync(&all).await.unwrap().replayed.len() as u64,
        dead - 1
    );
    t.app.pump().await.unwrap();
    let s = admin.sync_status().await.unwrap();
    assert_eq!((s.dead, s.delivered), (0, Some(dead)));
    assert!(admin.replay_sync(&all).await.unwrap().replayed.is_empty());
}

/// A hook from the CRM, signed with `secret` at `at` (seconds) under `id`.
fn hook(id: &str, at: i64, body: &str, secret: &Secret) -> http::Request<bytes::Bytes> {
    let when = chrono::DateTime::from_timestamp(at, 0).unwrap();
    let mut req = http::Request::post("/hooks/crm/salesforce")
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", at.to_string())
        .header("webhook-signature", secret.sign(id, when, body.as_bytes()))
        .body(bytes::Bytes::from(body.to_owned()))
        .unwrap();
    req.extensions_mut()
        .insert(kindling::web::ClientInfo::default());
    req
}

async fn call(t: &TestApp, req: http::Request<bytes::Bytes>) -> (u16, serde_json::Value) {
    let res = t.app.http(req).await;
    t.app.pump().await.unwrap();
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(res.body()).unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_crm_hook_sets_status_owner_amount_and_bant_once() {
    let config = config_with(|toml| {
        format!(
            "{toml}\n[[scoring.fit]]\nid = \"budget_confirmed\"\nfield = \"budget\"\nany_of = [\"confirmed\"]\npoints = 15\n\n[[segments]]\nid = \"budget_confirmed\"\nwhen = {{ budget = {{ any_of = [\"confirmed\"] }} }}\n"
        )
    });
    let (t, _crm) = TestApp::with_crm(config, kindling_tests::harness::monday_10_jst()).await;
    hot_lead(&t).await;
    let before = t.lead(EMAIL).await;
    let secret = Secret::parse(CRM_SECRET).unwrap();
    let now = t.now().timestamp();
    let body = format!(
        r#"{{"email":"{EMAIL}","status":"opportunity","amount":1500000,"owner":"mori","bant":{{"budget":"confirmed","authority":"decision_maker","need":"SFA","timeline":"this_quarter"}}}}"#
    );
    let rows = t.counts();
    // Tampered, stale, unsigned, from an unknown source: 401 or 404, nothing written.
    let mut tampered = hook("h1", now, &body, &secret);
    *tampered.body_mut() = bytes::Bytes::from(body.replace("1500000", "9900000"));
    assert_eq!(call(&t, tampered).await.0, 401);
    assert_eq!(call(&t, hook("h1", now - 301, &body, &secret)).await.0, 401);
    let forged = Secret::from_bytes(&[9; 32]);
    assert_eq!(call(&t, hook("h1", now, &body, &forged)).await.0, 401);
    let mut elsewhere = hook("h1", now, &body, &secret);
    *elsewhere.uri_mut() = "/hooks/crm/hubspot".parse().unwrap();
    assert_eq!(call(&t, elsewhere).await.0, 404);
    let malformed = r#"{"email":"lead@example.co.jp","status":"maybe"}"#;
    assert_eq!(call(&t, hook("h0", now, malformed, &secret)).await.0, 400);
    let nobody = r#"{"email":"nobody@example.co.jp","status":"working"}"#;
    assert_eq!(call(&t, hook("h0", now, nobody, &secret)).await.0, 404);
    assert_eq!(t.counts(), rows);
    assert_eq!(t.lead(EMAIL).await, before);
    // The real one.
    let (status, answer) = call(&t, hook("h1", now, &body, &secret)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["duplicate"].as_bool(), answer["changed"].as_bool()),
        (Some(false), Some(true))
    );
    let lead = t.lead(EMAIL).await;
    let sales = lead.sales.clone().unwrap();
    assert_eq!(sales.status, kindling::leads::SalesStatus::Opportunity);
    assert_eq!(sales.amount.unwrap().hundredths, 150_000_000);
    assert_eq!(lead.owner.as_ref().unwrap().rep, "mori");
    assert_eq!(lead.owner.as_ref().unwrap().rule, "crm:salesforce");
    assert_eq!(lead.bant.budget.as_deref(), Some("confirmed"));
    // BANT feeds fit and segments; the mark closes the hand-off.
    assert_eq!(lead.score.total, before.score.total + 15);
    assert!(lead
        .segments
        .keys()
        .any(|s| s.as_str() == "budget_confirmed"));
    assert!(!lead.handoff.as_ref().unwrap().is_open());
    // A later hook wins; replaying the first (same id, within the window) changes nothing.
    let won = format!(r#"{{"email":"{EMAIL}","status":"won","amount":"1400000.50"}}"#);
    assert_eq!(call(&t, hook("h2", now, &won, &secret)).await.0, 200);
    let (status, answer) = call(&t, hook("h1", now + 60, &body, &secret)).await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)));
    let after = t.lead(EMAIL).await;
    assert_eq!(
        after.sales.unwrap().status,
        kindling::leads::SalesStatus::Won
    );
    // lead show prints BANT.
    let report = InProcess::new(&t.app.kindling).lead(EMAIL).await.unwrap();
    let text = kindling_local::inspect::lead_text(&report, chrono_tz::Asia::Tokyo);
    assert!(
        text.contains("confirmed") && text.contains("this_quarter"),
        "{text}"
    );
}
