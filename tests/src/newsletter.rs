//! A newsletter to consenting leads, armed to go now: what the broadcast tests and the cost
//! measurement send.

use chrono::{DateTime, Duration, Utc};
use kindling::broadcasts::content::Content;
use kindling::broadcasts::lifecycle::{self, NewBroadcast};
use kindling::broadcasts::{Audience, Schedule};
use kindling::email::EmailAddress;
use kindling::ids::{BroadcastId, FormId, LeadId, TopicId};
use kindling::leads::{Consent, Lead};

/// `n` consenting leads `{id}-000`, ... at `{email}0@example.jp`, ...
pub async fn consenting_leads(
    k: &kindling::app::Kindling,
    email: &str,
    id: &str,
    n: usize,
    at: DateTime<Utc>,
) {
    for i in 0..n {
        let address = EmailAddress::parse(&format!("{email}{i}@example.jp")).unwrap();
        let mut lead = Lead::new(LeadId::new(format!("{id}-{i:03}")), address, at);
        lead.consent = Some(Consent {
            at,
            form_id: FormId::new("whitepaper"),
            text_version: "v1".into(),
            source_ip: None,
            user_agent: None,
        });
        k.stores.leads.insert_lead(&lead).await.unwrap();
    }
}

/// The shipped newsletter template to every consenting lead (`newsletter` topic), due a minute
/// before `now`: created, dry-run, approved and scheduled.
pub async fn armed_newsletter(
    k: &kindling::app::Kindling,
    id: &str,
    now: DateTime<Utc>,
) -> BroadcastId {
    let b = k.broadcasts();
    let at = (now - Duration::minutes(1))
        .with_timezone(&k.config.program.default_zone)
        .naive_local();
    let content = Content::from_template(&k.config.templates, "it_newsletter").unwrap();
    let (created, _) = lifecycle::create(
        &b,
        NewBroadcast {
            id: Some(id.into()),
            name: "n".into(),
            audience: Audience::All,
            content,
            schedule: Schedule { at, local: false },
            topic: Some(TopicId::new("newsletter")),
            ab: None,
            by: "m".into(),
        },
    )
    .await
    .unwrap();
    arm(&b, &created.id).await;
    created.id
}

/// Dry-runs, approves and schedules a broadcast.
pub async fn arm(b: &kindling::broadcasts::Broadcasts<'_>, id: &BroadcastId) {
    kindling::broadcasts::dry_run::dry_run(b, id, "m")
        .await
        .unwrap();
    lifecycle::approve(b, id, "boss").await.unwrap();
    lifecycle::schedule(b, id, "boss").await.unwrap();
}
