//! Links in mails already delivered keep working. These tokens were minted on 2026-12-01 by the
//! code before the message key was generalized (`MessageKey` of lead, enrollment and step), with the
//! tests' key `t1`; they must verify and resolve as they did then, whatever the key becomes.

use chrono::Duration;
use kindling::email::EmailAddress;
use kindling::ids::{EnrollmentId, LeadId};
use kindling::leads::{Consent, Lead};
use kindling::message::MessageKey;
use kindling::sending::ledger::{SendRecord, SendState};
use kindling::sending::schedule::FrequencyCap;
use kindling_tests::harness::TestApp;

const OPEN: &str = "t1.o.lcompat0001.ecompat0001.2.kjHYTvWKfzbJEYhkFVZR2A";
const CLICK: &str = "t1.c.lcompat0001.ecompat0001.2.0.idHJ8PczoYPs54LM9Y3-vA";
const HIDDEN: &str = "t1.c.lcompat0001.ecompat0001.2.65535.Gigj51G4tT1lpn_7O_aRrA";
const UNSUBSCRIBE: &str = "t1.u.lcompat0001.lKzHfNf9Ug5EsOdX6kIX_A";
const IDENTIFY: &str = "t1.i.lcompat0001.Dc7MDPggIqiKl42xg11eVg";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The lead those tokens name, and the send record the sender wrote for its step 2 a day ago.
async fn app() -> TestApp {
    let t = TestApp::new();
    let k = &t.app.kindling;
    let sent_at = t.now() - Duration::days(1);
    let mut lead = Lead::new(
        LeadId::new("lcompat0001"),
        EmailAddress::parse("compat@example.jp").unwrap(),
        sent_at,
    );
    lead.consent = Some(Consent {
        at: sent_at,
        form_id: "whitepaper".into(),
        text_version: "2026-04".into(),
        source_ip: None,
        user_agent: None,
    });
    k.stores.leads.insert_lead(&lead).await.unwrap();
    let mut record = SendRecord {
        key: MessageKey::Step {
            lead_id: LeadId::new("lcompat0001"),
            enrollment_id: EnrollmentId::new("ecompat0001"),
            step: 2,
        },
        sequence_id: Some("document_followup".into()),
        template: "doc_case_study".into(),
        state: SendState::Sending,
        claimed_at: sent_at,
        sent_at: None,
        provider_message_id: None,
        links: vec!["https://example.jp/case-study.html".into()],
        error: None,
    };
    let cap = FrequencyCap {
        max: 1,
        window: Duration::hours(24),
    };
    k.stores
        .sends
        .claim_send(&record, Some(cap), sent_at)
        .await
        .unwrap();
    record.state = SendState::Sent;
    record.sent_at = Some(sent_at);
    k.stores.sends.complete_send(&record).await.unwrap();
    t
}

async fn get(t: &TestApp, path: &str) -> http::Response<bytes::Bytes> {
    let mut req = http::Request::builder()
        .uri(path)
        .header("user-agent", CHROME)
        .body(bytes::Bytes::new())
        .unwrap();
    req.extensions_mut().insert(kindling::web::ClientInfo {
        ip: Some("203.0.113.9".into()),
        ..Default::default()
    });
    let res = t.app.http(req).await;
    t.app.pump().await.unwrap();
    res
}

#[tokio::test]
async fn tokens_minted_before_the_message_key_was_generalized_still_verify_and_resolve() {
    let t = app().await;
    // The click redirects to the destination recorded at send time, with an identity token.
    let click = get(&t, &format!("/t/c/{CLICK}")).await;
    assert_eq!(click.status(), 302);
    let location = click.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://example.jp/case-study.html?kl_lt=t1.i.lcompat0001."),
        "{location}"
    );
    // The hidden link answers 200 and redirects nowhere; the pixel is a GIF.
    assert_eq!(get(&t, &format!("/t/c/{HIDDEN}")).await.status(), 200);
    let pixel = get(&t, &format!("/t/o/{OPEN}")).await;
    assert_eq!(pixel.status(), 200);
    assert_eq!(pixel.headers()["content-type"], "image/gif");
    // Each hit was recorded against that mail.
    let log = t.activities("compat@example.jp").await;
    let of_the_mail = log
        .iter()
        .filter(|a| {
            a.attrs.enrollment_id.as_ref().map(|e| e.as_str()) == Some("ecompat0001")
                && a.attrs.step == Some(2)
        })
        .count();
    assert_eq!(of_the_mail, 3, "{log:?}");
    // The identity token of a person's click ties a browser to the lead.
    let beacon = serde_json::json!({ "visitor_id": "v-compat-0001", "events": [
        { "id": "e1", "type": "identify", "url": "https://example.jp/", "token": IDENTIFY } ] });
    let res = t
        .request("POST", "/t/events", Some("text/plain"), beacon.to_string())
        .await;
    assert_eq!(res.status(), 202);
    // The unsubscribe page shows, and one-click unsubscribes.
    assert_eq!(get(&t, &format!("/u/{UNSUBSCRIBE}")).await.status(), 200);
    let res = t
        .request(
            "POST",
            &format!("/u/{UNSUBSCRIBE}"),
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(t.lead("compat@example.jp").await.unsubscribed_at.is_some());
}
