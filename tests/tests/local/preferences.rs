//! The preference page (`/u/{token}`): GET shows a checkbox per topic and changes nothing; POST
//! saves the choice, or leaves everything; RFC 8058 one-click leaves the mail's topic, or
//! everything when configured; forged tokens, unknown topics and bodies that say something
//! else are refused and write nothing.

use kindling::ids::{LeadId, TopicId};
use kindling::token::Claim;
use kindling_tests::harness::{config_with, lead_fields, monday_10_jst, TestApp};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

async fn lead(t: &TestApp, email: &str) -> LeadId {
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    t.lead(email).await.id
}

fn link(t: &TestApp, lead: &LeadId, topic: Option<&str>) -> String {
    let claim = Claim::Unsubscribe(lead.clone(), topic.map(TopicId::new));
    format!("/u/{}", t.app.kindling.keys.sign(&claim))
}

fn text(res: &http::Response<bytes::Bytes>) -> String {
    String::from_utf8_lossy(res.body()).into_owned()
}

#[tokio::test]
async fn get_shows_the_topics_and_changes_nothing_and_post_saves() {
    let t = TestApp::new();
    let id = lead(&t, "pref@example.jp").await;
    let path = link(&t, &id, Some("newsletter"));
    let before = t.counts();
    let res = t.request("GET", &path, None, "").await;
    assert_eq!(res.status(), 200);
    let page = text(&res);
    for topic in ["newsletter", "events", "product_updates"] {
        assert!(
            page.contains(&format!(
                "name=\"topic\" value=\"{topic}\" id=\"topic-{topic}\" checked"
            )),
            "{topic} checked: {page}"
        );
    }
    assert!(page.contains("このメールは「ニュースレター / Newsletter」の配信です"));
    assert!(page.contains("name=\"action\" value=\"everything\""));
    assert_eq!(t.counts(), before, "GET changes nothing");

    // Save with the newsletter unchecked.
    let save = "action=save&topic=events&topic=product_updates";
    let res = t.request("POST", &path, FORM, save).await;
    assert_eq!(res.status(), 200, "{}", text(&res));
    assert!(text(&res).contains("保存しました"));
    let l = t.lead("pref@example.jp").await;
    assert!(l.preferences.left(&TopicId::new("newsletter")));
    assert!(!l.preferences.left(&TopicId::new("events")));
    assert!(l.unsubscribed_at.is_none());
    // The page shows it unchecked now; saving the same again writes nothing.
    let page = text(&t.request("GET", &path, None, "").await);
    assert!(
        page.contains("value=\"newsletter\" id=\"topic-newsletter\">"),
        "{page}"
    );
    let after = t.counts();
    let version = t.lead("pref@example.jp").await.version;
    assert_eq!(t.request("POST", &path, FORM, save).await.status(), 200);
    assert_eq!(t.counts(), after);
    assert_eq!(t.lead("pref@example.jp").await.version, version);
    // Checking it again subscribes again; both changes are in the history.
    let all = "action=save&topic=newsletter&topic=events&topic=product_updates";
    assert_eq!(t.request("POST", &path, FORM, all).await.status(), 200);
    let l = t.lead("pref@example.jp").await;
    assert!(l.preferences.opted_out.is_empty());
    let h: Vec<(bool, &str)> = l
        .preferences
        .history
        .iter()
        .map(|c| (c.subscribed, c.via.as_str()))
        .collect();
    assert_eq!(h, [(false, "page"), (true, "page")]);

    // Everything: unsubscribed and suppressed; the page then offers nothing more.
    let res = t.request("POST", &path, FORM, "action=everything").await;
    assert_eq!(res.status(), 200);
    let l = t.lead("pref@example.jp").await;
    assert!(l.unsubscribed_at.is_some());
    assert!(t
        .app
        .kindling
        .stores
        .suppressions
        .suppression(&l.email)
        .await
        .unwrap()
        .is_some());
    let last = l.preferences.history.last().unwrap();
    assert_eq!((last.topic.as_ref(), last.via.as_str()), (None, "page"));
    let page = text(&t.request("GET", &path, None, "").await);
    assert!(
        page.contains("配信を停止しました") && !page.contains("<form"),
        "{page}"
    );
}

#[tokio::test]
async fn one_click_leaves_the_mails_topic_or_everything_as_configured() {
    // Default: the topic of the mail.
    let t = TestApp::new();
    let id = lead(&t, "oc@example.jp").await;
    let res = t
        .request(
            "POST",
            &link(&t, &id, Some("events")),
            FORM,
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(text(&res).contains("セミナー・イベント"));
    let l = t.lead("oc@example.jp").await;
    assert!(l.preferences.left(&TopicId::new("events")) && l.unsubscribed_at.is_none());
    assert_eq!(l.preferences.history[0].via, "one_click");
    // A link of no topic (mails from before topics) leaves everything.
    let res = t.request("POST", &link(&t, &id, None), None, "").await;
    assert_eq!(res.status(), 200);
    assert!(t.lead("oc@example.jp").await.unsubscribed_at.is_some());

    // Configured to leave everything.
    let t = TestApp::with_config(
        config_with(|s| s.replace("one_click = \"topic\"", "one_click = \"everything\"")),
        monday_10_jst(),
    );
    let id = lead(&t, "all@example.jp").await;
    let res = t
        .request(
            "POST",
            &link(&t, &id, Some("events")),
            FORM,
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(res.status(), 200);
    let l = t.lead("all@example.jp").await;
    assert!(l.unsubscribed_at.is_some());
    assert!(l.preferences.opted_out.is_empty());
}

#[tokio::test]
async fn bad_posts_and_forged_links_change_nothing() {
    let t = TestApp::new();
    let id = lead(&t, "bad@example.jp").await;
    let path = link(&t, &id, Some("newsletter"));
    let forged = {
        let other = kindling::token::SigningKeys::new(vec![("k1".into(), vec![9; 32])]).unwrap();
        format!(
            "/u/{}",
            other.sign(&Claim::Unsubscribe(
                id.clone(),
                Some(TopicId::new("newsletter"))
            ))
        )
    };
    let before = t.counts();
    let version = t.lead("bad@example.jp").await.version;
    let cases: [(&str, &str, Option<&str>, &str, u16); 8] = [
        ("unknown topic", &path, FORM, "action=save&topic=nope", 400),
        ("not an id", &path, FORM, "action=save&topic=a%20b", 400),
        ("unknown action", &path, FORM, "action=subscribe_all", 400),
        ("another field", &path, FORM, "List-Unsubscribe=Maybe", 400),
        ("json", &path, Some("application/json"), "{\"a\":1}", 415),
        ("forged, post", &forged, FORM, "action=everything", 404),
        ("forged, get", &forged, None, "", 404),
        (
            "a lead that does not exist",
            &link(&t, &LeadId::new("ghost"), Some("newsletter")),
            None,
            "",
            404,
        ),
    ];
    for (what, path, ct, body, status) in cases {
        let method = if body.is_empty() && ct.is_none() {
            "GET"
        } else {
            "POST"
        };
        let res = t.request(method, path, ct, body.to_owned()).await;
        assert_eq!(res.status().as_u16(), status, "{what}: {}", text(&res));
    }
    assert_eq!(t.counts(), before);
    assert_eq!(t.lead("bad@example.jp").await.version, version);
}
