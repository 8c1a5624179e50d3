//! Segment membership end to end on the local pipeline: entering in the rescore of the activity
//! that completes the condition, leaving when a window expires (the recheck), the index's exact
//! count, `entered_segment` triggers, the rebuild after a definition change, and the admin
//! routes.

use bytes::Bytes;
use chrono::Duration;
use kindling::ids::SegmentId;
use kindling_tests::harness::{config_with, lead_fields, monday_10_jst, TestApp};
use serde_json::Value;
use std::sync::Arc;

const SEED: &str = "manufacturing_managers_pricing";
const TOKEN: &str = "test-admin-token-0123456789";

/// Records every event published from now on (the bus deletes delivered ones).
fn watch_events(t: &TestApp) {
    t.app
        .store
        .db()
        .conn()
        .execute_batch(
            "CREATE TABLE seen (detail_type TEXT, detail TEXT);
             CREATE TRIGGER seen_events AFTER INSERT ON bus BEGIN
               INSERT INTO seen VALUES (NEW.detail_type, NEW.detail);
             END;",
        )
        .unwrap();
}

fn seen(t: &TestApp, detail_type: &str) -> Vec<Value> {
    let conn = t.app.store.db().conn();
    let mut stmt = conn
        .prepare("SELECT detail FROM seen WHERE detail_type = ?1")
        .unwrap();
    stmt.query_map([detail_type], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|d| serde_json::from_str(&d.unwrap()).unwrap())
        .collect()
}

/// A manufacturing 部長 who downloads the white paper (not yet in the seed segment).
async fn manager(t: &TestApp, email: &str, visitor: &str) {
    let mut fields = lead_fields(email, "Asia/Tokyo");
    fields.extend([
        ("visitor_id", visitor),
        ("industry", "製造業"),
        ("title", "製造本部 部長"),
    ]);
    assert_eq!(t.submit("whitepaper", &fields).await.status(), 303);
}

async fn pricing_view(t: &TestApp, visitor: &str, id: &str) {
    let beacon = serde_json::json!({ "visitor_id": visitor, "events": [{ "id": id, "type": "page_view", "url": "https://example.jp/pricing.html", "at": t.now() }] });
    let res = t
        .request("POST", "/t/events", Some("text/plain"), beacon.to_string())
        .await;
    assert_eq!(res.status(), 202);
}

async fn count(t: &TestApp, segment: &str) -> u64 {
    t.app
        .kindling
        .stores
        .segments
        .member_count(&SegmentId::from(segment))
        .await
        .unwrap()
}

/// The seed segment gains its member in the rescore of the third pricing view (not a cron
/// later), once; it loses it at the moment the first view leaves the 30-day window, through the
/// recheck index, with no new activity.
#[tokio::test]
async fn the_seed_segment_gains_its_member_with_the_third_pricing_view_and_loses_it_when_the_window_ends(
) {
    let t = TestApp::new();
    watch_events(&t);
    manager(&t, "bucho@seizo.example.jp", "v-visitor-seg-1").await;
    let first_view = t.now();
    for i in 0..3 {
        pricing_view(&t, "v-visitor-seg-1", &format!("pv-{i}")).await;
        let lead = t.lead("bucho@seizo.example.jp").await;
        let member = lead.segments.contains_key(&SegmentId::from(SEED));
        assert_eq!(member, i == 2, "after view {}", i + 1);
        assert_eq!(count(&t, SEED).await, u64::from(i == 2));
        if i < 2 {
            t.clock.advance(Duration::days(1));
        }
    }
    let lead = t.lead("bucho@seizo.example.jp").await;
    let m = &lead.segments[&SegmentId::from(SEED)];
    assert_eq!(m.since, t.now(), "entered in the rescore of the third view");
    assert_eq!(m.evidence.len(), 3);
    let entered = seen(&t, "lead.entered_segment.v1");
    let seed_entries: Vec<_> = entered.iter().filter(|e| e["segment"] == SEED).collect();
    assert_eq!(seed_entries.len(), 1, "{entered:?}");
    assert_eq!(seed_entries[0]["evidence"].as_array().unwrap().len(), 3);

    // A fourth view and a redelivered third change nothing about the membership.
    pricing_view(&t, "v-visitor-seg-1", "pv-2").await;
    t.clock.advance(Duration::hours(1));
    pricing_view(&t, "v-visitor-seg-1", "pv-3").await;
    assert_eq!(count(&t, SEED).await, 1);
    assert_eq!(
        seen(&t, "lead.entered_segment.v1")
            .iter()
            .filter(|e| e["segment"] == SEED)
            .count(),
        1
    );

    // It needs three views within 30 days: the second view leaving the window ends it (the
    // fourth came an hour after the third). The recheck index brings the lead back then.
    let leaves = first_view + Duration::days(1) + Duration::days(30);
    let lead = t.lead("bucho@seizo.example.jp").await;
    assert!(lead.recheck_at.unwrap() <= leaves, "{:?}", lead.recheck_at);
    t.clock.set(leaves - Duration::minutes(1));
    t.tick().await;
    assert_eq!(count(&t, SEED).await, 1, "a minute early it is still in");
    t.clock.set(leaves + Duration::minutes(1));
    t.tick().await;
    t.app.pump().await.unwrap();
    let lead = t.lead("bucho@seizo.example.jp").await;
    assert!(!lead.segments.contains_key(&SegmentId::from(SEED)));
    assert_eq!(count(&t, SEED).await, 0);
    let left = seen(&t, "lead.left_segment.v1");
    assert_eq!(left.iter().filter(|e| e["segment"] == SEED).count(), 1);
}

/// `{ entered_segment = ... }` fires once per lead: not again on the next activity, and not
/// again when the lead leaves and comes back (the trigger has no cooldown).
#[tokio::test]
async fn entered_segment_triggers_fire_once() {
    let config = config_with(|toml| {
        toml + r#"
[[triggers]]
id = "seed_entered"
when = { entered_segment = "manufacturing_managers_pricing" }
alert = "sales"
"#
    });
    let t = TestApp::with_config(config, monday_10_jst());
    watch_events(&t);
    manager(&t, "bucho2@seizo.example.jp", "v-visitor-seg-2").await;
    for i in 0..4 {
        pricing_view(&t, "v-visitor-seg-2", &format!("pv-{i}")).await;
        t.clock.advance(Duration::hours(2));
    }
    let fired = |t: &TestApp| {
        seen(t, "trigger.fired.v1")
            .into_iter()
            .filter(|e| e["trigger"] == "seed_entered")
            .collect::<Vec<_>>()
    };
    let f = fired(&t);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["reason"], format!("entered segment {SEED}"));
    assert_eq!(f[0]["evidence"].as_array().unwrap().len(), 3);
    let lead = t.lead("bucho2@seizo.example.jp").await;
    assert_eq!(lead.triggers["seed_entered"].fired, 1);

    // Out (the window passes) and back in (three new views): still one firing.
    t.clock.advance(Duration::days(31));
    t.tick().await;
    assert_eq!(count(&t, SEED).await, 0);
    for i in 10..13 {
        pricing_view(&t, "v-visitor-seg-2", &format!("pv-{i}")).await;
    }
    assert_eq!(count(&t, SEED).await, 1);
    assert_eq!(fired(&t).len(), 1);
    assert_eq!(
        seen(&t, "lead.entered_segment.v1")
            .iter()
            .filter(|e| e["segment"] == SEED)
            .count(),
        2,
        "the entry itself is announced each time"
    );
}

/// After a definition changes, a rebuild lists and announces only leads whose membership really
/// changes: a member that still qualifies is not re-announced and its triggers do not fire
/// again; a second rebuild finds nothing.
#[tokio::test]
async fn a_rebuild_after_a_definition_change_announces_only_real_entries() {
    let t = TestApp::new();
    manager(&t, "three@seizo.example.jp", "v-visitor-r-3").await;
    manager(&t, "two@seizo.example.jp", "v-visitor-r-2").await;
    for i in 0..3 {
        pricing_view(&t, "v-visitor-r-3", &format!("p3-{i}")).await;
    }
    for i in 0..2 {
        pricing_view(&t, "v-visitor-r-2", &format!("p2-{i}")).await;
    }
    assert_eq!(count(&t, SEED).await, 1);
    let before = t.lead("three@seizo.example.jp").await.segments[&SegmentId::from(SEED)].clone();

    // Two views are enough now, and a new segment takes any pricing view.
    let changed = config_with(|toml| {
        toml.replace(
            r#"{ kind = "page_view", page_category = "pricing", count = 3, within = "30d" },"#,
            r#"{ kind = "page_view", page_category = "pricing", count = 2, within = "30d" },"#,
        ) + r#"
[[segments]]
id = "saw_pricing"
[segments.when]
kind = "page_view"
page_category = "pricing"

[[triggers]]
id = "saw_pricing_entered"
when = { entered_segment = "saw_pricing" }
alert = "sales"
"#
    });
    let mut k = t.app.kindling.clone();
    k.config = Arc::new(changed);
    watch_events(&t);

    let dry = kindling::scoring::rebuild_segments(&k.scoring(), false)
        .await
        .unwrap();
    let mut moves: Vec<(String, String, bool)> = dry
        .moves
        .iter()
        .map(|m| (m.email.clone(), m.segment.to_string(), m.entered))
        .collect();
    moves.sort();
    assert_eq!(
        moves,
        vec![
            ("three@seizo.example.jp".into(), "saw_pricing".into(), true),
            ("two@seizo.example.jp".into(), SEED.into(), true),
            ("two@seizo.example.jp".into(), "saw_pricing".into(), true),
        ],
        "the member of the seed segment is not listed again"
    );
    assert!(
        seen(&t, "lead.entered_segment.v1").is_empty(),
        "a dry run writes nothing"
    );
    assert_eq!(count(&t, SEED).await, 1);

    let applied = kindling::scoring::rebuild_segments(&k.scoring(), true)
        .await
        .unwrap();
    assert_eq!(applied.moves, dry.moves);
    let entered = seen(&t, "lead.entered_segment.v1");
    assert_eq!(entered.len(), 3, "{entered:?}");
    let fired = seen(&t, "trigger.fired.v1");
    assert_eq!(
        fired
            .iter()
            .filter(|f| f["trigger"] == "saw_pricing_entered")
            .count(),
        2
    );
    assert_eq!(count(&t, SEED).await, 2);
    assert_eq!(count(&t, "saw_pricing").await, 2);
    let after = t.lead("three@seizo.example.jp").await.segments[&SegmentId::from(SEED)].clone();
    assert_eq!(after, before, "the member keeps its entry");

    let again = kindling::scoring::rebuild_segments(&k.scoring(), true)
        .await
        .unwrap();
    assert!(
        again.moves.is_empty() && again.stale.is_empty(),
        "{again:?}"
    );
    assert_eq!(seen(&t, "lead.entered_segment.v1").len(), 3);
}

/// An index entry that no lead backs (a rescore that crashed after indexing, then planned
/// otherwise) is found by a rebuild and removed; the dry run only reports it.
#[tokio::test]
async fn a_rebuild_removes_index_entries_no_lead_backs() {
    let t = TestApp::new();
    manager(&t, "ghost@seizo.example.jp", "v-visitor-g").await;
    let lead = t.lead("ghost@seizo.example.jp").await;
    let seg = SegmentId::from(SEED);
    let member = kindling::segments::ports::Member {
        lead_id: lead.id.clone(),
        since: t.now(),
    };
    t.app
        .kindling
        .stores
        .segments
        .add_member(&seg, &member)
        .await
        .unwrap();
    let k = &t.app.kindling;
    let dry = kindling::scoring::rebuild_segments(&k.scoring(), false)
        .await
        .unwrap();
    assert_eq!(dry.stale, vec![(seg.clone(), lead.id.clone())]);
    assert_eq!(count(&t, SEED).await, 1);
    kindling::scoring::rebuild_segments(&k.scoring(), true)
        .await
        .unwrap();
    assert_eq!(count(&t, SEED).await, 0);
}

async fn get(t: &TestApp, uri: &str) -> (http::StatusCode, Value) {
    let req = http::Request::builder()
        .method("GET")
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Bytes::new())
        .unwrap();
    let res = t.app.http(req).await;
    let body = serde_json::from_slice(res.body()).unwrap_or(Value::Null);
    (res.status(), body)
}

/// The admin routes read the index: counts, a definition, pages of members with a cursor, the
/// latest changes.
#[tokio::test]
async fn the_admin_routes_show_counts_definitions_and_pages_of_members() {
    let mut t = TestApp::new();
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    for n in 0..5 {
        let (email, visitor) = (format!("m{n}@seizo.example.jp"), format!("v-visitor-a-{n}"));
        manager(&t, &email, &visitor).await;
        for i in 0..3 {
            pricing_view(&t, &visitor, &format!("pa-{n}-{i}")).await;
        }
    }
    let (status, list) = get(&t, "/admin/segments").await;
    assert_eq!(status, 200);
    let seed = list["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == SEED)
        .unwrap()
        .clone();
    assert_eq!(seed["count"], 5);
    assert_eq!(seed["label"], "製造業 × 部長職 × 価格ページ3回閲覧");

    let mut emails = Vec::new();
    let mut uri = format!("/admin/segments/{SEED}?limit=2");
    loop {
        let (status, page) = get(&t, &uri).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["count"], 5);
        assert_eq!(page["definition"]["all"].as_array().unwrap().len(), 3);
        assert_eq!(page["definition"]["all"][2]["count"], 3);
        assert!(page["members"].as_array().unwrap().len() <= 2);
        for m in page["members"].as_array().unwrap() {
            emails.push(m["email"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => uri = format!("/admin/segments/{SEED}?limit=2&after={next}"),
            None => break,
        }
    }
    emails.sort();
    assert_eq!(
        emails,
        (0..5)
            .map(|n| format!("m{n}@seizo.example.jp"))
            .collect::<Vec<_>>()
    );
    let (_, page) = get(&t, &format!("/admin/segments/{SEED}")).await;
    let recent = page["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 5);
    assert!(recent.iter().all(|c| c["entered"] == true));
}

/// Bad input to the segment routes gets a 4xx and writes nothing.
#[tokio::test]
async fn bad_input_to_the_segment_routes_is_a_4xx_and_writes_nothing() {
    let mut t = TestApp::new();
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    manager(&t, "bad@seizo.example.jp", "v-visitor-bad").await;
    let before = t.counts();
    for (uri, want) in [
        ("/admin/segments?x=1", 400),
        ("/admin/segments/nope", 404),
        (&format!("/admin/segments/{SEED}?limit=0"), 400),
        (&format!("/admin/segments/{SEED}?limit=501"), 400),
        (&format!("/admin/segments/{SEED}?limit=ten"), 400),
        (&format!("/admin/segments/{SEED}?after=garbage"), 400),
        (&format!("/admin/segments/{SEED}?after=8.lead"), 400),
        (&format!("/admin/segments/{SEED}?after=1.a&after=2.b"), 400),
        (&format!("/admin/segments/{SEED}?page=2"), 400),
        ("/admin/segments/", 404),
    ] {
        let (status, body) = get(&t, uri).await;
        assert_eq!(status.as_u16(), want, "{uri}: {body}");
        assert!(body["error"].is_string(), "{uri}: {body}");
    }
    let post = http::Request::builder()
        .method("POST")
        .uri("/admin/segments")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    assert_eq!(t.app.http(post).await.status(), 405);
    let anonymous = http::Request::builder()
        .uri("/admin/segments")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(t.app.http(anonymous).await.status(), 401);
    assert_eq!(t.counts(), before);
}

/// A sales mark moves segments on `sales_status` at once (the mark rescores the lead).
#[tokio::test]
async fn a_sales_mark_moves_the_lead_into_a_sales_status_segment_at_once() {
    let config = config_with(|toml| {
        toml + r#"
[[segments]]
id = "being_worked"
[segments.when]
sales_status = ["working"]
"#
    });
    let mut t = TestApp::with_config(config, monday_10_jst());
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    manager(&t, "worked@seizo.example.jp", "v-visitor-worked").await;
    assert_eq!(count(&t, "being_worked").await, 0);
    let req = http::Request::builder()
        .method("POST")
        .uri("/admin/leads/worked@seizo.example.jp/sales")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"status": "working"}"#))
        .unwrap();
    assert_eq!(t.app.http(req).await.status(), 200);
    assert_eq!(count(&t, "being_worked").await, 1);
    let lead = t.lead("worked@seizo.example.jp").await;
    assert!(lead.segments.contains_key(&SegmentId::from("being_worked")));
}
