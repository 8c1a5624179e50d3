//! The broadcast admin routes through the HTTP entry logic: a broadcast from creation to sent
//! over HTTP, the signer as the actor when API Gateway names one, and bad input to every route
//! (a 4xx with a clear message, nothing written).

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use kindling::deliverability::suppression::{Suppression, SuppressionReason};
use kindling_tests::harness::{config_with, monday_10_jst, TestApp};
use serde_json::{json, Value};
use std::sync::Arc;

const TOKEN: &str = "test-admin-token-0123456789";

fn app() -> TestApp {
    let mut t = TestApp::with_config(
        config_with(|t| {
            t.replace(
                "cap = { max = 1, window_hours = 24 }",
                "cap = { max = 10, window_hours = 24 }",
            ) + "\n[broadcasts]\nsecond_approver = true\n"
        }),
        monday_10_jst(),
    );
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    t
}

async fn call(
    t: &TestApp,
    method: &str,
    uri: &str,
    body: &str,
    signer: Option<&str>,
) -> (http::StatusCode, Value) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap();
    req.extensions_mut().insert(kindling::web::ClientInfo {
        ip: Some("192.0.2.10".into()),
        principal: signer.map(str::to_owned),
    });
    let res = t.app.http(req).await;
    t.app.pump().await.unwrap();
    let status = res.status();
    (
        status,
        serde_json::from_slice(res.body()).unwrap_or(Value::Null),
    )
}

async fn it_lead(t: &TestApp, email: &str) {
    t.submit(
        "whitepaper",
        &[
            ("email", email),
            ("title", "情報システム部長"),
            ("time_zone", "Asia/Tokyo"),
            ("consent", "on"),
        ],
    )
    .await;
}

fn create_body() -> Value {
    json!({
        "id": "nl-1",
        "name": "December",
        "audience": { "kind": "segment", "segment": "it_decision_makers" },
        "content": { "parts": { "ja": {
            "txt": "Subject: お知らせ\n\n{{ lead.name or \"ご担当者\" }} 様\n{{ link(\"https://example.jp/n\") }}\n",
            "html": "<p><a href=\"{{ link(\"https://example.jp/n\") }}\">n</a></p>"
        } } },
        "at": "2026-11-02 11:00",
        "topic": "newsletter",
        "by": "alice"
    })
}

#[tokio::test]
async fn a_broadcast_goes_from_creation_to_sent_over_http() {
    let t = app();
    it_lead(&t, "it0@example.jp").await;
    it_lead(&t, "it1@example.jp").await;
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts",
        &create_body().to_string(),
        None,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["broadcast"]["state"], "draft");
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/dry-run",
        r#"{"by":"alice"}"#,
        None,
    )
    .await;
    assert_eq!(
        (s, &b["broadcast"]["dry_run"]["recipients"]),
        (http::StatusCode::OK, &json!(2))
    );
    // The creator may not approve it; over HTTP on AWS the signer is who acts, whatever the
    // body says.
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/approve",
        r#"{"by":"alice"}"#,
        None,
    )
    .await;
    assert_eq!(s, 409, "{b}");
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/approve",
        r#"{"by":"alice"}"#,
        Some("arn:aws:iam::123456789012:user/manager"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["broadcast"]["approval"]["by"],
        "arn:aws:iam::123456789012:user/manager"
    );
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/schedule",
        r#"{"by":"bob"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    assert_eq!(t.tick().await.broadcasts.sent.len(), 2);
    t.tick().await;
    let (s, b) = call(&t, "GET", "/admin/broadcasts/nl-1", "", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (&b["broadcast"]["state"], &b["progress"]["sent"]),
        (&json!("sent"), &json!(2))
    );
    let (s, b) = call(&t, "GET", "/admin/broadcasts", "", None).await;
    assert_eq!(
        (s, b["broadcasts"].as_array().unwrap().len()),
        (http::StatusCode::OK, 1)
    );
    // Sent is final.
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/cancel",
        r#"{"by":"bob"}"#,
        None,
    )
    .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn bad_input_to_every_broadcast_route_is_a_4xx_and_writes_nothing() {
    let t = app();
    it_lead(&t, "it0@example.jp").await;
    let before = t.counts();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut b = create_body();
        edit(&mut b);
        b.to_string()
    };
    let cases: Vec<(&str, &str, String, u16)> = vec![
        ("POST", "/admin/broadcasts", "{".into(), 400),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["extra"] = json!(1)),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["at"] = json!("next week")),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["by"] = json!("")),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["id"] = json!("bad id")),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["audience"] = json!({"kind": "segment", "segment": "nope"})),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["audience"] = json!({"kind": "everyone"})),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["topic"] = json!("nope")),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["topic"] = json!("not a topic")),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| {
                b.as_object_mut().unwrap().remove("topic");
            }),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["content"] = json!({})),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| b["content"] = json!({"template": "nope"})),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| {
                b["content"]["parts"]["ja"]["txt"] = json!("Subject: x\n\n{{ lead.company }}")
            }),
            400,
        ),
        (
            "POST",
            "/admin/broadcasts",
            with(&|b| {
                b["content"]["parts"]["ja"]["html"] =
                    json!("<a href=\"https://example.jp/raw\">x</a>")
            }),
            400,
        ),
        ("POST", "/admin/broadcasts", "x".repeat(300 * 1024), 413),
        ("GET", "/admin/broadcasts/nope", String::new(), 404),
        ("GET", "/admin/broadcasts/bad%20id", String::new(), 400),
        (
            "POST",
            "/admin/broadcasts/nope/approve",
            r#"{"by":"b"}"#.into(),
            404,
        ),
        (
            "POST",
            "/admin/broadcasts/nope/launch",
            r#"{"by":"b"}"#.into(),
            404,
        ),
        // An unknown action is a 404 whatever the body, none included.
        ("POST", "/admin/broadcasts/nope/launch", String::new(), 404),
        (
            "POST",
            "/admin/broadcasts/nope/launch",
            "not json".into(),
            404,
        ),
        ("POST", "/admin/broadcasts/nope/approve", "{}".into(), 400),
        ("DELETE", "/admin/broadcasts", String::new(), 405),
    ];
    for (method, uri, body, want) in cases {
        let (s, b) = call(&t, method, uri, &body, None).await;
        assert_eq!(
            s.as_u16(),
            want,
            "{method} {uri} {}: {b}",
            &body[..body.len().min(120)]
        );
        if want != 405 && want != 413 {
            assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()), "{b}");
        }
    }
    assert_eq!(t.counts(), before);
    // Without the admin token: 401.
    let req = http::Request::builder()
        .method("GET")
        .uri("/admin/broadcasts")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(t.app.http(req).await.status(), 401);
}

fn parsed(raw: &[u8]) -> (String, String, String, String) {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    (
        m.to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_owned(),
        m.subject().unwrap().to_owned(),
        m.body_text(0).unwrap().into_owned() + &m.body_html(0).unwrap(),
        m.header_raw("List-Unsubscribe").unwrap().to_owned() + m.message_id().unwrap(),
    )
}

#[tokio::test]
async fn a_test_send_reaches_the_reviewers_only_marked_untracked_and_records_nothing() {
    let t = app();
    it_lead(&t, "it0@example.jp").await;
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts",
        &create_body().to_string(),
        None,
    )
    .await;
    assert_eq!(s, 201);
    let before = t.counts();
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"alice"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["sent"],
        json!(["marketing@example.jp", "review@example.jp"])
    );
    assert_eq!(b["subject"], "[TEST] お知らせ");
    let mails = t.outbox();
    assert_eq!(mails.len(), 2);
    let mut ids = Vec::new();
    for (raw, reviewer) in mails
        .iter()
        .zip(["marketing@example.jp", "review@example.jp"])
    {
        let (to, subject, body, headers) = parsed(raw);
        assert_eq!(
            (to.as_str(), subject.as_str()),
            (reviewer, "[TEST] お知らせ")
        );
        // The sample lead has no name: the fallback shows. Links go straight to their page.
        assert!(body.contains("ご担当者 様"), "{body}");
        assert!(body.contains("href=\"https://example.jp/n\""), "{body}");
        assert!(
            !body.contains("/t/c/") && !body.contains("/t/o/"),
            "untracked: {body}"
        );
        assert!(
            headers.contains("https://t.example.jp/u/test>"),
            "{headers}"
        );
        ids.push(headers);
    }
    // Nothing recorded: no send record, no recipient, no activity, no lead.
    assert_eq!(t.counts(), before);

    // A second test (after an edit, say) is a new message to the receiver.
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"alice","to":["review@example.jp"],"as":"it0@example.jp"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);
    t.clock.advance(chrono::Duration::seconds(1));
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"alice","to":["review@example.jp"]}"#,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let mails = t.outbox();
    assert_eq!(mails.len(), 4, "one each");
    let (to, _, body, third) = parsed(&mails[2]);
    assert_eq!(to, "review@example.jp", "as a lead, still to the reviewer");
    assert!(!body.contains("it0@example.jp"), "{body}");
    let (_, _, _, fourth) = parsed(&mails[3]);
    assert_ne!(third, fourth, "distinct Message-IDs");
    assert_eq!(t.counts(), before);

    // The sample preference page the test mail links to saves nothing.
    let page = t.request("GET", "/u/test", None, "").await;
    assert_eq!(page.status(), 200);
    assert!(String::from_utf8_lossy(page.body()).contains("nothing was saved"));
    for body in [
        "action=everything",
        "List-Unsubscribe=One-Click",
        "action=save&topic=events",
    ] {
        let res = t
            .request(
                "POST",
                "/u/test",
                Some("application/x-www-form-urlencoded"),
                body,
            )
            .await;
        assert_eq!(res.status(), 200, "{body}");
    }
    assert_eq!(t.counts(), before);
}

#[tokio::test]
async fn a_test_send_outside_the_list_or_otherwise_wrong_sends_nothing_and_says_why() {
    let t = app();
    it_lead(&t, "it0@example.jp").await;
    call(
        &t,
        "POST",
        "/admin/broadcasts",
        &create_body().to_string(),
        None,
    )
    .await;
    let cases: &[(&str, &str, u16, &str)] = &[
        (
            "nl-1",
            r#"{"by":"a","to":["ceo@customer.example"]}"#,
            400,
            "is not one of [broadcasts.test_send] addresses",
        ),
        (
            "nl-1",
            r#"{"by":"a","to":["marketing@example.jp","it0@example.jp"]}"#,
            400,
            "it0@example.jp is not one of",
        ),
        (
            "nl-1",
            r#"{"by":"a","to":["not an address"]}"#,
            400,
            "is not an email address",
        ),
        (
            "nl-1",
            r#"{"by":"a","to":"marketing@example.jp"}"#,
            400,
            "body:",
        ),
        (
            "nl-1",
            r#"{"by":"a","bcc":["x@example.jp"]}"#,
            400,
            "unknown field",
        ),
        ("nl-1", r#"{"to":["marketing@example.jp"]}"#, 400, "by:"),
        (
            "nl-1",
            r#"{"by":"a","as":"nobody@example.jp"}"#,
            404,
            "as: no lead",
        ),
        ("nl-9", r#"{"by":"a"}"#, 404, "no broadcast"),
        ("NL 1", r#"{"by":"a"}"#, 400, "not a broadcast id"),
    ];
    let before = t.counts();
    for (id, body, status, message) in cases {
        let uri = format!("/admin/broadcasts/{}/test-send", id.replace(' ', "%20"));
        let (s, b) = call(&t, "POST", &uri, body, None).await;
        assert_eq!(s.as_u16(), *status, "{body}: {b}");
        assert!(
            b["message"].as_str().unwrap().contains(message),
            "{body}: {b}"
        );
    }
    let many: Vec<String> = (0..21).map(|i| format!("r{i}@example.jp")).collect();
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        &json!({"by": "a", "to": many}).to_string(),
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(t.outbox().is_empty());
    assert_eq!(t.counts(), before);

    // A suppressed reviewer is skipped; a throttled provider is a 503 after what went.
    t.app
        .kindling
        .stores
        .suppressions
        .suppress(&Suppression {
            email: kindling::email::EmailAddress::parse("marketing@example.jp").unwrap(),
            reason: SuppressionReason::Bounced,
            at: t.now(),
        })
        .await
        .unwrap();
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"a"}"#,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["sent"], json!(["review@example.jp"]));
    assert_eq!(
        b["skipped"],
        json!([{"to": "marketing@example.jp", "reason": "suppressed"}])
    );
    // A reviewer named twice gets one mail.
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"a","to":["review@example.jp","review@example.jp"]}"#,
        None,
    )
    .await;
    assert_eq!(
        (s.as_u16(), &b["sent"]),
        (200, &json!(["review@example.jp"]))
    );
    assert_eq!(t.outbox().len(), 2);
    t.mailer.fail_next(
        1,
        kindling::sending::ports::MailError::Retryable("throttled".into()),
    );
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"a"}"#,
        None,
    )
    .await;
    assert_eq!(s, 503);
    assert_eq!(t.outbox().len(), 2);

    // A cancelled broadcast has no test mail.
    call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/cancel",
        r#"{"by":"a"}"#,
        None,
    )
    .await;
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"a"}"#,
        None,
    )
    .await;
    assert_eq!(s, 409, "{b}");

    // Without a list, no test sends at all.
    let mut t = TestApp::with_config(
        config_with(|s| {
            s.replace(
                "addresses = [\"marketing@example.jp\", \"review@example.jp\"]",
                "",
            )
        }),
        monday_10_jst(),
    );
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/test-send",
        r#"{"by":"a"}"#,
        None,
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["message"].as_str().unwrap().contains("no test addresses"));
}

#[tokio::test]
async fn edit_and_preview_over_http_void_the_approval_and_render_the_exact_mail() {
    let t = app();
    it_lead(&t, "it0@example.jp").await;
    call(
        &t,
        "POST",
        "/admin/broadcasts",
        &create_body().to_string(),
        None,
    )
    .await;
    call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/dry-run",
        r#"{"by":"alice"}"#,
        None,
    )
    .await;
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/approve",
        r#"{"by":"bob"}"#,
        None,
    )
    .await;
    assert_eq!((s.as_u16(), &b["approved"]), (200, &json!(true)), "{b}");

    // Bad edits say why and change nothing.
    let before = t.counts();
    for (body, status, message) in [
        (r#"{"by":"a","local":true}"#, 400, "local: give it with at"),
        (r#"{"by":"a","colour":"red"}"#, 400, "unknown field"),
        (r#"{"by":"a","at":"tomorrow"}"#, 400, "at: write a time"),
        (r#"{"by":"a","topic":"no such"}"#, 400, "topic"),
        (
            r#"{"by":"a","content":{"template":"nope"}}"#,
            400,
            "content",
        ),
    ] {
        let (s, b) = call(&t, "POST", "/admin/broadcasts/nl-1/edit", body, None).await;
        assert_eq!(s.as_u16(), status, "{body}: {b}");
        assert!(
            b["message"].as_str().unwrap().contains(message),
            "{body}: {b}"
        );
    }
    let (s, _) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-9/edit",
        r#"{"by":"a","name":"x"}"#,
        None,
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(t.counts(), before);
    let (_, b) = call(&t, "GET", "/admin/broadcasts/nl-1", "", None).await;
    assert_eq!(b["approved"], true, "nothing changed");

    // An edit voids the approval and returns it to draft.
    let (s, b) = call(
        &t,
        "POST",
        "/admin/broadcasts/nl-1/edit",
        r#"{"by":"alice","name":"December (fixed)","at":"2026-11-02 12:00","local":true}"#,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (
            &b["broadcast"]["state"],
            &b["approved"],
            &b["broadcast"]["name"]
        ),
        (&json!("draft"), &json!(false), &json!("December (fixed)"))
    );
    assert_eq!(b["broadcast"]["schedule"]["local"], true);

    // The preview is the mail itself, for a stored lead or a sample one.
    for lead in ["it0@example.jp", "someone@else.example"] {
        let uri = format!("/admin/broadcasts/nl-1/preview?lead={lead}");
        let req = http::Request::builder()
            .method("GET")
            .uri(&uri)
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Bytes::new())
            .unwrap();
        let res = t.app.http(req).await;
        assert_eq!(res.status(), 200, "{lead}");
        assert_eq!(res.headers()["content-type"], "message/rfc822");
        let m = mail_parser::MessageParser::default()
            .parse(res.body())
            .unwrap();
        assert_eq!(m.subject(), Some("お知らせ"));
        assert_eq!(m.to().unwrap().first().unwrap().address(), Some(lead));
    }
    for (uri, status) in [
        ("/admin/broadcasts/nl-1/preview", 400),
        ("/admin/broadcasts/nl-1/preview?lead=not-an-address", 400),
        (
            "/admin/broadcasts/nl-1/preview?lead=a@b.jp&lead=c@d.jp",
            400,
        ),
        ("/admin/broadcasts/nl-1/preview?lead=a@b.jp&x=1", 400),
        ("/admin/broadcasts/nl-9/preview?lead=a@b.jp", 404),
    ] {
        let (s, _) = call(&t, "GET", uri, "", None).await;
        assert_eq!(s.as_u16(), status, "{uri}");
    }
    assert_eq!(t.counts().iter().find(|(n, _)| n == "sends").unwrap().1, 0);
}

#[tokio::test]
async fn an_ab_test_is_created_edited_and_removed_over_http_and_bad_ones_are_400s() {
    let t = app();
    it_lead(&t, "it0@example.jp").await;
    let before = t.counts();
    let bad = [
        json!({ "variants": [] }),
        json!({ "variants": [{ "subject": "B" }], "cell_percent": 50 }),
        json!({ "variants": [{ "subject": "B" }], "metric": "revenue" }),
        json!({ "variants": [{ "subject": { "en": "B" } }] }),
        json!({ "variants": [{ "at": "tomorrow" }] }),
        json!({ "variants": [{ "subject": "B", "colour": "red" }] }),
        json!({ "variants": [{ "subject": "B" }], "wait_hours": 0 }),
        json!({ "variants": [{ "subject": 7 }] }),
    ];
    for ab in bad {
        let mut body = create_body();
        body["ab"] = ab.clone();
        let (s, b) = call(&t, "POST", "/admin/broadcasts", &body.to_string(), None).await;
        assert_eq!(s, 400, "{ab}: {b}");
    }
    assert_eq!(t.counts(), before, "nothing written");
    let mut body = create_body();
    body["ab"] = json!({
        "variants": [{ "subject": "B: お知らせ" }, { "at": "2026-11-02 15:00" }],
        "cell_percent": 10, "metric": "open", "wait_hours": 6
    });
    let (s, b) = call(&t, "POST", "/admin/broadcasts", &body.to_string(), None).await;
    assert_eq!(s, 201, "{b}");
    let ab = &b["broadcast"]["ab"];
    assert_eq!(ab["variants"][0]["subject"]["ja"], "B: お知らせ");
    assert_eq!(ab["variants"][1]["at"], "2026-11-02T15:00:00");
    assert_eq!(
        (ab["metric"].as_str(), ab["wait_hours"].as_u64()),
        (Some("open"), Some(6))
    );
    assert_eq!(b["ab"]["cells"].as_array().map(Vec::len), Some(3), "{b}");
    let hash = b["hash"].clone();
    let t = &t;
    let edit = |body: Value| async move {
        call(
            t,
            "POST",
            "/admin/broadcasts/nl-1/edit",
            &body.to_string(),
            None,
        )
        .await
    };
    let (s, b) = edit(
        json!({ "ab": { "variants": [{ "subject": "C" }] }, "remove_ab": true, "by": "alice" }),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = edit(json!({ "ab": { "variants": [{ "subject": "C" }] }, "by": "alice" })).await;
    assert_eq!(s, 200, "{b}");
    assert_ne!(b["hash"], hash);
    assert_eq!(b["broadcast"]["ab"]["variants"][0]["subject"]["ja"], "C");
    let (s, b) = edit(json!({ "remove_ab": true, "by": "alice" })).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["broadcast"].get("ab").is_none(), "{b}");
}
