//! Opens and clicks through the HTTP entry logic: privacy-proxy opens and scanner clicks are
//! recorded with their reason and score 0; people's score; tampered tokens never redirect.

use bytes::Bytes;
use chrono::Duration;
use kindling::activities::classify::Agent;
use kindling::activities::ActivityKind;
use kindling_tests::harness::{lead_fields, TestApp};
use mail_parser::MessageParser;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const EMAIL: &str = "trust@example.co.jp";

/// A GET from a given agent and address, then the bus delivered.
async fn get(t: &TestApp, path: &str, ua: Option<&str>, ip: &str) -> http::Response<Bytes> {
    t.get_as(path, ua, ip).await
}

/// Every `prefix...` URL of the HTML part of the first mail, as paths.
fn urls(t: &TestApp, prefix: &str) -> Vec<String> {
    let mails = t.outbox();
    let parsed = MessageParser::default().parse(&mails[0]).unwrap();
    let html = parsed.body_html(0).unwrap().into_owned();
    html.match_indices(prefix)
        .map(|(i, _)| {
            html[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '>')
                .collect::<String>()
                .trim_start_matches("https://t.example.jp")
                .to_owned()
        })
        .collect()
}

/// A lead with the day-0 mail sent: score 10 (the download).
async fn lead_with_mail() -> TestApp {
    let t = TestApp::new();
    assert_eq!(
        t.submit("whitepaper", &lead_fields(EMAIL, "Asia/Tokyo"))
            .await
            .status(),
        303
    );
    assert_eq!(t.tick().await.steps.sent.len(), 1);
    assert_eq!(t.lead(EMAIL).await.score.total, 10);
    t
}

async fn hits(t: &TestApp, kind: ActivityKind) -> Vec<(Option<Agent>, Option<String>)> {
    t.activities(EMAIL)
        .await
        .into_iter()
        .filter(|a| a.kind == kind)
        .map(|a| (a.attrs.agent, a.attrs.reason))
        .collect()
}

#[tokio::test]
async fn apple_privacy_proxy_opens_are_kept_but_score_nothing() {
    let t = lead_with_mail().await;
    let pixel = &urls(&t, "https://t.example.jp/t/o/")[0];
    t.clock.advance(Duration::seconds(40));
    assert_eq!(
        get(&t, pixel, Some("Mozilla/5.0"), "17.58.101.3")
            .await
            .status(),
        200
    );
    assert_eq!(t.lead(EMAIL).await.score.total, 10);
    // The person opens it two hours later in Outlook.
    t.clock.advance(Duration::hours(2));
    let outlook = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
    assert_eq!(
        get(&t, pixel, Some(outlook), "203.0.113.10").await.status(),
        200
    );
    assert_eq!(t.lead(EMAIL).await.score.total, 15);
    assert_eq!(
        hits(&t, ActivityKind::EmailOpen).await,
        vec![
            (
                Some(Agent::MachineOpen),
                Some("apple_mail_privacy_protection".into())
            ),
            (Some(Agent::Human), Some("mail_client".into())),
        ]
    );
}

#[tokio::test]
async fn a_scanner_at_delivery_gets_redirected_but_scores_nothing_and_a_person_later_does() {
    let t = lead_with_mail().await;
    let links = urls(&t, "https://t.example.jp/t/c/");
    // The visible link and the hidden one.
    assert_eq!(links.len(), 2, "{links:?}");
    let (visible, hidden) = (&links[0], &links[1]);
    // Safe Links detonates at delivery: the scanner must get the real page, or it flags the mail.
    t.clock.advance(Duration::seconds(3));
    let res = get(&t, visible, Some(CHROME), "40.93.40.10").await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "https://example.jp/whitepaper.pdf"
    );
    // It follows the hidden link too: 200, no redirect anywhere.
    let res = get(&t, hidden, Some(CHROME), "40.93.40.10").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("location").is_none());
    assert_eq!(t.lead(EMAIL).await.score.total, 10);

    t.clock.advance(Duration::hours(3));
    assert_eq!(
        get(&t, visible, Some(CHROME), "198.51.100.23")
            .await
            .status(),
        302
    );
    assert_eq!(t.lead(EMAIL).await.score.total, 20, "a person's click: +10");
    let reasons: Vec<_> = hits(&t, ActivityKind::EmailClick).await;
    assert_eq!(
        reasons,
        vec![
            (
                Some(Agent::ScannerClick),
                Some("network_microsoft_safe_links".into())
            ),
            (Some(Agent::ScannerClick), Some("hidden_link".into())),
            (Some(Agent::Human), Some("browser".into())),
        ]
    );
}

#[tokio::test]
async fn a_click_just_before_a_hidden_link_hit_is_the_same_machine() {
    let t = lead_with_mail().await;
    let links = urls(&t, "https://t.example.jp/t/c/");
    t.clock.advance(Duration::minutes(30));
    // An unknown sandbox with a browser agent: the first click looks human on its own.
    assert_eq!(
        get(&t, &links[0], Some(CHROME), "192.0.2.180")
            .await
            .status(),
        302
    );
    assert_eq!(t.lead(EMAIL).await.score.total, 20);
    t.clock.advance(Duration::seconds(1));
    assert_eq!(
        get(&t, &links[1], Some(CHROME), "192.0.2.180")
            .await
            .status(),
        200
    );
    // Rescored from the log: both clicks were the machine.
    assert_eq!(t.lead(EMAIL).await.score.total, 10);
}

#[tokio::test]
async fn tampered_tokens_score_nothing_and_never_redirect() {
    let t = lead_with_mail().await;
    let visible = urls(&t, "https://t.example.jp/t/c/")[0].clone();
    t.clock.advance(Duration::hours(1));
    let before = t.counts();
    let last = visible.chars().last().unwrap();
    let flipped = if last == 'A' { 'B' } else { 'A' };
    let tampered = format!("{}{flipped}", &visible[..visible.len() - 1]);
    for path in [
        tampered.as_str(),
        "/t/c/k1.c.L1.E1.0.0.AAAAAAAAAAAAAAAAAAAAAA",
        "/t/c/https%3A%2F%2Fevil.example%2F",
        "/t/o/not-a-token",
    ] {
        let res = get(&t, path, Some(CHROME), "198.51.100.23").await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.headers().get("location").is_none(), "{path}");
    }
    assert_eq!(t.counts(), before);
    assert_eq!(t.lead(EMAIL).await.score.total, 10);
}

async fn beacon(t: &TestApp, visitor: &str, events: serde_json::Value) -> http::StatusCode {
    let body = serde_json::json!({ "visitor_id": visitor, "events": events });
    t.request("POST", "/t/events", Some("text/plain"), body.to_string())
        .await
        .status()
}

#[tokio::test]
async fn a_mail_link_ties_another_device_to_the_lead_and_its_earlier_pages_count() {
    let t = lead_with_mail().await;
    // A phone browses pricing anonymously.
    let now = t.now();
    let view = serde_json::json!([{ "id": "p1", "type": "page_view", "url": "https://example.jp/pricing.html", "at": now }]);
    assert_eq!(beacon(&t, "v-phone-1", view).await, 202);
    assert_eq!(t.lead(EMAIL).await.score.total, 10);

    // Later the person taps the mail's link on that phone: the redirect carries an identity token.
    t.clock.advance(Duration::hours(1));
    let visible = urls(&t, "https://t.example.jp/t/c/")[0].clone();
    let res = get(&t, &visible, Some(CHROME), "198.51.100.23").await;
    let location = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let token = location
        .query_pairs()
        .find(|(k, _)| k == "kl_lt")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // kindling.js on the landing page sends it with its visitor id, then the page view.
    let now = t.now();
    let landing = serde_json::json!([
        { "id": "i1", "type": "identify", "url": location.as_str(), "at": now, "token": token },
        { "id": "p2", "type": "page_view", "url": location.as_str(), "at": now },
    ]);
    assert_eq!(beacon(&t, "v-phone-1", landing).await, 202);
    let report_visitors = t
        .app
        .kindling
        .stores
        .visitors
        .visitors_of_lead(&t.lead(EMAIL).await.id)
        .await
        .unwrap();
    assert!(report_visitors.iter().any(|v| v.as_str() == "v-phone-1"));
    // The token is not kept in the page view's URL.
    let phone = t
        .app
        .kindling
        .stores
        .activities
        .activities_of_visitor(&kindling::ids::VisitorId::new("v-phone-1"))
        .await
        .unwrap();
    let landing_view = phone
        .iter()
        .find(|a| {
            a.attrs
                .url
                .as_deref()
                .is_some_and(|u| u.contains("whitepaper"))
        })
        .unwrap();
    assert_eq!(
        landing_view.attrs.url.as_deref(),
        Some("https://example.jp/whitepaper.pdf")
    );

    assert_eq!(
        t.lead(EMAIL).await.score.total,
        35,
        "download 10 + click 10 + the phone's earlier pricing view 15"
    );
}

#[tokio::test]
async fn scanners_get_no_identity_token() {
    let t = lead_with_mail().await;
    let visible = urls(&t, "https://t.example.jp/t/c/")[0].clone();
    t.clock.advance(Duration::seconds(2));
    let res = get(&t, &visible, Some(CHROME), "198.51.100.23").await;
    assert_eq!(
        res.headers()["location"],
        "https://example.jp/whitepaper.pdf"
    );
}

#[tokio::test]
async fn a_browsers_own_history_is_swept_after_the_cookie_lifetime() {
    let t = TestApp::new();
    let now = t.now();
    let view = |id: &str| serde_json::json!([{ "id": id, "type": "page_view", "url": "https://example.jp/pricing.html", "at": now }]);
    assert_eq!(beacon(&t, "v-old-0001", view("o1")).await, 202);
    let count = |t: &TestApp| {
        t.counts()
            .into_iter()
            .find(|(table, _)| table == "activities")
            .map(|(_, n)| n)
            .unwrap()
    };
    assert_eq!(count(&t), 1);
    t.clock.advance(Duration::days(
        kindling::activities::VISITOR_HISTORY_DAYS - 1,
    ));
    t.tick().await;
    assert_eq!(count(&t), 1, "kept within the cookie's lifetime");
    t.clock.advance(Duration::days(2));
    t.tick().await;
    assert_eq!(count(&t), 0, "swept after it");
}

#[tokio::test]
async fn a_flooding_browser_is_rate_limited_locally_and_nothing_more_is_stored() {
    let t = TestApp::new();
    let now = t.now();
    let mut statuses = Vec::new();
    for i in 0..70 {
        let view = serde_json::json!([{ "id": format!("f{i}"), "type": "page_view", "url": "https://example.jp/", "at": now }]);
        statuses.push(beacon(&t, "v-flood-1", view).await);
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(limited, 10, "a burst of 60 per visitor, then 429");
    let stored = t
        .counts()
        .into_iter()
        .find(|(table, _)| table == "activities")
        .map(|(_, n)| n)
        .unwrap();
    assert_eq!(stored, 60);
    // Another browser is not affected; the flooder recovers with time.
    let view = serde_json::json!([{ "id": "g1", "type": "page_view", "url": "https://example.jp/", "at": now }]);
    assert_eq!(beacon(&t, "v-calm-1", view.clone()).await, 202);
    t.clock.advance(Duration::seconds(5));
    let view = serde_json::json!([{ "id": "f-late", "type": "page_view", "url": "https://example.jp/", "at": t.now() }]);
    assert_eq!(beacon(&t, "v-flood-1", view).await, 202);
}

#[tokio::test]
async fn the_server_holds_each_route_to_its_api_limit_for_all_clients_together() {
    let mut t = lead_with_mail().await;
    t.app.route_limits = true;
    let pixel = urls(&t, "https://t.example.jp/t/o/").remove(0);
    let limit = t
        .app
        .kindling
        .config
        .api
        .of(kindling::router::routes::RouteId::OpenPixel)
        .unwrap();
    assert_eq!((limit.rate, limit.burst), (120, 240));
    // Many clients (the privacy proxy's addresses) at one instant: the burst, then 429.
    let mut codes = Vec::new();
    for i in 0..250 {
        let ip = format!("17.58.{}.{}", i / 200, i % 200);
        codes.push(get(&t, &pixel, Some(CHROME), &ip).await.status());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 240);
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 10);
    // The route refills at its rate; another route is not affected.
    t.clock.advance(Duration::seconds(1));
    let mut refilled = 0;
    for _ in 0..121 {
        refilled += usize::from(get(&t, &pixel, Some(CHROME), "17.58.9.9").await.status() == 200);
    }
    assert_eq!(refilled, 120, "one second's worth");
    let click = urls(&t, "https://t.example.jp/t/c/").remove(0);
    assert_eq!(
        get(&t, &click, Some(CHROME), "192.0.2.1").await.status(),
        302
    );
}
