//! RFC 8058 one-click unsubscribe as mail receivers really send it: `multipart/form-data` (what
//! §3 says a receiver SHOULD send), urlencoded, `text/plain`, or no body at all. The signed token
//! authorizes; the body only confirms.

use kindling::token::Claim;
use kindling_tests::harness::{lead_fields, TestApp};

/// A lead and the path of its unsubscribe link.
async fn lead_with_link(t: &TestApp, email: &str) -> String {
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    let lead = t.lead(email).await;
    format!(
        "/u/{}",
        t.app.kindling.keys.sign(&Claim::Unsubscribe(lead.id, None))
    )
}

const MULTIPART: &str = "--------kindlingtestboundary\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--------kindlingtestboundary--\r\n";

#[tokio::test]
async fn every_body_receivers_send_unsubscribes_at_once() {
    let t = TestApp::new();
    let cases: [(&str, Option<&str>, &str); 6] = [
        (
            "multipart",
            Some("multipart/form-data; boundary=------kindlingtestboundary"),
            MULTIPART,
        ),
        (
            "multipart, quoted boundary",
            Some("multipart/form-data; boundary=\"------kindlingtestboundary\""),
            MULTIPART,
        ),
        (
            "urlencoded",
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
        ),
        (
            "text/plain",
            Some("text/plain"),
            "List-Unsubscribe=One-Click",
        ),
        ("empty body", Some("application/x-www-form-urlencoded"), ""),
        ("no content type, no body", None, ""),
    ];
    for (i, (what, ct, body)) in cases.into_iter().enumerate() {
        let email = format!("oc{i}@example.jp");
        let path = lead_with_link(&t, &email).await;
        let res = t.request("POST", &path, ct, body).await;
        assert_eq!(
            res.status(),
            200,
            "{what}: {}",
            String::from_utf8_lossy(res.body())
        );
        let lead = t.lead(&email).await;
        assert!(lead.unsubscribed_at.is_some(), "{what}: unsubscribed");
        let suppressed = t
            .app
            .kindling
            .stores
            .suppressions
            .suppression(&lead.email)
            .await
            .unwrap();
        assert!(suppressed.is_some(), "{what}: suppressed");
        // A second post (receivers retry) changes nothing.
        let before = t.counts();
        assert_eq!(t.request("POST", &path, ct, body).await.status(), 200);
        assert_eq!(t.counts(), before, "{what}: repeat is harmless");
    }
}
