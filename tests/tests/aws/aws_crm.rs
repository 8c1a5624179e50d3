//! The CRM sync on AWS, on moto: a hot lead's upsert reaches the bus from notify; the API
//! destination's dead-letter queue is what `sync status` reads (with EventBridge's reasons) and
//! what `sync replay` publishes again, once per message, and empties.

use kindling::crm::ports::{Replay, SyncLedger};
use kindling_aws::crm_sync::DeadLetters;
use kindling_tests::aws::{unique, AwsEnv};

/// A dead letter as EventBridge leaves it: the event as the body, why in the attributes.
async fn dead_letter(sqs: &aws_sdk_sqs::Client, url: &str, id: &str) {
    use aws_sdk_sqs::types::MessageAttributeValue;
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/crm/lead-crm-upsert.json"),
    )
    .unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&sample).unwrap();
    event["detail"]["id"] = id.into();
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    sqs.send_message()
        .queue_url(url)
        .message_body(event.to_string())
        .message_attributes("ERROR_CODE", attr("SDK_CLIENT_ERROR"))
        .message_attributes(
            "ERROR_MESSAGE",
            attr("Unable to invoke ApiDestination endpoint: 503"),
        )
        .message_attributes("RETRY_ATTEMPTS", attr("185"))
        .send()
        .await
        .unwrap();
}

/// `lead.became_hot.v1` for `id` as EventBridge hands it to notify.
fn hot_event(
    id: &kindling::ids::LeadId,
    owner: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let hot = kindling::app::Event::LeadBecameHot(kindling::scoring::events::LeadBecameHot {
        lead_id: id.clone(),
        crossing: 1,
        score: 55,
        previous: kindling::leads::Temperature::Warm,
        at: now,
        alert: true,
        owner: owner.map(str::to_owned),
        handoff: Some(1),
    })
    .envelope();
    serde_json::json!({
        "version": "0", "id": "e1", "detail-type": hot.detail_type, "source": "kindling",
        "account": "123456789012", "time": now, "region": "ap-northeast-1", "resources": [],
        "detail": serde_json::from_str::<serde_json::Value>(&hot.detail).unwrap(),
    })
}

#[tokio::test]
async fn dead_letters_are_reported_with_their_reason_and_replayed_once() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let sqs = aws_sdk_sqs::Client::new(&env.sdk);
    let url = sqs
        .create_queue()
        .queue_name(unique("crm-dead"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for id in ["crm_a", "crm_b", "crm_c"] {
        dead_letter(&sqs, &url, id).await;
    }
    let rt = env.runtime().await;
    let ledger = DeadLetters::new(sqs.clone(), &url, "hubspot".into(), rt.kindling.bus.clone());
    let status = ledger.status().await.unwrap();
    assert_eq!(status.dead, 3);
    assert_eq!(
        (status.backlog, status.delivered),
        (None, None),
        "EventBridge does not tell"
    );
    assert_eq!(status.failures.len(), 3);
    let f = &status.failures[0];
    assert!(f.dead && f.attempts == 185, "{f:?}");
    assert_eq!(
        f.error,
        "SDK_CLIENT_ERROR: Unable to invoke ApiDestination endpoint: 503"
    );
    assert_eq!(
        f.lead_id.as_deref(),
        Some("0190c9a0f2b97c4b8e1f0d3a5b6c7d8e")
    );
    // A peek leaves them there.
    assert_eq!(ledger.status().await.unwrap().dead, 3);
    env.bus_events().await;

    let one = ledger.replay(&Replay::One("crm_b".into())).await.unwrap();
    assert_eq!(one, ["crm_b"]);
    assert!(ledger
        .replay(&Replay::One("crm_zz".into()))
        .await
        .unwrap()
        .is_empty());
    let rest = ledger.replay(&Replay::AllDead).await.unwrap();
    let mut rest = rest.clone();
    rest.sort();
    assert_eq!(rest, ["crm_a", "crm_c"]);
    assert_eq!(ledger.status().await.unwrap().dead, 0);
    let published = env.bus_events().await;
    let mut ids: Vec<String> = published
        .iter()
        .filter(|e| e["detail-type"] == "lead.crm_upsert.v1")
        .map(|e| e["detail"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["crm_a", "crm_b", "crm_c"], "each published once");
}

#[tokio::test]
async fn notify_publishes_the_upsert_of_a_hot_lead_with_its_owner() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let k = &rt.kindling;
    let now = chrono::Utc::now();
    let id = kindling::ids::LeadId::new(unique("lcrm"));
    let mut lead = kindling::leads::Lead::new(
        id.clone(),
        kindling::email::EmailAddress::parse(&format!("{id}@example.co.jp")).unwrap(),
        now,
    );
    lead.owner = Some(kindling::leads::Owner {
        rep: "takeda".into(),
        rule: "large_companies".into(),
        team: Some("enterprise".into()),
        at: now,
    });
    k.stores.leads.insert_lead(&lead).await.unwrap();
    env.bus_events().await;
    let payload = hot_event(&id, Some("takeda"), now);
    let notifier = rt.notifier().unwrap();
    use kindling_aws::invocation::{on_kindling_event, Consumer};
    on_kindling_event(k, Consumer::Notify, Some(&notifier), payload.clone())
        .await
        .unwrap();
    on_kindling_event(k, Consumer::Notify, Some(&notifier), payload)
        .await
        .unwrap();
    let upserts: Vec<_> = env
        .bus_events()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "lead.crm_upsert.v1")
        .collect();
    // Delivered twice, published twice: the same message, which the CRM's upsert makes one record.
    assert_eq!(upserts.len(), 2);
    assert_eq!(upserts[0]["detail"], upserts[1]["detail"]);
    let d = &upserts[0]["detail"];
    assert_eq!(d["email"], format!("{id}@example.co.jp"));
    assert_eq!(d["owner"], "takeda");
    assert_eq!(d["changes"], serde_json::json!(["hot", "owner"]));
}

/// What telling the CRM costs a hot crossing on AWS: one more DynamoDB read (the lead, by key)
/// and one PutEvents; no write. The API destination does the rest, outside the functions.
#[tokio::test]
async fn the_upsert_costs_notify_one_read_and_one_put_events() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    let mut without = rt.clone();
    let mut config = (*rt.kindling.config).clone();
    config.crm = None;
    without.kindling.config = std::sync::Arc::new(config);
    let notifier = rt.notifier().unwrap();
    let mut cost = Vec::new();
    for k in [&without.kindling, &rt.kindling] {
        let now = chrono::Utc::now();
        let id = kindling::ids::LeadId::new(unique("lcost"));
        let lead = kindling::leads::Lead::new(
            id.clone(),
            kindling::email::EmailAddress::parse(&format!("{id}@example.co.jp")).unwrap(),
            now,
        );
        k.stores.leads.insert_lead(&lead).await.unwrap();
        let payload = hot_event(&id, None, now);
        env.bus_events().await;
        env.counter.reset();
        use kindling_aws::invocation::{on_kindling_event, Consumer};
        on_kindling_event(k, Consumer::Notify, Some(&notifier), payload)
            .await
            .unwrap();
        let published = env.bus_events().await.len();
        cost.push((env.counter.reads(), env.counter.writes(), published));
    }
    let (before, after) = (cost[0], cost[1]);
    assert_eq!(after.0, before.0 + 1, "one more read: {cost:?}");
    assert_eq!(after.1, before.1, "no more writes: {cost:?}");
    assert_eq!(after.2, before.2 + 1, "one more event: {cost:?}");
}
