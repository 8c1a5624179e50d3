//! Malformed input to every public route gets a 4xx with a JSON error body and writes nothing.

use chrono::Duration;
use kindling::ids::{EnrollmentId, LeadId};
use kindling::message::MessageKey;
use kindling::token::{Claim, SigningKeys};
use kindling_tests::harness::{lead_fields, test_keys, TestApp};
use serde_json::{json, Value};

struct Case {
    what: &'static str,
    method: &'static str,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
}

fn case(
    what: &'static str,
    method: &'static str,
    uri: impl Into<String>,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    Case {
        what,
        method,
        uri: uri.into(),
        content_type,
        body: body.into(),
        status,
    }
}

fn beacon(events: Value) -> Vec<u8> {
    json!({ "visitor_id": "v-bad-input-1", "events": events })
        .to_string()
        .into_bytes()
}

fn page_view(t: &TestApp, id: &str) -> Value {
    json!({ "id": id, "type": "page_view", "url": "https://example.jp/pricing", "at": t.now() })
}

#[tokio::test]
async fn malformed_requests_get_a_json_4xx_and_change_nothing() {
    let t = TestApp::new();
    // A real lead with a real mail, so that valid-looking tokens have something to hit.
    t.submit("whitepaper", &lead_fields("a@example.jp", "Asia/Tokyo"))
        .await;
    t.tick().await;
    let lead = t
        .app
        .kindling
        .stores
        .leads
        .list_lead_ids(None, 1)
        .await
        .unwrap()[0]
        .clone();
    let enrollment = t
        .app
        .kindling
        .stores
        .enrollments
        .enrollments_of_lead(&lead)
        .await
        .unwrap()[0]
        .id
        .clone();
    let key = MessageKey::Step {
        lead_id: lead.clone(),
        enrollment_id: enrollment.clone(),
        step: 0,
    };
    let keys = test_keys();
    let forged = SigningKeys::new(vec![("t1".into(), vec![7; 32])]).unwrap();
    let unsub = keys.sign(&Claim::Unsubscribe(lead.clone(), None));
    let now = t.now();

    let pv = |id: &str| page_view(&t, id);
    let mut too_many = Vec::new();
    for i in 0..21 {
        too_many.push(pv(&format!("e{i}")));
    }
    let cases = vec![
        // POST /t/events
        case(
            "beacon: not JSON",
            "POST",
            "/t/events",
            Some("text/plain"),
            "{not json",
            400,
        ),
        case(
            "beacon: wrong media type",
            "POST",
            "/t/events",
            Some("application/xml"),
            beacon(json!([pv("e1")])),
            415,
        ),
        case(
            "beacon: too large",
            "POST",
            "/t/events",
            Some("text/plain"),
            vec![b' '; 17 * 1024],
            413,
        ),
        case(
            "beacon: no events",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(json!([])),
            400,
        ),
        case(
            "beacon: too many events",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(Value::Array(too_many)),
            400,
        ),
        case(
            "beacon: unknown kind",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([pv("e1"), { "id": "e2", "type": "mouse_wiggle", "url": "https://example.jp/", "at": now }]),
            ),
            400,
        ),
        case(
            "beacon: bad visitor id",
            "POST",
            "/t/events",
            Some("text/plain"),
            json!({ "visitor_id": "../etc", "events": [pv("e1")] }).to_string(),
            400,
        ),
        case(
            "beacon: far future",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([pv("e1"), { "id": "e2", "type": "page_view", "url": "https://example.jp/", "at": now + Duration::days(2) }]),
            ),
            400,
        ),
        case(
            "beacon: far past",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "page_view", "url": "https://example.jp/", "at": now - Duration::days(3) }]),
            ),
            400,
        ),
        case(
            "beacon: bad url",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "page_view", "url": "javascript:alert(1)", "at": now }]),
            ),
            400,
        ),
        case(
            "beacon: bad zone",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "page_view", "url": "https://example.jp/", "at": now, "tz": "Mars/Base" }]),
            ),
            400,
        ),
        case(
            "beacon: page_leave without dwell",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([pv("e1"), { "id": "e2", "type": "page_leave", "url": "https://example.jp/", "at": now }]),
            ),
            400,
        ),
        case(
            "beacon: page_leave of more than a day",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "page_leave", "url": "https://example.jp/", "at": now, "dwell_ms": 86_400_001u64 }]),
            ),
            400,
        ),
        case(
            "beacon: form_start without a form",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([pv("e1"), { "id": "e2", "type": "form_start", "url": "https://example.jp/apply", "at": now }]),
            ),
            400,
        ),
        case(
            "beacon: form_start with a bad form id",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "form_start", "url": "https://example.jp/apply", "at": now, "form_id": "../etc" }]),
            ),
            400,
        ),
        case(
            "beacon: identify with a forged token",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([pv("e1"), { "id": "e2", "type": "identify", "url": "https://example.jp/", "at": now, "token": forged.sign(&Claim::Identify(lead.clone())) }]),
            ),
            400,
        ),
        case(
            "beacon: identify with an unsubscribe token",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "identify", "url": "https://example.jp/", "at": now, "token": unsub.clone() }]),
            ),
            400,
        ),
        case(
            "beacon: unknown field",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "e2", "type": "page_view", "url": "https://example.jp/", "at": now, "evil": 1 }]),
            ),
            400,
        ),
        case(
            "beacon: bad event id",
            "POST",
            "/t/events",
            Some("text/plain"),
            beacon(
                json!([{ "id": "", "type": "page_view", "url": "https://example.jp/", "at": now }]),
            ),
            400,
        ),
        case("beacon: wrong method", "GET", "/t/events", None, "", 405),
        // GET /t/o/{token}
        case("open: garbage token", "GET", "/t/o/garbage", None, "", 404),
        case(
            "open: forged token",
            "GET",
            format!("/t/o/{}", forged.sign(&Claim::Open(key.clone()))),
            None,
            "",
            404,
        ),
        case(
            "open: click token",
            "GET",
            format!("/t/o/{}", keys.sign(&Claim::Click(key.clone(), 0))),
            None,
            "",
            404,
        ),
        // GET /t/c/{token}
        case(
            "click: forged token",
            "GET",
            format!("/t/c/{}", forged.sign(&Claim::Click(key.clone(), 0))),
            None,
            "",
            404,
        ),
        case(
            "click: tampered link index",
            "GET",
            format!(
                "/t/c/{}",
                keys.sign(&Claim::Click(key.clone(), 0))
                    .replacen(".0.0.", ".0.1.", 1)
            ),
            None,
            "",
            404,
        ),
        case(
            "click: link that the mail did not have",
            "GET",
            format!("/t/c/{}", keys.sign(&Claim::Click(key.clone(), 9))),
            None,
            "",
            404,
        ),
        case(
            "click: mail never sent",
            "GET",
            format!(
                "/t/c/{}",
                keys.sign(&Claim::Click(
                    MessageKey::step(lead.clone(), enrollment.clone(), 3),
                    0
                ))
            ),
            None,
            "",
            404,
        ),
        case(
            "click: unknown enrollment",
            "GET",
            format!(
                "/t/c/{}",
                keys.sign(&Claim::Click(
                    MessageKey::Step {
                        lead_id: LeadId::new("x"),
                        enrollment_id: EnrollmentId::new("y"),
                        step: 0
                    },
                    0
                ))
            ),
            None,
            "",
            404,
        ),
        // /u/{token}
        case(
            "unsubscribe page: forged",
            "GET",
            format!("/u/{}", forged.sign(&Claim::Unsubscribe(lead.clone(), None))),
            None,
            "",
            404,
        ),
        case(
            "unsubscribe: forged",
            "POST",
            format!("/u/{}", forged.sign(&Claim::Unsubscribe(lead.clone(), None))),
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
            404,
        ),
        case(
            "unsubscribe: open token",
            "POST",
            format!("/u/{}", keys.sign(&Claim::Open(key.clone()))),
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
            404,
        ),
        case(
            "unsubscribe: malformed multipart",
            "POST",
            format!("/u/{unsub}"),
            Some("multipart/form-data; boundary=b0"),
            "--b0\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click",
            400,
        ),
        case(
            "unsubscribe: multipart without a boundary",
            "POST",
            format!("/u/{unsub}"),
            Some("multipart/form-data"),
            "List-Unsubscribe=One-Click",
            400,
        ),
        case(
            "unsubscribe: multipart with another field",
            "POST",
            format!("/u/{unsub}"),
            Some("multipart/form-data; boundary=b0"),
            "--b0\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nMaybe\r\n--b0--\r\n",
            400,
        ),
        case(
            "unsubscribe: JSON body",
            "POST",
            format!("/u/{unsub}"),
            Some("application/json"),
            "{\"List-Unsubscribe\":\"One-Click\"}",
            415,
        ),
        case(
            "unsubscribe: wrong body",
            "POST",
            format!("/u/{unsub}"),
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=Maybe",
            400,
        ),
        case(
            "unsubscribe: unknown lead",
            "POST",
            format!(
                "/u/{}",
                keys.sign(&Claim::Unsubscribe(LeadId::new("ghost"), None))
            ),
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
            404,
        ),
        case(
            "unsubscribe: wrong method",
            "PUT",
            format!("/u/{unsub}"),
            None,
            "",
            405,
        ),
        // POST /forms/{id}
        case(
            "form: unknown form",
            "POST",
            "/forms/nope",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=on",
            404,
        ),
        case(
            "form: wrong media type",
            "POST",
            "/forms/whitepaper",
            Some("text/plain"),
            "email=b@example.jp",
            415,
        ),
        case(
            "form: malformed JSON",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            "{\"email\":",
            400,
        ),
        case(
            "form: JSON not an object",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            "[1,2]",
            400,
        ),
        case(
            "form: too large",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            vec![b'a'; 40 * 1024],
            413,
        ),
        case(
            "form: missing email",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "name=x&consent=on",
            422,
        ),
        case(
            "form: invalid email",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "not-an-address", "consent": true }).to_string(),
            422,
        ),
        case(
            "form: no consent on a consent form",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp",
            422,
        ),
        case(
            "form: bad time zone",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=on&time_zone=Nowhere%2FLand",
            422,
        ),
        case(
            "form: overlong field",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            format!(
                "email=b%40example.jp&consent=on&company={}",
                "x".repeat(300)
            ),
            422,
        ),
        case(
            "form: control characters",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=on&name=a%0Db",
            422,
        ),
        case(
            "form: bad visitor id",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=on&visitor_id=%3Cscript%3E",
            422,
        ),
        case(
            "form: name as an object",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": true, "name": { "x": 1 } }).to_string(),
            422,
        ),
        case(
            "form: name as an array",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": true, "name": ["a", "b"] }).to_string(),
            422,
        ),
        case(
            "form: company as a number",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": true, "company": 7 }).to_string(),
            422,
        ),
        case(
            "form: visitor_id as a number",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": true, "visitor_id": 123 }).to_string(),
            422,
        ),
        case(
            "form: submission_id as an object",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": true, "submission_id": { "x": 1 } })
                .to_string(),
            422,
        ),
        case(
            "form: consent as a string in JSON",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": "yes" }).to_string(),
            422,
        ),
        case(
            "form: email as a number",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": 5, "consent": true }).to_string(),
            422,
        ),
        case(
            "form: unknown JSON field",
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": true, "compnay": "typo" }).to_string(),
            422,
        ),
        case(
            "form: visitor id of 3 characters",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=on&visitor_id=v-1",
            422,
        ),
        case(
            "form: consent neither yes nor no",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=maybe",
            422,
        ),
        case(
            "form: email given twice",
            "POST",
            "/forms/whitepaper",
            Some("application/x-www-form-urlencoded"),
            "email=b%40example.jp&consent=on&email=c%40example.jp",
            422,
        ),
        case(
            "form: malformed multipart",
            "POST",
            "/forms/whitepaper",
            Some("multipart/form-data; boundary=b0"),
            "--b0\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nb@example.jp",
            400,
        ),
        case(
            "form: wrong method",
            "GET",
            "/forms/whitepaper",
            None,
            "",
            405,
        ),
        // Elsewhere
        case("unknown route", "GET", "/secrets", None, "", 404),
        case(
            "admin route without the token",
            "GET",
            "/admin/secrets",
            None,
            "",
            401,
        ),
        case(
            "kindling.js: wrong method",
            "POST",
            "/kindling.js",
            None,
            "",
            405,
        ),
    ];

    let before = t.counts();
    for c in cases {
        // Spaced out, so the local rate limit (tested on its own) lets each through.
        t.clock.advance(chrono::Duration::seconds(10));
        let res = t.request(c.method, &c.uri, c.content_type, c.body).await;
        assert_eq!(
            res.status().as_u16(),
            c.status,
            "{}: {}",
            c.what,
            String::from_utf8_lossy(res.body())
        );
        assert_eq!(
            res.headers()["content-type"],
            "application/json",
            "{}",
            c.what
        );
        // RFC 9110: a 405 says which methods the route takes, a 401 how to authenticate.
        match c.status {
            405 => {
                let allow = res.headers().get("allow").map(|v| v.to_str().unwrap());
                assert!(
                    allow.is_some_and(|a| !a.is_empty() && !a.contains(c.method)),
                    "{}: Allow {allow:?}",
                    c.what
                );
            }
            401 => assert_eq!(
                res.headers()["www-authenticate"],
                "Bearer realm=\"kindling-admin\"",
                "{}",
                c.what
            ),
            _ => {}
        }
        let body: Value = serde_json::from_slice(res.body())
            .unwrap_or_else(|_| panic!("{}: body is not JSON", c.what));
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{}: {body}",
            c.what
        );
        assert_eq!(t.counts(), before, "{} wrote something", c.what);
    }
    assert_eq!(t.mailer.count(), 1);
}

#[tokio::test]
async fn form_validation_names_every_bad_field() {
    let t = TestApp::new();
    let res = t
        .request(
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "x", "time_zone": "Bad/Zone", "language": "日本語" }).to_string(),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = serde_json::from_slice(res.body()).unwrap();
    let fields = body["fields"].as_object().unwrap();
    let mut names: Vec<_> = fields.keys().cloned().collect();
    names.sort();
    assert_eq!(names, vec!["consent", "email", "language", "time_zone"]);

    // Every field has one type; the 422 names each field given another.
    let res = t
        .request(
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "b@example.jp", "consent": "on", "name": { "first": "a" }, "company": 7,
                    "visitor_id": 123, "submission_id": { "x": 1 }, "compnay": "x" })
            .to_string(),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(
        body["fields"],
        json!({
            "company": "must be a string",
            "compnay": "unknown field",
            "consent": "must be true or false",
            "name": "must be a string",
            "submission_id": "must be a string",
            "visitor_id": "must be a string",
        })
    );
    assert!(
        t.counts()
            .iter()
            .all(|(table, n)| *n == 0 || table == "bus"),
        "{:?}",
        t.counts()
    );
}

#[tokio::test]
async fn forms_take_json_nulls_as_absent_and_multipart_as_a_browser_posts_it() {
    let t = TestApp::new();
    let res = t
        .request(
            "POST",
            "/forms/whitepaper",
            Some("application/json"),
            json!({ "email": "json@example.jp", "consent": true, "name": null, "company": "株式会社J" })
                .to_string(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
    let lead = t.lead("json@example.jp").await;
    assert_eq!(lead.profile.company.as_deref(), Some("株式会社J"));
    assert_eq!(lead.profile.name, None);

    let body = "--f0\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmulti@example.jp\r\n--f0\r\nContent-Disposition: form-data; name=\"consent\"\r\n\r\non\r\n--f0\r\nContent-Disposition: form-data; name=\"visitor_id\"\r\n\r\nv-multipart-1\r\n--f0\r\nContent-Disposition: form-data; name=\"send\"\r\n\r\nDownload\r\n--f0--\r\n";
    let res = t
        .request(
            "POST",
            "/forms/whitepaper",
            Some("multipart/form-data; boundary=f0"),
            body,
        )
        .await;
    assert_eq!(res.status(), 303, "{}", String::from_utf8_lossy(res.body()));
    assert!(t.lead("multi@example.jp").await.consent.is_some());
}

#[tokio::test]
async fn a_405_names_exactly_the_methods_of_its_route() {
    let t = TestApp::new();
    for (method, uri, allow) in [
        ("GET", "/t/events", "POST"),
        ("POST", "/t/o/x", "GET"),
        ("DELETE", "/t/c/x", "GET"),
        ("PUT", "/u/x", "GET, POST"),
        ("GET", "/forms/whitepaper", "POST"),
        ("POST", "/kindling.js", "GET"),
    ] {
        let res = t.request(method, uri, None, "").await;
        assert_eq!(res.status(), 405, "{method} {uri}");
        assert_eq!(res.headers()["allow"], allow, "{method} {uri}");
    }
    // A path that is no route is a 404, whatever the method.
    for (method, uri) in [("GET", "/t/nope"), ("DELETE", "/forms"), ("GET", "/u")] {
        assert_eq!(
            t.request(method, uri, None, "").await.status(),
            404,
            "{method} {uri}"
        );
    }
}
