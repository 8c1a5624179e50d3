//! What handing a lead to sales costs on DynamoDB (moto): the rescore that hands it over with a
//! team rule (the owner's turn read and counted), against the same rescore with no routing, and
//! the rescores its follow-up clock adds (the reminder, the deadline), each an upper bound.

use chrono::{Duration, Utc};
use kindling::scoring::rescore_lead;
use kindling_tests::aws::AwsEnv;
use std::sync::Arc;

/// A lead with a seminar and a consultation on record (50 points: hot once rescored).
async fn lead_to_hand_off(rt: &kindling_aws::Runtime, email: &str) -> kindling::ids::LeadId {
    use kindling::activities::{Activity, ActivityKind};
    let k = &rt.kindling;
    let now = Utc::now();
    let mut lead = kindling::leads::Lead::new(
        kindling::ids::LeadId::new(format!("lead-{email}")),
        kindling::email::EmailAddress::parse(email).unwrap(),
        now,
    );
    lead.profile.company_size = Some("1,200".into());
    k.stores.leads.insert_lead(&lead).await.unwrap();
    for (i, kind) in [
        ActivityKind::SeminarSignup,
        ActivityKind::ConsultationRequest,
    ]
    .into_iter()
    .enumerate()
    {
        let a = Activity {
            id: kindling::ids::ActivityId::new(format!("{email}-{i}")),
            subject: kindling::activities::Subject::Lead(lead.id.clone()),
            kind,
            at: now,
            attrs: Default::default(),
        };
        k.stores.activities.record(&a).await.unwrap();
    }
    lead.id
}

/// `(requests, item writes)` of one rescore.
async fn cost(
    env: &AwsEnv,
    k: &kindling::app::Kindling,
    lead: &kindling::ids::LeadId,
) -> (usize, usize) {
    env.counter.reset();
    rescore_lead(&k.scoring(), lead).await.unwrap();
    (env.counter.requests().len(), env.counter.writes())
}

#[tokio::test]
async fn a_hand_off_costs_two_requests_more_and_its_clock_two_rescores() {
    let Some(env) = AwsEnv::new().await else {
        return;
    };
    let rt = env.runtime().await;
    // The shipped program: a 1,200-person company goes to the enterprise team.
    let routed = lead_to_hand_off(&rt, "routed@example.jp").await;
    let with_routing = cost(&env, &rt.kindling, &routed).await;
    let owner = rt
        .kindling
        .stores
        .leads
        .get_lead(&routed)
        .await
        .unwrap()
        .unwrap()
        .owner;
    assert_eq!(owner.unwrap().team.as_deref(), Some("enterprise"));

    let mut config = (*rt.kindling.config).clone();
    config.routing = Default::default();
    let plain = kindling::app::Kindling {
        config: Arc::new(config),
        ..rt.kindling.clone()
    };
    let unrouted = lead_to_hand_off(&rt, "unrouted@example.jp").await;
    let without = cost(&env, &plain, &unrouted).await;
    println!("hand-off rescore: {with_routing:?} (requests, item writes) with a team rule, {without:?} without routing");
    // The team's counts (one Query) and the lead's turn counted once (one write request).
    assert!(
        with_routing.0 <= without.0 + 2,
        "{with_routing:?} vs {without:?}"
    );

    // The reminder's and the deadline's rescores: each publishes its event and stores the lead.
    let clock = Arc::new(kindling::testing::ManualClock::new(
        Utc::now() + Duration::hours(37),
    ));
    let later = kindling::app::Kindling {
        clock: clock.clone(),
        ..rt.kindling.clone()
    };
    let reminder = cost(&env, &later, &routed).await;
    clock.advance(Duration::hours(12));
    let deadline = cost(&env, &later, &routed).await;
    println!("reminder rescore: {reminder:?}; deadline rescore: {deadline:?}");
    let h = rt
        .kindling
        .stores
        .leads
        .get_lead(&routed)
        .await
        .unwrap()
        .unwrap()
        .handoff
        .unwrap();
    assert!(h.reminded && h.escalated);
    for c in [reminder, deadline] {
        assert!(
            c.0 <= without.0,
            "no more than a hand-off's own rescore: {c:?}"
        );
    }
}
