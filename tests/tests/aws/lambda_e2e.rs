//! End to end on the real release-built function binaries, each under the Lambda Runtime API
//! emulator, against moto: a page view through track and a form submission through intake put
//! activities on the bus; score rescores; send-steps mails the day-0 step through SES as soon as
//! its `sequence.step_due.v1` arrives (a scheduled run then sends nothing); a consultation
//! request turns the lead hot; notify alerts sales through SNS, once.

use kindling_tests::aws::AwsEnv;
use kindling_tests::lambda::{bootstrap, Function, FUNCTIONS};
use mail_parser::MessageParser;
use serde_json::{json, Value};

fn api_event(method: &str, path: &str, content_type: &str, body: &str) -> Value {
    let mut e: Value =
        serde_json::from_str(include_str!("../../../events/intake/form-urlencoded.json")).unwrap();
    e["routeKey"] = json!(format!("{method} {path}"));
    e["rawPath"] = json!(path);
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    e["headers"]["content-type"] = json!(content_type);
    // Browsers post forms and want HTML; API clients send JSON and want JSON.
    e["headers"]["accept"] = json!(if content_type == "application/json" {
        "application/json"
    } else {
        "text/html"
    });
    // API Gateway base64-encodes form bodies; JSON and text arrive as they are.
    e["isBase64Encoded"] = json!(content_type.starts_with("application/x-www-form-urlencoded"));
    kindling_tests::aws::set_body(&mut e, body);
    e
}

/// Hands every event waiting on the bus to the function that the stack's rules (the event
/// catalog) route it to; events for integrations only reach no function.
async fn route_bus(env: &AwsEnv, fns: [&Function; 3]) -> Vec<String> {
    let [score, notify, send_steps] = fns;
    use kindling_aws::invocation::Consumer;
    let mut seen = Vec::new();
    loop {
        let events = env.bus_events().await;
        if events.is_empty() {
            return seen;
        }
        for e in events {
            let dt = e["detail-type"].as_str().unwrap().to_owned();
            let consumer = Consumer::ALL
                .into_iter()
                .find(|c| c.detail_types().contains(&dt.as_str()));
            match consumer {
                Some(Consumer::Score) => score.invoke(e).await.unwrap(),
                Some(Consumer::Notify) => notify.invoke(e).await.unwrap(),
                Some(Consumer::SendSteps) => send_steps.invoke(e).await.unwrap(),
                None => Value::Null,
            };
            seen.push(dt);
        }
    }
}

#[tokio::test]
async fn the_pipeline_runs_on_the_release_binaries() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    if !bootstrap("track").exists() && std::env::var_os("KINDLING_REQUIRE_AWS_TESTS").is_none() {
        eprintln!("skipped: release binaries not built (make build-lambdas)");
        return;
    }
    let mut vars = env.env_vars();
    vars.push(("AWS_ENDPOINT_URL".into(), env.endpoint.clone()));
    let mut fns = Vec::new();
    for name in FUNCTIONS {
        fns.push(Function::start(name, &vars).await);
    }
    for f in &fns {
        let t = f.init_time().await;
        eprintln!("{}: init {:?}", f.name, t);
    }
    let [track, intake, score, send_steps, notify, feedback] = &fns[..] else {
        unreachable!()
    };

    // An anonymous page view, then a white-paper download from the same browser.
    let beacon = json!({ "visitor_id": "v-e2e-browser", "events": [{ "id": "pv1", "type": "page_view", "url": "https://example.jp/pricing.html" }] });
    let r = track
        .invoke(api_event(
            "POST",
            "/t/events",
            "text/plain",
            &beacon.to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(r["statusCode"], 202, "{r}");
    let bus_fns = [score, notify, send_steps];
    let zone = kindling::testing::daytime_zone(chrono::Utc::now());
    let form = format!(
        "email=e2e%40example.jp&name=E2E&consent=on&visitor_id=v-e2e-browser&time_zone={}",
        zone.replace('/', "%2F")
    );
    let submitted = std::time::Instant::now();
    let r = intake
        .invoke(api_event(
            "POST",
            "/forms/whitepaper",
            "application/x-www-form-urlencoded",
            &form,
        ))
        .await
        .unwrap();
    assert_eq!(r["statusCode"], 303, "{r}");
    // The bus hands the day-0 step's `sequence.step_due.v1` to send-steps, which mails it now.
    let routed = route_bus(&env, bus_fns).await;
    let to_mail = submitted.elapsed();
    let sent = env.sent_mail();
    let (_, raw) = sent
        .iter()
        .find(|(to, _)| to.contains(&"e2e@example.jp".to_owned()))
        .expect("the day-0 mail reached SES without a scheduled run");
    eprintln!("form → thank-you mail through intake, the bus and send-steps: {to_mail:?}");
    let bad = intake
        .invoke(api_event(
            "POST",
            "/forms/whitepaper",
            "application/x-www-form-urlencoded",
            "name=no-email",
        ))
        .await
        .unwrap();
    assert_eq!(bad["statusCode"], 422, "{bad}");

    // Scoring the new lead (a download) puts it in a buying stage: counted by score; the CRM hears
    // of the lead's creation and of its stage (upserts for the API destination, no function).
    // The mail's email_sent activity (scored 0) reached score too. The anonymous page view was
    // announced to nobody: the form's rescore read that browser's history.
    let (crm, mut rest): (Vec<String>, Vec<String>) =
        routed.into_iter().partition(|d| d == "lead.crm_upsert.v1");
    rest.sort();
    assert_eq!(
        rest,
        vec![
            "activity.recorded.v1",
            "activity.recorded.v1",
            "lead.stage_changed.v1",
            "sequence.step_due.v1"
        ]
    );
    assert_eq!(crm.len(), 2, "created, and the first stage");
    let mail = MessageParser::default().parse(raw.as_bytes()).unwrap();
    assert!(mail
        .header_raw("List-Unsubscribe")
        .unwrap()
        .contains("https://t.example.jp/u/t1.ut."));

    // The scheduled run finds the step sent: nothing twice.
    let r = send_steps
        .invoke(
            serde_json::from_str(include_str!("../../../events/send-steps/schedule.json")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r["sent"], 0, "{r}");
    assert!(route_bus(&env, bus_fns).await.is_empty());

    // A consultation request: 15 + 10 + 30 = 55, hot; notify alerts sales through SNS, once.
    let r = intake
        .invoke(api_event(
            "POST",
            "/forms/consultation",
            "application/json",
            r#"{"email":"e2e@example.jp","consent":true}"#,
        ))
        .await
        .unwrap();
    assert_eq!(r["statusCode"], 200, "{r}");
    let routed = route_bus(&env, bus_fns).await;
    // Score counts the MQL and the stage; the CRM hears of the update, the hot crossing, the MQL
    // and the stage (upserts for the API destination, no function).
    let (crm, rest): (Vec<String>, Vec<String>) =
        routed.into_iter().partition(|d| d == "lead.crm_upsert.v1");
    assert_eq!(
        rest,
        vec![
            "activity.recorded.v1",
            "lead.became_hot.v1",
            "lead.became_mql.v1",
            "lead.stage_changed.v1"
        ]
    );
    assert_eq!(crm.len(), 4, "updated, hot, mql, stage");
    let alerts = env.alerts().await;
    assert_eq!(alerts.len(), 1);
    let alert: kindling::alerts::ports::Alert = serde_json::from_str(
        alerts[0]["MessageAttributes"]["alert"]["Value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!((alert.email.as_str(), alert.score), ("e2e@example.jp", 55));

    // Feedback: a complaint suppresses and unsubscribes.
    let mut complaint: Value =
        serde_json::from_str(include_str!("../../../events/feedback/complaint.json")).unwrap();
    complaint["detail"]["complaint"]["complainedRecipients"][0]["emailAddress"] =
        json!("e2e@example.jp");
    feedback.invoke(complaint).await.unwrap();
    let rt = env.runtime().await;
    let lead = rt
        .kindling
        .stores
        .leads
        .find_lead_by_email(&kindling::email::EmailAddress::parse("e2e@example.jp").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(lead.unsubscribed_at.is_some());
    // The breaker's counts on DynamoDB: the sender counted its send, feedback the complaint.
    let tallies = rt
        .kindling
        .stores
        .tallies
        .tallies(kindling::deliverability::SERIES, None, None)
        .await
        .unwrap();
    let sum = |c: &str| tallies.iter().map(|t| t.get(c)).sum::<u64>();
    use kindling::deliverability::{BOUNCED, COMPLAINED, SENT};
    assert_eq!((sum(SENT), sum(BOUNCED), sum(COMPLAINED)), (1, 0, 1));

    // The operator's one-off rescore, invoked directly: the shipped rules are the ones the
    // leads were scored with, so the dry run finds nothing to change and writes nothing.
    let page = score
        .invoke(json!({ "kindling": "rescore", "dry_run": true }))
        .await
        .unwrap();
    assert_eq!(page["changes"], json!([]), "{page}");
    assert!(page["leads"].as_u64().unwrap() >= 1, "{page}");
    assert_eq!(page["next"], Value::Null);
    assert!(score
        .invoke(json!({ "kindling": "rescore", "limit": -1 }))
        .await
        .is_err());

    // A store failure in an event function is an error for the platform to retry.
    let mut broken = vars.clone();
    broken.retain(|(k, _)| k != "KINDLING_TABLE");
    broken.push(("KINDLING_TABLE".into(), "no-such-table".into()));
    let failing = Function::start("score", &broken).await;
    let event: Value =
        serde_json::from_str(include_str!("../../../events/score/activity-recorded.json")).unwrap();
    assert!(failing.invoke(event).await.is_err());
}
