//! The functions' entry logic on moto with the sample payloads of `events/`: what each sample
//! does, that bad input is a 4xx or a logged drop with nothing written, that a store failure is a
//! retryable error, and how many DynamoDB requests a page event and a form submission cost.

use kindling::leads::Temperature;
use kindling::router::Routes;
use kindling_aws::http::handle_api_request;
use kindling_aws::invocation::{
    on_kindling_event, on_schedule, on_scheduled_event, on_score_invocation, on_ses_event, Consumer,
};
use kindling_aws::sns::SnsNotifier;
use kindling_tests::aws::AwsEnv;
use serde_json::Value;

macro_rules! sample {
    ($f:literal) => {
        include_str!(concat!("../../../events/", $f))
    };
}

fn api(sample: &str) -> lambda_http::Request {
    lambda_http::request::from_str(sample).unwrap()
}

fn event(sample: &str) -> Value {
    serde_json::from_str(sample).unwrap()
}

async fn lead(env: &AwsEnv, email: &str) -> Option<kindling::leads::Lead> {
    let rt = env.runtime().await;
    rt.kindling
        .stores
        .leads
        .find_lead_by_email(&kindling::email::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_page_event_costs_one_write_and_announces_only_a_browser_tied_to_a_lead() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    env.counter.reset();
    let res = handle_api_request(
        &rt.kindling,
        Routes::Track,
        api(sample!("track/page-view.json")),
    )
    .await;
    assert_eq!(res.status(), 202);
    eprintln!(
        "DynamoDB requests per page event: {:?}",
        env.counter.requests()
    );
    // The write, then the browser's link, read after it.
    let ops: Vec<String> = env
        .counter
        .requests()
        .into_iter()
        .map(|(op, _)| op)
        .collect();
    assert_eq!(ops, ["PutItem", "GetItem"]);
    assert_eq!(env.counter.writes(), 1);
    // A browser tied to no lead: nothing is announced, nothing is scored.
    assert!(env.bus_events().await.is_empty());

    // Tied to a lead, the same browser's next page view is announced.
    let visitor = kindling::ids::VisitorId::new("v0c1d2e3f4a5b6c7");
    let lead = kindling::ids::LeadId::new("l-tied");
    let visitors = &*rt.kindling.stores.visitors;
    visitors
        .link_visitor(&visitor, &lead, chrono::Utc::now())
        .await
        .unwrap();
    let mut again = event(sample!("track/page-view.json"));
    let body = kindling_tests::aws::body_of(&again);
    let events = serde_json::from_str::<Value>(&body).unwrap()["events"].clone();
    let first = events[0]["id"].as_str().unwrap().to_owned();
    kindling_tests::aws::set_body(&mut again, &body.replace(&first, "pv-tied-2"));
    let req = lambda_http::request::from_str(&again.to_string()).unwrap();
    let res = handle_api_request(&rt.kindling, Routes::Track, req).await;
    assert_eq!(res.status(), 202);
    let events = env.bus_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["visitor_id"], "v0c1d2e3f4a5b6c7");
    assert_eq!(events[0]["detail"]["kind"], "page_view");
}

#[tokio::test]
async fn a_form_submission_creates_the_lead_and_scoring_counts_its_earlier_visit() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    handle_api_request(
        &rt.kindling,
        Routes::Track,
        api(sample!("track/page-view.json")),
    )
    .await;
    env.counter.reset();
    let res = handle_api_request(
        &rt.kindling,
        Routes::Intake,
        api(sample!("intake/form-urlencoded.json")),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/thanks.html");
    eprintln!(
        "DynamoDB requests per form submission (new lead): {:?}",
        env.counter.requests()
    );
    let (reads, writes) = (env.counter.reads(), env.counter.writes());
    assert!(
        reads <= 2 && writes <= 6,
        "reads {reads}, writes {writes}: {:?}",
        env.counter.requests()
    );

    for envelope in env.bus_events().await {
        on_kindling_event(&rt.kindling, Consumer::Score, None, envelope)
            .await
            .unwrap();
    }
    let l = lead(&env, "taro.sato@example.co.jp").await.unwrap();
    assert_eq!(
        l.score.total,
        15 + 10,
        "pricing view (as an anonymous visitor) + download"
    );
    assert_eq!(
        l.consent.unwrap().source_ip.as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(l.profile.name.as_deref(), Some("佐藤 太郎"));

    // The same submission again (a browser retry): nothing new.
    env.counter.reset();
    handle_api_request(
        &rt.kindling,
        Routes::Intake,
        api(sample!("intake/form-urlencoded.json")),
    )
    .await;
    eprintln!(
        "DynamoDB requests per form submission (known lead): {:?}",
        env.counter.requests()
    );
    let acts = kindling::scoring::lead_activities(&rt.kindling.scoring(), &l.id)
        .await
        .unwrap();
    assert_eq!(acts.len(), 2);
}

#[tokio::test]
async fn bad_http_input_is_a_4xx_and_writes_nothing() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let cases = [
        (Routes::Track, sample!("track/beacon-malformed.json"), 400),
        (
            Routes::Track,
            sample!("track/beacon-unknown-kind.json"),
            400,
        ),
        (Routes::Track, sample!("track/open-forged.json"), 404),
        (Routes::Track, sample!("track/click-forged.json"), 404),
        (Routes::Track, sample!("track/unsubscribe-forged.json"), 404),
        (
            Routes::Intake,
            sample!("intake/form-missing-email.json"),
            422,
        ),
        (Routes::Intake, sample!("intake/form-unknown.json"), 404),
        // Each function serves only its own routes.
        (Routes::Intake, sample!("track/page-view.json"), 404),
        (Routes::Track, sample!("intake/form-urlencoded.json"), 404),
    ];
    for (routes, s, status) in cases {
        env.counter.reset();
        let res = handle_api_request(&rt.kindling, routes, api(s)).await;
        assert_eq!(res.status().as_u16(), status, "{s}");
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(env.counter.writes(), 0, "{s}");
    }
    assert!(env.bus_events().await.is_empty());
    let js = handle_api_request(
        &rt.kindling,
        Routes::Track,
        api(sample!("track/kindling-js.json")),
    )
    .await;
    assert_eq!(js.status(), 200);
}

#[tokio::test]
async fn events_that_can_never_succeed_are_dropped_and_change_nothing() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&env.sdk), &env.topic_arn);
    env.counter.reset();
    for (consumer, s) in [
        (Consumer::Score, sample!("score/unknown-detail-type.json")),
        (Consumer::Score, sample!("score/malformed-detail.json")),
        (Consumer::Score, sample!("notify/lead-became-hot.json")),
        (Consumer::Notify, sample!("notify/wrong-source.json")),
        (Consumer::Notify, sample!("score/activity-recorded.json")),
        (Consumer::Notify, sample!("notify/lead-became-hot.json")),
        (Consumer::Notify, sample!("notify/trigger-fired.json")),
        (Consumer::Notify, sample!("notify/lead-cooled.json")),
        (Consumer::Notify, sample!("notify/lead-became-warm.json")),
        (Consumer::Notify, sample!("score/lead-became-mql.json")),
        (Consumer::Notify, sample!("score/lead-stage-changed.json")),
        (Consumer::Notify, sample!("score/lead-entered-segment.json")),
        (Consumer::Notify, sample!("notify/lead-left-segment.json")),
        (Consumer::Score, sample!("notify/trigger-fired.json")),
        (Consumer::Score, sample!("notify/sending-paused.json")),
    ] {
        on_kindling_event(&rt.kindling, consumer, Some(&notifier), event(s))
            .await
            .unwrap();
    }
    on_kindling_event(
        &rt.kindling,
        Consumer::Score,
        None,
        Value::String("not an event".into()),
    )
    .await
    .unwrap();
    let mailer = rt.mailer().await;
    // moto has no SES v2 GetAccount: the send quota cannot be read, so the fallback rate
    // (`KINDLING_SES_MAX_SEND_RATE`) paces the mailer.
    assert_eq!(mailer.rate(), 50.0);
    // An API sized for less than that slows the sender to what its limits carry: sized for 10
    // mails a second, the click route's floor of 50 requests/s carries 12.5 (2 a mail, 2×).
    let mut small = rt.clone();
    small.kindling.config = std::sync::Arc::new(kindling::config::Config {
        api: kindling::router::limits::Limits {
            send_rate: 10,
            ..Default::default()
        },
        ..(*rt.kindling.config).clone()
    });
    assert_eq!(small.mailer().await.rate(), 12.5);
    for s in [
        sample!("score/activity-recorded.json"),
        sample!("feedback/bounce-permanent.json"),
    ] {
        let run = on_scheduled_event(&rt.kindling, &mailer, 10, event(s))
            .await
            .unwrap();
        assert!(run.is_none(), "not a schedule: no run");
    }
    for s in [
        sample!("feedback/malformed.json"),
        sample!("feedback/delivery.json"),
        sample!("score/activity-recorded.json"),
    ] {
        on_ses_event(&rt.kindling, event(s)).await.unwrap();
    }
    assert_eq!(env.counter.writes(), 0, "{:?}", env.counter.requests());
    assert!(env.alerts().await.is_empty());
}

#[tokio::test]
async fn a_store_failure_is_a_retryable_error() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let mut settings = env.settings();
    settings.table = "no-such-table".into();
    let rt = kindling_aws::Runtime::with(settings, env.sdk.clone())
        .await
        .unwrap();
    assert!(on_kindling_event(
        &rt.kindling,
        Consumer::Score,
        None,
        event(sample!("score/activity-recorded.json"))
    )
    .await
    .is_err());
    assert!(on_ses_event(
        &rt.kindling,
        event(sample!("feedback/bounce-permanent.json"))
    )
    .await
    .is_err());
    let mailer = rt.mailer().await;
    assert!(on_schedule(&rt.kindling, &mailer, 10).await.is_err());
    let res = handle_api_request(
        &rt.kindling,
        Routes::Intake,
        api(sample!("intake/form-urlencoded.json")),
    )
    .await;
    assert_eq!(
        res.status(),
        503,
        "HTTP functions answer 503, never Err (an opaque 502)"
    );
}

#[tokio::test]
async fn feedback_suppresses_bounces_and_unsubscribes_complainers() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    // A lead who will complain.
    let body = "email=angry%40example.jp&consent=on";
    let mut req = event(sample!("intake/form-urlencoded.json"));
    kindling_tests::aws::set_body(&mut req, body);
    handle_api_request(
        k,
        Routes::Intake,
        lambda_http::request::from_str(&req.to_string()).unwrap(),
    )
    .await;

    for s in [
        sample!("feedback/bounce-permanent.json"),
        sample!("feedback/bounce-transient.json"),
        sample!("feedback/complaint.json"),
    ] {
        on_ses_event(k, event(s)).await.unwrap();
    }
    // Redelivery changes nothing.
    on_ses_event(k, event(sample!("feedback/complaint.json")))
        .await
        .unwrap();
    let sup = |e: &str| {
        let k = k.clone();
        let e = kindling::email::EmailAddress::parse(e).unwrap();
        async move {
            k.stores
                .suppressions
                .suppression(&e)
                .await
                .unwrap()
                .map(|s| s.reason.as_str())
        }
    };
    assert_eq!(sup("gone@example.jp").await, Some("bounced"));
    assert_eq!(
        sup("full@example.jp").await,
        None,
        "a soft bounce suppresses nothing"
    );
    assert_eq!(sup("angry@example.jp").await, Some("complained"));
    assert!(lead(&env, "angry@example.jp")
        .await
        .unwrap()
        .unsubscribed_at
        .is_some());
}

#[tokio::test]
async fn notify_alerts_once_per_crossing_through_sns() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    let notifier = rt.notifier().unwrap();
    for body in [
        "email=hot%40example.jp&consent=on&name=Hot",
        "email=hot%40example.jp&consent=on",
    ] {
        for form in ["/forms/consultation", "/forms/seminar"] {
            let mut req = event(sample!("intake/form-urlencoded.json"));
            kindling_tests::aws::set_body(&mut req, body);
            req["rawPath"] = Value::String(form.into());
            req["requestContext"]["http"]["path"] = Value::String(form.into());
            handle_api_request(
                k,
                Routes::Intake,
                lambda_http::request::from_str(&req.to_string()).unwrap(),
            )
            .await;
        }
    }
    for envelope in env.bus_events().await {
        on_kindling_event(k, Consumer::Score, None, envelope)
            .await
            .unwrap();
    }
    let l = lead(&env, "hot@example.jp").await.unwrap();
    assert_eq!((l.score.total, l.score.temperature), (50, Temperature::Hot));
    let hot: Vec<Value> = env
        .bus_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "lead.became_hot.v1")
        .collect();
    assert_eq!(hot.len(), 1);
    for _ in 0..2 {
        on_kindling_event(k, Consumer::Notify, Some(&notifier), hot[0].clone())
            .await
            .unwrap();
    }
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1, "delivered twice, alerted once");
    assert!(alerts[0]["Message"].as_str().unwrap().contains("Hot"));
}

async fn submit(k: &kindling::app::Kindling, form: &str, body: &str) {
    let mut req = event(sample!("intake/form-urlencoded.json"));
    kindling_tests::aws::set_body(&mut req, body);
    req["rawPath"] = Value::String(form.into());
    req["requestContext"]["http"]["path"] = Value::String(form.into());
    let res = handle_api_request(
        k,
        Routes::Intake,
        lambda_http::request::from_str(&req.to_string()).unwrap(),
    )
    .await;
    assert!(res.status().is_redirection(), "{}", res.status());
}

/// An escalation through the notify function: to the shipped `escalate_to` rep (the SNS
/// `owner` attribute its subscription filters on), once however often the event comes, and not
/// at all for a lead sales marked since the hand-off.
#[tokio::test]
async fn notify_escalates_an_unmarked_hand_off_once_through_sns() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    let notifier = rt.notifier().unwrap();
    submit(
        k,
        "/forms/whitepaper",
        "email=unmarked%40example.jp&consent=on",
    )
    .await;
    let l = lead(&env, "unmarked@example.jp").await.unwrap();
    let mut due = event(sample!("notify/lead-follow-up-due.json"));
    due["detail"]["lead_id"] = Value::String(l.id.to_string());
    due["detail"]["handed_off_at"] = Value::String(chrono::Utc::now().to_rfc3339());
    for _ in 0..2 {
        on_kindling_event(k, Consumer::Notify, Some(&notifier), due.clone())
            .await
            .unwrap();
    }
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1, "delivered twice, escalated once");
    assert_eq!(
        alerts[0]["MessageAttributes"]["owner"]["Value"],
        "kobayashi"
    );
    assert_eq!(alerts[0]["MessageAttributes"]["audience"]["Value"], "sales");
    assert_eq!(
        alerts[0]["Subject"],
        "Escalation, not followed up: unmarked@example.jp"
    );
    // Marked by sales after the hand-off: the reminder of the same hand-off sends nothing.
    kindling::admin::mark_and_rescore(
        k,
        &kindling::leads::LeadKey::Id(l.id.clone()),
        kindling::leads::SalesStatus::Working,
        None,
        None,
    )
    .await
    .unwrap();
    due["detail"]["kind"] = Value::String("reminder".into());
    due["detail"]["handed_off_at"] =
        Value::String((chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339());
    on_kindling_event(k, Consumer::Notify, Some(&notifier), due)
        .await
        .unwrap();
    assert!(env.alerts().await.is_empty());
}

#[tokio::test]
async fn notify_alerts_support_once_per_trigger_firing_through_sns() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    let notifier = rt.notifier().unwrap();
    submit(
        k,
        "/forms/whitepaper",
        "email=leaving%40example.jp&consent=on",
    )
    .await;
    let l = lead(&env, "leaving@example.jp").await.unwrap();
    let mut fired = event(sample!("notify/trigger-fired.json"));
    fired["detail"]["lead_id"] = Value::String(l.id.to_string());
    for _ in 0..2 {
        on_kindling_event(k, Consumer::Notify, Some(&notifier), fired.clone())
            .await
            .unwrap();
    }
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1, "delivered twice, alerted once");
    assert_eq!(
        alerts[0]["MessageAttributes"]["audience"]["Value"],
        "support"
    );
    assert!(alerts[0]["Subject"]
        .as_str()
        .unwrap()
        .starts_with("cancellation_risk:"));
    // A lead gone: nothing to alert, nothing retried.
    fired["detail"]["lead_id"] = Value::String("nosuchlead".into());
    on_kindling_event(k, Consumer::Notify, Some(&notifier), fired)
        .await
        .unwrap();
    assert!(env.alerts().await.is_empty());
}

#[tokio::test]
async fn rescore_walks_every_lead_on_dynamodb_in_pages_and_a_dry_run_writes_nothing() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    for i in 0..5 {
        submit(
            &rt.kindling,
            "/forms/whitepaper",
            &format!("email=r{i}%40example.jp&consent=on"),
        )
        .await;
    }
    for envelope in env.bus_events().await {
        on_kindling_event(&rt.kindling, Consumer::Score, None, envelope)
            .await
            .unwrap();
    }
    // The marketer raises document downloads from 10 to 40: every lead would turn warm.
    let mut config = (*rt.kindling.config).clone();
    for r in &mut config.scoring.rules {
        if r.id == "document_download" {
            r.points = 40;
        }
    }
    let k = kindling::app::Kindling {
        config: std::sync::Arc::new(config),
        ..rt.kindling.clone()
    };
    let walk = |dry_run: bool| {
        let k = k.clone();
        async move {
            let (mut changes, mut pages, mut after) = (Vec::new(), 0, Value::Null);
            loop {
                let cmd = serde_json::json!({ "kindling": "rescore", "dry_run": dry_run, "after": after, "limit": 2 });
                let page = on_score_invocation(&k, cmd).await.unwrap();
                pages += 1;
                changes.extend(page["changes"].as_array().unwrap().iter().cloned());
                assert_eq!(page["applied"], !dry_run);
                if page["next"].is_null() {
                    return (changes, pages);
                }
                after = page["next"].clone();
            }
        }
    };
    env.counter.reset();
    let (changes, pages) = walk(true).await;
    assert_eq!(env.counter.writes(), 0, "a dry run writes nothing");
    assert_eq!(pages, 3, "5 leads in pages of 2");
    assert_eq!(changes.len(), 5);
    for c in &changes {
        assert_eq!(c["before"], serde_json::json!([10, "cold"]));
        assert_eq!(c["after"], serde_json::json!([40, "warm"]));
    }
    assert_eq!(
        lead(&env, "r0@example.jp").await.unwrap().score.total,
        10,
        "unchanged"
    );
    let (applied, _) = walk(false).await;
    assert_eq!(applied.len(), 5);
    let l = lead(&env, "r3@example.jp").await.unwrap();
    assert_eq!(
        (l.score.total, l.score.temperature),
        (40, Temperature::Warm)
    );
    // Warm is published for integrations, once per lead.
    let warm = env
        .bus_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "lead.became_warm.v1")
        .count();
    assert_eq!(warm, 5);
    let (again, _) = walk(true).await;
    assert!(again.is_empty(), "nothing left to change");

    // Bad commands are errors for the operator and write nothing.
    env.counter.reset();
    for bad in [
        serde_json::json!({ "kindling": "rescore", "limit": "lots" }),
        serde_json::json!({ "kindling": "explode" }),
        serde_json::json!({ "kindling": "rescore", "after": "../etc" }),
        serde_json::json!({ "kindling": "rescore", "dryrun": true }),
    ] {
        assert!(on_score_invocation(&k, bad.clone()).await.is_err(), "{bad}");
    }
    assert_eq!(env.counter.writes(), 0);
}

#[tokio::test]
async fn signing_keys_are_read_from_secrets_manager_at_cold_start() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    // The functions under test already read their keys from the secret; a token they sign
    // verifies with the same key given inline.
    let rt = env.runtime().await;
    let inline =
        kindling::token::SigningKeys::parse(kindling_tests::aws::TEST_SIGNING_KEYS).unwrap();
    let claim = kindling::token::Claim::Unsubscribe(kindling::ids::LeadId::new("L1"), None);
    assert_eq!(inline.verify(&rt.kindling.keys.sign(&claim)), Some(claim));

    // A missing secret and a malformed one stop the cold start with a message naming the secret.
    let mut settings = env.settings();
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf";
    settings.signing_keys = Some(kindling_aws::settings::KeySource::Secret(missing.into()));
    let e = kindling_aws::Runtime::with(settings.clone(), env.sdk.clone())
        .await
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains(missing), "{e:#}");

    let sm = aws_sdk_secretsmanager::Client::new(&env.sdk);
    let bad = sm
        .create_secret()
        .name(format!("{}-bad", env.table))
        .secret_string("not json, and secret")
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    settings.signing_keys = Some(kindling_aws::settings::KeySource::Secret(bad));
    let e = kindling_aws::Runtime::with(settings, env.sdk.clone())
        .await
        .err()
        .unwrap();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("signing key secret") && !msg.contains("and secret"),
        "{msg}"
    );
}

#[tokio::test]
async fn intake_serves_the_iam_authorized_lead_report_and_track_does_not() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let res = handle_api_request(
        &rt.kindling,
        Routes::Intake,
        api(sample!("intake/form-json.json")),
    )
    .await;
    assert!(res.status().is_success(), "{:?}", res.body());
    let res = handle_api_request(
        &rt.kindling,
        Routes::Intake,
        api(sample!("intake/admin-lead.json")),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(body["lead"]["email"], "taro.sato@example.co.jp");
    assert!(body["score"]["breakdown"].is_array());
    let res = handle_api_request(
        &rt.kindling,
        Routes::Track,
        api(sample!("intake/admin-lead.json")),
    )
    .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn every_tracked_event_costs_at_most_two_dynamodb_writes() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    let (lead, send) = kindling_tests::aws::lead_with_first_mail(&rt).await;
    let keys = kindling::token::SigningKeys::parse(kindling_tests::aws::TEST_SIGNING_KEYS).unwrap();
    use kindling::token::Claim;
    let now = chrono::Utc::now();
    let beacon = |events: Value| {
        Some(serde_json::json!({ "visitor_id": "v-count-1", "events": events }).to_string())
    };
    let cases: Vec<(&str, lambda_http::Request, u16)> = vec![
        (
            "open",
            kindling_tests::aws::track_request(
                "GET",
                &format!("/t/o/{}", keys.sign(&Claim::Open(send.clone()))),
                None,
            ),
            200,
        ),
        (
            "click",
            kindling_tests::aws::track_request(
                "GET",
                &format!("/t/c/{}", keys.sign(&Claim::Click(send.clone(), 0))),
                None,
            ),
            302,
        ),
        (
            "hidden link",
            kindling_tests::aws::track_request(
                "GET",
                &format!(
                    "/t/c/{}",
                    keys.sign(&Claim::Click(send.clone(), kindling::message::HIDDEN_LINK))
                ),
                None,
            ),
            200,
        ),
        (
            "page view",
            kindling_tests::aws::track_request(
                "POST",
                "/t/events",
                beacon(
                    serde_json::json!([{ "id": "c1", "type": "page_view", "url": "https://example.jp/pricing.html", "at": now }]),
                ),
            ),
            202,
        ),
        (
            "page leave",
            kindling_tests::aws::track_request(
                "POST",
                "/t/events",
                beacon(
                    serde_json::json!([{ "id": "c2", "type": "page_leave", "url": "https://example.jp/pricing.html", "at": now, "dwell_ms": 5000 }]),
                ),
            ),
            202,
        ),
        (
            "form start",
            kindling_tests::aws::track_request(
                "POST",
                "/t/events",
                beacon(
                    serde_json::json!([{ "id": "c3", "type": "form_start", "url": "https://example.jp/apply.html", "at": now, "form_id": "consultation" }]),
                ),
            ),
            202,
        ),
        (
            "identify",
            kindling_tests::aws::track_request(
                "POST",
                "/t/events",
                beacon(
                    serde_json::json!([{ "id": "c4", "type": "identify", "url": "https://example.jp/", "at": now, "token": keys.sign(&Claim::Identify(lead.clone())) }]),
                ),
            ),
            202,
        ),
    ];
    for (what, req, status) in cases {
        env.counter.reset();
        let res = handle_api_request(k, Routes::Track, req).await;
        assert_eq!(res.status().as_u16(), status, "{what}: {:?}", res.body());
        eprintln!(
            "DynamoDB per {what}: {} item writes, {} reads: {:?}",
            env.counter.writes(),
            env.counter.reads(),
            env.counter.requests()
        );
        assert!(
            env.counter.writes() <= 2,
            "{what}: {:?}",
            env.counter.requests()
        );
        assert!(env.counter.writes() >= 1, "{what} was recorded");
    }
}

#[tokio::test]
async fn the_breaker_pauses_send_steps_on_dynamodb_and_ops_hears_once_through_sns() {
    use kindling::deliverability::{bucket, SENT, SERIES};
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let mut rt = env.runtime().await;
    let mut config = (*rt.kindling.config).clone();
    config.deliverability.breaker.min_sends = 100;
    rt.kindling.config = std::sync::Arc::new(config);
    let k = &rt.kindling;
    let now = chrono::Utc::now();
    // 100 sends counted this hour (as the sender counts them), then hard bounces from SES.
    for i in 0..100 {
        k.stores
            .tallies
            .tally_once(SERIES, &bucket(now), SENT, &format!("L{i}/E{i}/0"), now)
            .await
            .unwrap();
    }
    let bounce = |id: &str, to: &str| {
        let mut e = event(sample!("feedback/bounce-permanent.json"));
        e["detail"]["bounce"]["feedbackId"] = Value::String(id.into());
        e["detail"]["bounce"]["timestamp"] = Value::String(now.to_rfc3339());
        e["detail"]["bounce"]["bouncedRecipients"][0]["emailAddress"] = Value::String(to.into());
        e
    };
    for (id, to) in [
        ("fb-1", "a@example.jp"),
        ("fb-2", "b@example.jp"),
        ("fb-2", "b@example.jp"),
    ] {
        on_ses_event(k, bounce(id, to)).await.unwrap();
    }
    let status = kindling::deliverability::sending_status(&k.deliverability())
        .await
        .unwrap();
    assert_eq!((status.health.sends, status.health.bounces), (100, 2));
    let mailer = rt.mailer().await;
    let schedule = || event(sample!("send-steps/schedule.json"));
    let run = on_scheduled_event(k, &mailer, 10, schedule())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.steps.paused, None, "2 % is not above 2 %");

    on_ses_event(k, bounce("fb-3", "c@example.jp"))
        .await
        .unwrap();
    env.bus_events().await;
    for _ in 0..2 {
        let run = on_scheduled_event(k, &mailer, 10, schedule())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            run.steps.paused.as_deref(),
            Some("bounce rate 3% (3 of 100 sends) is above 2%")
        );
    }
    // Published once, delivered twice: ops is alerted once, on the topic, as `ops`.
    let paused: Vec<Value> = env
        .bus_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "sending.paused.v1")
        .collect();
    assert_eq!(paused.len(), 1);
    let notifier = rt.notifier().unwrap();
    for _ in 0..2 {
        on_kindling_event(k, Consumer::Notify, Some(&notifier), paused[0].clone())
            .await
            .unwrap();
    }
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["MessageAttributes"]["audience"]["Value"], "ops");
    assert!(alerts[0]["Subject"]
        .as_str()
        .unwrap()
        .starts_with("Kindling paused step mails"));

    // The operator resumes through the IAM-authorized admin route.
    let res = handle_api_request(
        k,
        Routes::Intake,
        api(sample!("intake/admin-sending-resume.json")),
    )
    .await;
    assert_eq!(res.status(), 200, "{:?}", res.body());
    let body: Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(body["was_paused"]["bounces"], 3);
    let run = on_scheduled_event(k, &mailer, 10, schedule())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.steps.paused, None);
    let status = kindling::deliverability::sending_status(&k.deliverability())
        .await
        .unwrap();
    assert_eq!(status.state, "sending");
    assert_eq!(
        status.resumed.unwrap().note.as_deref(),
        Some("removed the addresses imported on 2026-11-20")
    );
}

#[tokio::test]
async fn ses_feedback_semantics_on_dynamodb() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    kindling_tests::ses_feedback::ses_feedback_semantics(&rt.kindling).await;
}

/// What each sample does through its function, in replay order (forms before the report of the
/// lead they make). `None` for EventBridge samples: the function returns `Ok`.
const REPLAYS: &[(&str, Option<u16>)] = &[
    ("intake/form-urlencoded.json", Some(303)),
    ("intake/form-multipart.json", Some(303)),
    ("intake/form-json.json", Some(200)),
    ("intake/form-missing-email.json", Some(422)),
    ("intake/form-unknown.json", Some(404)),
    ("intake/admin-lead.json", Some(200)),
    ("intake/admin-sending-resume.json", Some(200)),
    ("intake/crm-hook.json", Some(200)),
    ("intake/crm-hook-unsigned.json", Some(401)),
    ("track/page-view.json", Some(202)),
    // The same beacon through the beacon function's URL (the stack's `beaconUrl`).
    ("track/beacon-function-url.json", Some(202)),
    ("track/kindling-js.json", Some(200)),
    ("track/beacon-malformed.json", Some(400)),
    ("track/beacon-unknown-kind.json", Some(400)),
    ("track/open-forged.json", Some(404)),
    ("track/click-forged.json", Some(404)),
    ("track/unsubscribe-forged.json", Some(404)),
    ("track/unsubscribe-one-click.json", Some(200)),
    ("track/unsubscribe-one-click-urlencoded.json", Some(200)),
    ("score/activity-recorded.json", None),
    ("score/malformed-detail.json", None),
    ("score/unknown-detail-type.json", None),
    ("score/lead-became-mql.json", None),
    ("score/lead-stage-changed.json", None),
    ("score/lead-entered-segment.json", None),
    ("crm/lead-crm-upsert.json", None),
    ("notify/lead-became-hot.json", None),
    ("notify/lead-became-warm.json", None),
    ("notify/lead-left-segment.json", None),
    ("notify/lead-cooled.json", None),
    ("notify/trigger-fired.json", None),
    ("notify/lead-follow-up-due.json", None),
    ("notify/sending-paused.json", None),
    ("notify/wrong-source.json", None),
    ("feedback/bounce-permanent.json", None),
    ("feedback/bounce-transient.json", None),
    ("feedback/bounce-suppression-list.json", None),
    ("feedback/complaint.json", None),
    ("feedback/complaint-not-spam.json", None),
    ("feedback/complaint-suppression-list.json", None),
    ("feedback/delivery.json", None),
    ("feedback/malformed.json", None),
    ("send-steps/schedule.json", None),
    ("send-steps/step-due.json", None),
];

#[tokio::test]
async fn every_sample_replays_through_its_function() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut on_disk: Vec<String> = Vec::new();
    for f in [
        "track",
        "intake",
        "score",
        "notify",
        "feedback",
        "send-steps",
        "crm",
    ] {
        for e in std::fs::read_dir(dir.join(f)).unwrap() {
            on_disk.push(format!("{f}/{}", e.unwrap().file_name().to_string_lossy()));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = REPLAYS.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "every sample in events/ is replayed here");

    let rt = env.runtime().await;
    let k = &rt.kindling;
    // The leads the valid one-click samples' tokens (test key t1) are for.
    for (id, email) in [
        ("lsample0001", "oneclick1@example.jp"),
        ("lsample0002", "oneclick2@example.jp"),
    ] {
        let l = kindling::leads::Lead::new(
            kindling::ids::LeadId::new(id),
            kindling::email::EmailAddress::parse(email).unwrap(),
            chrono::Utc::now(),
        );
        k.stores.leads.insert_lead(&l).await.unwrap();
    }
    let notifier = rt.notifier().unwrap();
    let mailer = rt.mailer().await;
    for (file, status) in REPLAYS {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let function = file.split('/').next().unwrap();
        match (function, status) {
            ("track" | "intake", Some(status)) => {
                let routes = if function == "track" {
                    Routes::Track
                } else {
                    Routes::Intake
                };
                let res = handle_api_request(k, routes, api(&text)).await;
                assert_eq!(res.status().as_u16(), *status, "{file}: {:?}", res.body());
            }
            ("score", None) => on_kindling_event(k, Consumer::Score, None, event(&text))
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}")),
            ("notify", None) => {
                on_kindling_event(k, Consumer::Notify, Some(&notifier), event(&text))
                    .await
                    .unwrap_or_else(|e| panic!("{file}: {e}"))
            }
            ("feedback", None) => on_ses_event(k, event(&text))
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}")),
            ("send-steps", None) => {
                let run = on_scheduled_event(k, &mailer, 10, event(&text))
                    .await
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                // A schedule runs the sender; a step due now (of no enrollment here) sends nothing.
                let run = run.unwrap_or_else(|| panic!("{file}: taken by the sender"));
                if file.ends_with("step-due.json") {
                    assert_eq!(run.sent(), 0, "{file}");
                }
            }
            // No function takes it: the API destination does, through the recipe's transformer.
            ("crm", None) => {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let e = kindling::app::Event::decode(
                    v["detail-type"].as_str().unwrap(),
                    &v["detail"].to_string(),
                )
                .unwrap();
                assert!(matches!(e, kindling::app::Event::CrmUpsert(_)), "{file}");
                let t = kindling::crm::recipes::Recipe::Hubspot.transformer();
                let body = kindling::crm::recipes::render(&t, &v["detail"]);
                assert_eq!(body["inputs"][0]["id"], v["detail"]["email"], "{file}");
            }
            other => panic!("{file}: no replay for {other:?}"),
        }
    }
    // What the samples did, as their names say.
    for email in ["oneclick1@example.jp", "oneclick2@example.jp"] {
        assert!(
            lead(&env, email).await.unwrap().unsubscribed_at.is_some(),
            "{email}"
        );
    }
    let multipart = lead(&env, "hanako.suzuki@example.co.jp").await.unwrap();
    assert_eq!(multipart.profile.name.as_deref(), Some("鈴木 花子"));
    let sup = |e: &'static str| async move {
        k.stores
            .suppressions
            .suppression(&kindling::email::EmailAddress::parse(e).unwrap())
            .await
            .unwrap()
            .map(|s| s.reason.as_str())
    };
    assert_eq!(sup("gone@example.jp").await, Some("bounced"));
    assert_eq!(sup("listed@example.jp").await, Some("bounced"));
    assert_eq!(sup("angry@example.jp").await, Some("complained"));
    assert_eq!(
        sup("happy@example.jp").await,
        None,
        "not-spam is no complaint"
    );
    assert_eq!(
        sup("full@example.jp").await,
        None,
        "one soft bounce suppresses nothing"
    );
    let counts = k
        .stores
        .tallies
        .tallies(kindling::deliverability::SERIES, None, None)
        .await
        .unwrap();
    let sum = |c: &str| counts.iter().map(|t| t.get(c)).sum::<u64>();
    assert_eq!(
        (
            sum(kindling::deliverability::BOUNCED),
            sum(kindling::deliverability::COMPLAINED)
        ),
        (1, 1),
        "suppression-list feedback is not counted for the breaker"
    );
}
