//! The local pipeline end to end, through the HTTP entry logic: tracking, forms, scoring, step
//! mails in the outbox, opens, clicks, hot alerts and unsubscribe.

use chrono::Duration;
use kindling::ids::TopicId;
use kindling::leads::Temperature;
use kindling_tests::harness::{lead_fields, TestApp};
use mail_parser::MessageParser;
use serde_json::json;

async fn beacon(t: &TestApp, visitor: &str, event_id: &str, path: &str) -> http::StatusCode {
    let body = json!({ "visitor_id": visitor, "events": [{ "id": event_id, "type": "page_view", "url": format!("https://example.jp{path}"), "at": t.now() }] });
    t.request(
        "POST",
        "/t/events",
        Some("text/plain;charset=UTF-8"),
        body.to_string(),
    )
    .await
    .status()
}

/// The path (and query) of the first URL in `text` that starts with `prefix`.
fn path_of_url(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '>')
        .collect();
    url.trim_start_matches("https://t.example.jp").to_owned()
}

#[tokio::test]
async fn visit_download_open_click_consult_turns_a_lead_hot_and_alerts_sales_once() {
    let t = TestApp::new();
    // Anonymous pricing visit: stored on the visitor, scored once the visitor becomes a lead.
    assert_eq!(beacon(&t, "v-browser-1", "e1", "/pricing.html").await, 202);
    let mut fields = lead_fields("Taro.Sato@Example.co.jp", "Asia/Tokyo");
    fields.push(("visitor_id", "v-browser-1"));
    let res = t.submit("whitepaper", &fields).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/thanks.html");

    let l = t.lead("taro.sato@example.co.jp").await;
    let consent = l.consent.clone().unwrap();
    assert_eq!(
        (consent.form_id.as_str(), consent.text_version.as_str()),
        ("whitepaper", "2026-04")
    );
    assert_eq!(consent.source_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(consent.user_agent.as_deref(), Some("test-agent/1.0"));
    assert_eq!(l.profile.name.as_deref(), Some("佐藤 太郎"));
    assert_eq!(
        (l.score.total, l.score.temperature),
        (25, Temperature::Cold),
        "pricing 15 (stitched) + download 10"
    );

    let report = t.tick().await;
    assert_eq!(
        report.steps.sent.len(),
        1,
        "day-0 mail goes at once (10:00 JST)"
    );
    let mails = t.outbox();
    assert_eq!(mails.len(), 1);
    let parsed = MessageParser::default().parse(&mails[0]).unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    let html = parsed.body_html(0).unwrap().into_owned();

    // Read half an hour later (an open or click at delivery is a machine's, and scores nothing).
    t.clock.advance(Duration::minutes(30));
    let open = t
        .request(
            "GET",
            &path_of_url(&html, "https://t.example.jp/t/o/"),
            None,
            "",
        )
        .await;
    assert_eq!(open.status(), 200);
    assert_eq!(open.headers()["content-type"], "image/gif");
    let click = t
        .request(
            "GET",
            &path_of_url(&text, "https://t.example.jp/t/c/"),
            None,
            "",
        )
        .await;
    assert_eq!(click.status(), 302);
    // The recorded destination, with the identity token kindling.js on the landing page reads.
    let location = click.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://example.jp/whitepaper.pdf?kl_lt="),
        "{location}"
    );
    // A second open of the same mail is recorded but scores once.
    t.request(
        "GET",
        &path_of_url(&html, "https://t.example.jp/t/o/"),
        None,
        "",
    )
    .await;
    assert_eq!(t.lead("taro.sato@example.co.jp").await.score.total, 40);

    // An API client (JSON) requests a consultation: +30 crosses 50.
    let res = t
        .request(
            "POST",
            "/forms/consultation",
            Some("application/json"),
            json!({ "email": "taro.sato@example.co.jp", "consent": true }).to_string(),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(res.body()).unwrap(),
        json!({ "status": "accepted" })
    );
    let l = t.lead("taro.sato@example.co.jp").await;
    assert_eq!(
        (l.score.total, l.score.temperature, l.score.hot_crossings),
        (70, Temperature::Hot, 1)
    );

    let alerts = t.notifier.alerts.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].lead_id, l.id);
    assert_eq!(alerts[0].follow_up_by, t.now() + Duration::hours(48));
    assert_eq!(alerts[0].reasons[0], "consultation_request x1 = +30");

    // Staying hot does not alert again.
    assert_eq!(beacon(&t, "v-browser-1", "e2", "/pricing.html").await, 202);
    assert_eq!(t.lead("taro.sato@example.co.jp").await.score.total, 85);
    assert_eq!(t.notifier.alerts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn one_click_unsubscribe_mid_sequence_stops_every_later_mail() {
    let t = TestApp::new();
    t.submit(
        "whitepaper",
        &lead_fields("hanako@example.jp", "Asia/Tokyo"),
    )
    .await;
    t.tick().await;
    let mails = t.outbox();
    assert_eq!(mails.len(), 1);
    let parsed = MessageParser::default().parse(&mails[0]).unwrap();
    let header = parsed.header_raw("List-Unsubscribe").unwrap();
    let path = path_of_url(header, "https://t.example.jp/u/");

    // A scanner or a person opens the link: the preference page, and nothing changes.
    let before = t.counts();
    let page = t.request("GET", &path, None, "").await;
    assert_eq!(page.status(), 200);
    let html = String::from_utf8_lossy(page.body()).into_owned();
    assert!(
        html.contains("id=\"topic-product_updates\" checked"),
        "{html}"
    );
    assert!(html.contains("id=\"leave-all\""), "{html}");
    assert_eq!(t.counts(), before);

    // The shipped config's one-click leaves the mail's topic: the sequence's own.
    let res = t
        .request(
            "POST",
            &path,
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(res.status(), 200);
    let l = t.lead("hanako@example.jp").await;
    assert!(l.preferences.left(&TopicId::new("product_updates")));
    assert!(l.unsubscribed_at.is_none(), "one topic, not everything");
    // Repeating it is harmless.
    let after = t.counts();
    assert_eq!(
        t.request(
            "POST",
            &path,
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click"
        )
        .await
        .status(),
        200
    );
    assert_eq!(t.counts(), after);

    let reports = t
        .run_until(t.now() + Duration::days(15), Duration::minutes(30))
        .await;
    assert_eq!(t.outbox().len(), 1, "nothing after leaving the topic");
    assert!(reports
        .iter()
        .flat_map(|r| &r.steps.ended)
        .any(|e| e.reason == "topic_opt_out"));

    // Leaving everything from the same page unsubscribes and suppresses the address.
    let res = t
        .request(
            "POST",
            &path,
            Some("application/x-www-form-urlencoded"),
            "action=everything",
        )
        .await;
    assert_eq!(res.status(), 200);
    let l = t.lead("hanako@example.jp").await;
    assert!(l.unsubscribed_at.is_some());
    let s = t
        .app
        .kindling
        .stores
        .suppressions
        .suppression(&l.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.reason.as_str(), "unsubscribed");
}

#[tokio::test]
async fn every_outbox_mail_is_valid_mime_with_one_click_unsubscribe_and_the_postal_address() {
    let t = TestApp::new();
    t.submit("whitepaper", &lead_fields("a@example.jp", "Asia/Tokyo"))
        .await;
    let mut en = lead_fields("john@acme.example", "America/New_York");
    en.push(("language", "en"));
    en[1] = ("name", "John Smith");
    t.submit("whitepaper", &en).await;
    t.submit("seminar", &lead_fields("b@example.jp", "Asia/Tokyo"))
        .await;
    t.run_until(t.now() + Duration::days(16), Duration::minutes(15))
        .await;

    let mails = t.outbox();
    assert_eq!(
        mails.len(),
        4 + 4 + 1 + 2,
        "two leads x 4 steps, one seminar mail, and a different-angle mail to each of the two \
         leads who opened none of their first three (trigger not_opening)"
    );
    for raw in &mails {
        let m = MessageParser::default().parse(raw).expect("parses as MIME");
        let lu = m.header_raw("List-Unsubscribe").expect("List-Unsubscribe");
        assert!(lu.trim_start().starts_with("<https://"), "{lu}");
        assert!(lu.contains("<mailto:"), "{lu}");
        assert_eq!(
            m.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
        assert_eq!((m.text_body_count(), m.html_body_count()), (1, 1));
        for body in [m.body_text(0).unwrap(), m.body_html(0).unwrap()] {
            assert!(body.contains("東京都千代田区丸の内1-1-1"), "postal address");
            assert!(body.contains("https://t.example.jp/u/"), "opt-out link");
        }
        assert!(m.subject().is_some_and(|s| !s.is_empty()));
        let head = &raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()];
        assert!(head.is_ascii(), "headers are 7-bit (RFC 2047 for Japanese)");
    }
    let english = mails
        .iter()
        .map(|r| MessageParser::default().parse(r).unwrap())
        .find(|m| m.to().unwrap().first().unwrap().address() == Some("john@acme.example"))
        .unwrap();
    assert_eq!(
        english.subject(),
        Some("Thanks for downloading our guide - Kindling")
    );
}

#[tokio::test]
async fn kindling_js_is_served() {
    let t = TestApp::new();
    let res = t.request("GET", "/kindling.js", None, "").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    assert!(String::from_utf8_lossy(res.body()).contains("sendBeacon"));
}
