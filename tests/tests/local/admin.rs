//! The admin lead report: `GET /admin/leads/{id or email}`, behind the admin bearer token locally
//! (IAM at API Gateway in AWS).

use bytes::Bytes;
use kindling_tests::harness::{lead_fields, TestApp};
use serde_json::Value;
use std::sync::Arc;

const TOKEN: &str = "test-admin-token-0123456789";

async fn get(t: &TestApp, uri: &str, token: Option<&str>) -> (http::StatusCode, Value) {
    let mut b = http::Request::builder().method("GET").uri(uri);
    if let Some(token) = token {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    let res = t.app.http(b.body(Bytes::new()).unwrap()).await;
    let body = serde_json::from_slice(res.body()).unwrap_or(Value::Null);
    (res.status(), body)
}

async fn app_with_a_lead() -> TestApp {
    let mut t = TestApp::new();
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    let beacon = serde_json::json!({ "visitor_id": "v-admin-1", "events": [{ "id": "e1", "type": "page_view", "url": "https://example.jp/pricing.html", "at": t.now() }] });
    let res = t
        .request("POST", "/t/events", Some("text/plain"), beacon.to_string())
        .await;
    assert_eq!(res.status(), 202);
    let mut fields = lead_fields("Hanako.Admin@Example.co.jp", "Asia/Tokyo");
    fields.push(("visitor_id", "v-admin-1"));
    assert_eq!(t.submit("whitepaper", &fields).await.status(), 303);
    t.tick().await;
    t
}

#[tokio::test]
async fn the_report_explains_the_score_and_shows_the_timeline() {
    let t = app_with_a_lead().await;
    let (status, by_email) =
        get(&t, "/admin/leads/hanako.admin%40example.co.jp", Some(TOKEN)).await;
    assert_eq!(status, 200, "{by_email}");
    assert_eq!(by_email["lead"]["email"], "hanako.admin@example.co.jp");
    assert_eq!(
        by_email["score"]["total"], 25,
        "pricing 15 (stitched) + download 10"
    );
    let rules: Vec<&str> = by_email["score"]["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(by_email["visitors"], serde_json::json!(["v-admin-1"]));
    assert!(
        by_email["activity_count"].as_u64().unwrap() >= 3,
        "view, download, mail sent"
    );
    assert_eq!(by_email["enrollments"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_email["sends"].as_array().unwrap().len(),
        1,
        "day-0 thanks"
    );
    assert_eq!(by_email["suppression"], Value::Null);

    // The same lead by id.
    let id = by_email["lead"]["id"].as_str().unwrap().to_owned();
    let (status, by_id) = get(&t, &format!("/admin/leads/{id}"), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(by_id["lead"], by_email["lead"]);
}

#[tokio::test]
async fn admin_routes_refuse_missing_and_forged_tokens_and_change_nothing() {
    let t = app_with_a_lead().await;
    let before = t.counts();
    for token in [
        None,
        Some("wrong-token"),
        Some(""),
        Some("test-admin-token-012345678"),
    ] {
        let (status, body) = get(&t, "/admin/leads/hanako.admin%40example.co.jp", token).await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["error"], "unauthorized");
    }
    assert_eq!(t.counts(), before);
}

#[tokio::test]
async fn unknown_leads_are_not_found_and_malformed_ones_bad_requests() {
    let t = app_with_a_lead().await;
    for uri in [
        "/admin/leads/nobody%40example.co.jp",
        "/admin/leads/nobody@example.co.jp",
        "/admin/leads/no-such-id",
    ] {
        assert_eq!(get(&t, uri, Some(TOKEN)).await.0, 404, "{uri}");
    }
    for uri in [
        "/admin/leads/not%20an%20id",
        "/admin/leads/%ZZ",
        "/admin/leads/a%40",
        "/admin/leads/jos%C3%A9%40example.com",
    ] {
        let (status, body) = get(&t, uri, Some(TOKEN)).await;
        assert_eq!(status, 400, "{uri}");
        assert_eq!(body["error"], "bad_request", "{uri}");
    }
    let res = t
        .app
        .http(
            http::Request::builder()
                .method("DELETE")
                .uri("/admin/leads/x")
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), 405);
}

async fn post(
    t: &TestApp,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (http::StatusCode, Value) {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    let res = t
        .app
        .http(b.body(Bytes::from(body.to_owned())).unwrap())
        .await;
    let body = serde_json::from_slice(res.body()).unwrap_or(Value::Null);
    (res.status(), body)
}

#[tokio::test]
async fn sales_marks_a_lead_and_bad_marks_change_nothing() {
    let t = app_with_a_lead().await;
    let uri = "/admin/leads/hanako.admin%40example.co.jp/sales";
    let before = t.counts();
    for (token, body, want) in [
        (None, r#"{"status":"working"}"#, 401),
        (Some(TOKEN), r#"{"status":"sleeping"}"#, 400),
        (Some(TOKEN), r#"{"state":"working"}"#, 400),
        (Some(TOKEN), "not json", 400),
        (
            Some(TOKEN),
            &format!(r#"{{"status":"won","note":"{}"}}"#, "x".repeat(501)),
            400,
        ),
        (
            Some(TOKEN),
            &format!(r#"{{"status":"won","pad":"{}"}}"#, "x".repeat(9000)),
            413,
        ),
    ] {
        assert_eq!(post(&t, uri, token, body).await.0, want, "{body}");
    }
    assert_eq!(
        post(
            &t,
            "/admin/leads/nobody%40example.co.jp/sales",
            Some(TOKEN),
            r#"{"status":"won"}"#
        )
        .await
        .0,
        404
    );
    assert_eq!(t.counts(), before, "nothing written");
    let (status, body) = post(
        &t,
        uri,
        Some(TOKEN),
        r#"{"status":"working","note":"call booked"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sales"]["status"], "working");
    let (_, report) = get(&t, "/admin/leads/hanako.admin%40example.co.jp", Some(TOKEN)).await;
    assert_eq!(report["lead"]["sales"]["note"], "call booked");
}

/// The shipped seed segment (manufacturing × 部長 × three pricing views in 30 days) shows in the
/// report from the third view on, with the views as evidence and the time it would leave.
#[tokio::test]
async fn the_report_lists_the_segments_a_lead_is_in_with_their_evidence() {
    let mut t = TestApp::new();
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    let mut fields = lead_fields("kacho@seizo.example.jp", "Asia/Tokyo");
    fields.extend([
        ("visitor_id", "v-segment-01"),
        ("industry", "製造業"),
        ("title", "製造本部 部長"),
    ]);
    assert_eq!(t.submit("whitepaper", &fields).await.status(), 303);
    let view = |i: u32, at: chrono::DateTime<chrono::Utc>| serde_json::json!({ "visitor_id": "v-segment-01", "events": [{ "id": format!("pv-seg-{i}"), "type": "page_view", "url": "https://example.jp/pricing.html", "at": at }] });
    let segments = |report: &Value| -> Vec<String> {
        report["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    for i in 0..3 {
        let res = t
            .request(
                "POST",
                "/t/events",
                Some("text/plain"),
                view(i, t.now()).to_string(),
            )
            .await;
        assert_eq!(res.status(), 202);
        t.app.pump().await.unwrap();
        let (status, report) = get(&t, "/admin/leads/kacho@seizo.example.jp", Some(TOKEN)).await;
        assert_eq!(status, 200);
        let seg = segments(&report).contains(&"manufacturing_managers_pricing".to_owned());
        assert_eq!(
            seg,
            i == 2,
            "after view {}: {:?}",
            i + 1,
            report["segments"]
        );
        t.clock.advance(chrono::Duration::days(1));
    }
    let (_, report) = get(&t, "/admin/leads/kacho@seizo.example.jp", Some(TOKEN)).await;
    let seed = report["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "manufacturing_managers_pricing")
        .unwrap()
        .clone();
    assert_eq!(seed["evidence"].as_array().unwrap().len(), 3, "{seed}");
    assert_eq!(seed["label"], "製造業 × 部長職 × 価格ページ3回閲覧");
    assert!(
        seed["until"].is_string(),
        "it leaves when the first view is 30 days old"
    );
}
