use super::*;
use crate::config::tests::shipped;
use crate::email::EmailAddress;
use crate::ids::{EnrollmentId, LeadId};
use crate::program::is_list_namespace;
use chrono::TimeZone;
use mail_parser::MessageParser;

fn lead() -> Lead {
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
    let mut l = Lead::new(
        LeadId::new("L1"),
        EmailAddress::parse("taro@example.co.jp").unwrap(),
        at,
    );
    l.profile.name = Some("佐藤 太郎".into());
    l.profile.company = Some("株式会社サンプル".into());
    l
}

fn keys() -> SigningKeys {
    SigningKeys::new(vec![("k1".into(), vec![3; 32])]).unwrap()
}

fn key() -> MessageKey {
    MessageKey::Step {
        lead_id: LeadId::new("L1"),
        enrollment_id: EnrollmentId::new("E1"),
        step: 0,
    }
}

fn build(lang: &str) -> ComposedMail {
    let c = shipped();
    let l = lead();
    let ctx = serde_json::json!({ "lead": { "name": l.profile.name, "company": l.profile.company }, "program": { "name": "Kindling" } });
    let rendered = c.templates.render("doc_related", lang, "ja", &ctx).unwrap();
    compose(
        &c.mail_origin(),
        &keys(),
        &Addressing {
            lead: &l,
            key: &key(),
            language: lang,
            list: "document_followup",
            topic: None,
        },
        &rendered,
        Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap(),
    )
    .unwrap()
}

#[test]
fn japanese_mail_parses_with_encoded_headers_and_both_parts() {
    let m = build("ja");
    let raw = String::from_utf8(m.raw.clone()).unwrap();
    // Headers are 7-bit: non-ASCII subject and display names are RFC 2047 encoded.
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    assert!(head.is_ascii(), "{head}");
    assert!(head.contains("=?utf-8?"), "{head}");

    let parsed = MessageParser::default().parse(&m.raw).unwrap();
    assert_eq!(parsed.subject(), Some("関連資料のご案内 - Kindling"));
    let from = parsed.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("キンドリング株式会社 マーケティング部"));
    assert_eq!(from.address(), Some("news@example.jp"));
    assert_eq!(
        parsed.to().unwrap().first().unwrap().name(),
        Some("佐藤 太郎")
    );
    assert_eq!(parsed.text_body_count(), 1);
    assert_eq!(parsed.html_body_count(), 1);
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(text.contains("佐藤 太郎 様"));
    for part in [&text, &html] {
        assert!(
            part.contains("〒100-0005 東京都千代田区丸の内1-1-1"),
            "postal address in {part}"
        );
        assert!(part.contains("キンドリング株式会社"), "sender name");
        assert!(
            part.contains("https://t.example.jp/u/k1.u.L1."),
            "opt-out link"
        );
    }
    assert!(
        html.contains("https://t.example.jp/t/o/k1.o.L1.E1.0."),
        "open pixel"
    );
}

#[test]
fn one_click_unsubscribe_headers_follow_rfc_8058() {
    let m = build("en");
    let parsed = MessageParser::default().parse(&m.raw).unwrap();
    let lu = parsed
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .to_owned();
    assert!(lu.starts_with("<https://t.example.jp/u/k1.u.L1."), "{lu}");
    assert!(
        lu.contains("<mailto:unsubscribe@example.jp?subject=unsubscribe-L1>"),
        "{lu}"
    );
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(parsed.message_id(), Some("L1.E1.0@example.jp"));
    assert_eq!(
        parsed.reply_to().unwrap().first().unwrap().address(),
        Some("sales@example.jp")
    );
    // The unsubscribe token in the header verifies for this lead.
    let token = lu
        .trim_start_matches("<https://t.example.jp/u/")
        .split('>')
        .next()
        .unwrap();
    assert_eq!(
        keys().verify(token),
        Some(Claim::Unsubscribe(LeadId::new("L1"), None))
    );
}

#[test]
fn links_are_signed_and_destinations_recorded_once_per_url() {
    let m = build("en");
    assert_eq!(
        m.links,
        vec![
            "https://example.jp/resources/related".to_owned(),
            "https://example.jp/pricing".to_owned()
        ]
    );
    let parsed = MessageParser::default().parse(&m.raw).unwrap();
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    for part in [&text, &html] {
        assert!(!part.contains("kindling-link"), "marker left in {part}");
        assert!(
            !part.contains("https://example.jp/pricing"),
            "raw destination leaked: {part}"
        );
    }
    let click = |i: u16| {
        format!(
            "https://t.example.jp/t/c/{}",
            keys().sign(&Claim::Click(key(), i))
        )
    };
    assert!(text.contains(&click(0)) && text.contains(&click(1)));
    assert!(html.contains(&click(0)) && html.contains(&click(1)));
}

#[test]
fn every_mail_carries_a_stable_list_id_per_sequence() {
    let m = build("ja");
    let parsed = MessageParser::default().parse(&m.raw).unwrap();
    let raw_list_id = parsed.header_raw("List-Id").unwrap().trim().to_owned();
    assert!(
        raw_list_id.ends_with("<document-followup.kindling.example.jp>"),
        "{raw_list_id}"
    );
    assert_eq!(
        list_id(&shipped().mail_origin(), "document_followup"),
        "\"Kindling document_followup\" <document-followup.kindling.example.jp>"
    );
    // Another send of the same sequence carries the same id; another sequence its own.
    assert_eq!(
        list_id(&shipped().mail_origin(), "document_followup"),
        list_id(&shipped().mail_origin(), "document_followup")
    );
    assert_ne!(
        list_id(&shipped().mail_origin(), "seminar_followup"),
        list_id(&shipped().mail_origin(), "document_followup")
    );
    // A Japanese program name is an encoded phrase beside the same id.
    let mut c = shipped();
    c.program.name = "キンドリング \"便り\"".into();
    assert_eq!(
        list_id(&c.mail_origin(), "document_followup"),
        "キンドリング 便り document_followup <document-followup.kindling.example.jp>"
    );
    assert!(is_list_namespace("news.example.jp"));
    for bad in [
        "example",
        "News.example.jp",
        "-a.example",
        "a..b",
        "a_b.jp",
        "",
    ] {
        assert!(!is_list_namespace(bad), "{bad}");
    }
}

#[test]
fn an_international_domain_goes_out_as_punycode_in_seven_bit_headers() {
    let c = shipped();
    let mut l = lead();
    l.email = EmailAddress::parse("taro@bücher.example").unwrap();
    let ctx = serde_json::json!({ "lead": { "name": l.profile.name }, "program": { "name": "Kindling" } });
    let rendered = c.templates.render("doc_related", "ja", "ja", &ctx).unwrap();
    let to = Addressing {
        lead: &l,
        key: &key(),
        language: "ja",
        list: "document_followup",
        topic: None,
    };
    let m = compose(&c.mail_origin(), &keys(), &to, &rendered, Utc::now()).unwrap();
    let raw = String::from_utf8(m.raw.clone()).unwrap();
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    assert!(head.is_ascii(), "{head}");
    let parsed = MessageParser::default().parse(&m.raw).unwrap();
    assert_eq!(
        parsed.to().unwrap().first().unwrap().address(),
        Some("taro@xn--bcher-kva.example")
    );
}
