//! Segment membership on DynamoDB (moto): what the score function writes per activity. An
//! activity that moves no membership writes nothing to the index; one that moves a lead into a
//! segment writes two items (the member and its shard's count, one transaction). A redelivered
//! activity writes nothing at all.

use kindling::ids::SegmentId;
use kindling::router::Routes;
use kindling_aws::http::handle_api_request;
use kindling_aws::invocation::{on_kindling_event, Consumer};
use kindling_tests::aws::AwsEnv;
use serde_json::Value;

const SEED: &str = "manufacturing_managers_pricing";
const VISITOR: &str = "v-dynamo-seg-0001";

fn request(sample: &str, path: &str, body: String) -> lambda_http::Request {
    let mut req: Value = serde_json::from_str(sample).unwrap();
    req["rawPath"] = Value::String(path.into());
    req["requestContext"]["http"]["path"] = Value::String(path.into());
    req["body"] = Value::String(body);
    lambda_http::request::from_str(&req.to_string()).unwrap()
}

#[tokio::test]
async fn an_activity_writes_no_membership_item_unless_a_membership_changes_and_then_two() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let mut rt = env.runtime().await;
    // No triggers: the writes counted are the rescore's own (the lead) and the index's.
    let mut config = (*rt.kindling.config).clone();
    config.triggers.clear();
    rt.kindling.config = std::sync::Arc::new(config);
    let k = &rt.kindling;
    let form = include_str!("../../../events/intake/form-urlencoded.json");
    let body = format!("email=bucho%40seizo.example.jp&consent=on&industry=%E8%A3%BD%E9%80%A0%E6%A5%AD&title=%E9%83%A8%E9%95%B7&visitor_id={VISITOR}");
    let mut req: Value = serde_json::from_str(form).unwrap();
    kindling_tests::aws::set_body(&mut req, &body);
    let res = handle_api_request(
        k,
        Routes::Intake,
        lambda_http::request::from_str(&req.to_string()).unwrap(),
    )
    .await;
    assert!(res.status().is_redirection(), "{:?}", res.body());
    for e in env.bus_events().await {
        on_kindling_event(k, Consumer::Score, None, e)
            .await
            .unwrap();
    }
    let track = include_str!("../../../events/track/page-view.json");
    let seg = SegmentId::from(SEED);
    for i in 0..4 {
        let beacon = serde_json::json!({ "visitor_id": VISITOR, "events": [{ "id": format!("pv-{i}"), "type": "page_view", "url": "https://example.jp/pricing.html", "at": chrono::Utc::now() }] });
        let res = handle_api_request(
            k,
            Routes::Track,
            request(track, "/t/events", beacon.to_string()),
        )
        .await;
        assert_eq!(res.status(), 202);
        // What the earlier rescores published (stage changes, entries) is not for scoring.
        let events: Vec<Value> = env
            .bus_events()
            .await
            .into_iter()
            .filter(|e| e["detail-type"] == "activity.recorded.v1")
            .collect();
        assert_eq!(events.len(), 1);
        env.counter.reset();
        on_kindling_event(k, Consumer::Score, None, events[0].clone())
            .await
            .unwrap();
        let requests = env.counter.requests();
        let membership: usize = requests
            .iter()
            .filter(|(op, n)| op == "TransactWriteItems" && *n == 2)
            .map(|(_, n)| n)
            .sum();
        eprintln!(
            "DynamoDB per pricing view {} (score function): {} item writes, {} of them membership: {requests:?}",
            i + 1,
            env.counter.writes(),
            membership
        );
        let count = k.stores.segments.member_count(&seg).await.unwrap();
        if i == 2 {
            assert_eq!(membership, 2, "{requests:?}");
            assert_eq!(env.counter.writes(), 3, "the lead and two index items");
            assert_eq!(count, 1);
        } else {
            assert_eq!(membership, 0, "{requests:?}");
            assert_eq!(env.counter.writes(), 1, "the lead's new score only");
            assert_eq!(count, u64::from(i > 2));
        }
        // The same delivery again: nothing changes, nothing is written.
        env.counter.reset();
        on_kindling_event(k, Consumer::Score, None, events[0].clone())
            .await
            .unwrap();
        assert_eq!(env.counter.writes(), 0, "{:?}", env.counter.requests());
    }
    let page = k.stores.segments.members(&seg, None, 10).await.unwrap();
    assert_eq!(page.members.len(), 1);
    let lead = k
        .stores
        .leads
        .get_lead(&page.members[0].lead_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.segments[&seg].since, page.members[0].since);
}
