//! The AWS adapters against moto: SES v2 raw sends keep every header, EventBridge rules deliver
//! what the bus publishes (in batches of 10), SNS alerts reach an SQS subscription.

use chrono::{TimeZone, Utc};
use kindling::alerts::ports::{Alert, Notifier};
use kindling::app::events::{Event, ACTIVITY_RECORDED_V1};
use kindling::email::EmailAddress;
use kindling::events::Audience;
use kindling::events::EventBus;
use kindling::ids::{ActivityId, EnrollmentId, LeadId};
use kindling::leads::Lead;
use kindling::leads::Temperature;
use kindling::message::MessageKey;
use kindling::sending::ports::{MailError, Mailer, OutgoingMail};
use kindling::tracking::events::ActivityRecorded;
use kindling_aws::eventbridge::EventBridgeBus;
use kindling_aws::ses::SesMailer;
use kindling_aws::sns::SnsNotifier;
use kindling_tests::aws::{AwsEnv, SENDER};
use mail_parser::MessageParser;

fn key() -> MessageKey {
    MessageKey::Step {
        lead_id: LeadId::new("L1"),
        enrollment_id: EnrollmentId::new("E1"),
        step: 0,
    }
}

fn composed_mail() -> Vec<u8> {
    let config = kindling_aws::runtime::bundled_config().unwrap();
    let keys = kindling::token::SigningKeys::parse(kindling_tests::aws::TEST_SIGNING_KEYS).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
    let mut lead = Lead::new(
        LeadId::new("L1"),
        EmailAddress::parse("taro@example.co.jp").unwrap(),
        at,
    );
    lead.profile.name = Some("佐藤 太郎".into());
    let ctx =
        serde_json::json!({ "lead": { "name": "佐藤 太郎" }, "program": { "name": "Kindling" } });
    let rendered = config
        .templates
        .render("doc_thanks", "ja", "ja", &ctx)
        .unwrap();
    let to = kindling::sending::mail::Addressing {
        lead: &lead,
        key: &key(),
        language: "ja",
        list: "document_followup",
        topic: None,
    };
    kindling::sending::mail::compose(&config.mail_origin(), &keys, &to, &rendered, at)
        .unwrap()
        .raw
}

#[tokio::test]
async fn ses_raw_send_keeps_one_click_unsubscribe_headers() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&env.sdk), None);
    let mail = OutgoingMail {
        id: key().id_part(),
        from: EmailAddress::parse(SENDER).unwrap(),
        to: EmailAddress::parse("taro@example.co.jp").unwrap(),
        raw: composed_mail(),
    };
    let id = mailer.send(&mail).await.unwrap();
    assert!(!id.is_empty());
    let sent = env.sent_mail();
    // moto lists the explicit destination and the To: header's mailbox.
    let (_, raw) = sent
        .iter()
        .find(|(to, _)| to.contains(&"taro@example.co.jp".to_owned()))
        .unwrap();
    let parsed = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let lu = parsed.header_raw("List-Unsubscribe").unwrap();
    assert!(
        lu.trim_start()
            .starts_with("<https://t.example.jp/u/t1.u.L1."),
        "{lu}"
    );
    assert_eq!(
        parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        parsed.subject(),
        Some("【資料ダウンロード】ありがとうございます - Kindling")
    );
    assert!(parsed.body_text(0).unwrap().contains("東京都千代田区"));
}

#[tokio::test]
async fn ses_rejects_an_unverified_sender_for_good() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&env.sdk), None);
    let mail = OutgoingMail {
        id: key().id_part(),
        from: EmailAddress::parse("stranger@unverified.example").unwrap(),
        to: EmailAddress::parse("taro@example.co.jp").unwrap(),
        raw: composed_mail(),
    };
    match mailer.send(&mail).await {
        Err(MailError::Rejected(why)) => assert!(why.contains("MessageRejected"), "{why}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn eventbridge_rule_delivers_every_published_event_to_sqs() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&env.sdk), &env.bus);
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
    // 23 events: three PutEvents calls (10 + 10 + 3).
    let events: Vec<Event> = (0..23)
        .map(|i| {
            Event::ActivityRecorded(Box::new(ActivityRecorded {
                duplicate: false,
                activity_id: ActivityId::new(format!("a{i}")),
                lead_id: Some(LeadId::new("L1")),
                visitor_id: None,
                kind: kindling::activities::ActivityKind::PageView,
                at,
                broadcast_id: None,
                attrs: Default::default(),
            }))
        })
        .collect();
    let envelopes: Vec<_> = events.iter().map(Event::envelope).collect();
    bus.publish(&envelopes).await.unwrap();
    let delivered = env.bus_events().await;
    assert_eq!(delivered.len(), 23);
    for envelope in &delivered {
        assert_eq!(envelope["source"], "kindling");
        assert_eq!(envelope["detail-type"], ACTIVITY_RECORDED_V1);
        let decoded = Event::decode(ACTIVITY_RECORDED_V1, &envelope["detail"].to_string()).unwrap();
        assert!(events.contains(&decoded));
    }
}

#[tokio::test]
async fn publishing_to_a_missing_bus_is_an_error() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&env.sdk), "no-such-bus");
    let e = Event::ActivityRecorded(Box::new(ActivityRecorded {
        duplicate: false,
        activity_id: ActivityId::new("a"),
        lead_id: None,
        visitor_id: None,
        kind: kindling::activities::ActivityKind::PageView,
        at: Utc::now(),
        broadcast_id: None,
        attrs: Default::default(),
    }));
    assert!(bus.publish(&[e.envelope()]).await.is_err());
}

#[tokio::test]
async fn sns_alert_reaches_an_sqs_subscription_readable_and_structured() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&env.sdk), &env.topic_arn);
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
    let alert = Alert {
        key: "hot/L1/1".into(),
        audience: Audience::Sales,
        trigger: None,
        lead_id: LeadId::new("L1"),
        email: EmailAddress::parse("taro@example.co.jp").unwrap(),
        name: Some("佐藤 太郎".into()),
        company: Some("株式会社A".into()),
        title: Some("部長".into()),
        score: 55,
        temperature: Temperature::Hot,
        reasons: vec!["consultation_request x1 = +30".into()],
        at,
        follow_up_by: at + chrono::Duration::hours(48),
        owner: Some(kindling::alerts::ports::AlertOwner {
            id: "tanaka".into(),
            name: Some("田中".into()),
            email: EmailAddress::parse("tanaka@example.jp").unwrap(),
        }),
        follow_up: None,
    };
    notifier.notify(&alert).await.unwrap();
    let got = env.alerts().await;
    assert_eq!(got.len(), 1);
    let n = &got[0];
    let subject = n["Subject"].as_str().unwrap();
    assert!(
        subject.is_ascii() && subject.contains("L1") && subject.contains("55"),
        "{subject}"
    );
    assert!(
        n["Message"].as_str().unwrap().contains("佐藤 太郎"),
        "readable body"
    );
    let structured: Alert =
        serde_json::from_str(n["MessageAttributes"]["alert"]["Value"].as_str().unwrap()).unwrap();
    assert_eq!(structured, alert);
    assert_eq!(n["MessageAttributes"]["audience"]["Value"], "sales");
    // The owner, for the rep's own subscription (a filter policy on `owner`).
    assert_eq!(n["MessageAttributes"]["owner"]["Value"], "tanaka");
    assert!(n["Message"]
        .as_str()
        .unwrap()
        .contains("For: 田中 <tanaka@example.jp>"));

    // A support trigger: its own subject (ASCII even for a Japanese name) and audience.
    let support = Alert {
        key: "trigger/L1/cancellation_risk/1".into(),
        audience: Audience::Support,
        trigger: Some("cancellation_risk".into()),
        reasons: vec!["cancellation_risk: 1× page_view (cancellation) within 30d".into()],
        owner: None,
        ..alert
    };
    notifier.notify(&support).await.unwrap();
    let got = env.alerts().await;
    assert_eq!(got.len(), 1);
    let n = &got[0];
    assert_eq!(
        n["Subject"].as_str().unwrap(),
        "cancellation_risk: lead L1 (score 55)"
    );
    assert_eq!(n["MessageAttributes"]["audience"]["Value"], "support");
    assert!(n["MessageAttributes"].get("owner").is_none());
    assert!(n["Message"]
        .as_str()
        .unwrap()
        .contains("For: support (no owner)"));
}
