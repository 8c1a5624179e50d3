//! The DynamoDB store passes the store contract, on moto.

kindling_tests::store_contract!(match kindling_tests::aws::fresh_dynamo_store().await {
    Some(store) => store,
    None => return,
});

/// Two senders on one table: a ledger one read ahead goes stale when the other claims; the
/// claim's version condition catches it and the cap holds.
#[tokio::test]
async fn a_ledger_read_ahead_that_another_sender_changed_does_not_let_the_cap_overflow() {
    use kindling::ids::{BroadcastId, EnrollmentId, LeadId};
    use kindling::message::MessageKey;
    use kindling::sending::ledger::{SendRecord, SendState};
    use kindling::sending::ports::{SendClaim, SendLog};
    use kindling::sending::schedule::FrequencyCap;
    let Some(ep) = kindling_tests::aws::endpoint() else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&kindling_tests::aws::sdk_config(&ep).await);
    let table = kindling_tests::aws::unique("kindling");
    kindling_aws::dynamo::create_table(&client, &table)
        .await
        .unwrap();
    let a = kindling_aws::DynamoStore::new(client.clone(), &table);
    let b = kindling_aws::DynamoStore::new(client, &table);
    let now = chrono::Utc::now();
    let cap = Some(FrequencyCap {
        max: 1,
        window: chrono::Duration::hours(24),
    });
    let record = |key: MessageKey| SendRecord {
        key,
        sequence_id: None,
        template: kindling::ids::TemplateId::new("t"),
        state: SendState::Sending,
        claimed_at: now,
        sent_at: None,
        provider_message_id: None,
        links: vec![],
        error: None,
    };
    let lead = LeadId::new("L9");
    a.prefetch_ledgers(std::slice::from_ref(&lead))
        .await
        .unwrap();
    let step = record(MessageKey::Step {
        lead_id: lead.clone(),
        enrollment_id: EnrollmentId::new("E9"),
        step: 0,
    });
    assert_eq!(
        b.claim_send(&step, cap, now).await.unwrap(),
        SendClaim::Claimed
    );
    let broadcast = record(MessageKey::Broadcast {
        lead_id: lead.clone(),
        broadcast_id: BroadcastId::new("B9"),
    });
    assert!(matches!(
        a.claim_send(&broadcast, cap, now).await.unwrap(),
        SendClaim::CapReached { .. }
    ));
    assert_eq!(a.get_send(&broadcast.key).await.unwrap(), None);
}
