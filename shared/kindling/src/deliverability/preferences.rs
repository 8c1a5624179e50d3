//! A lead's subscriptions per topic: leaving one topic, or saving the preference page's choice
//! of topics. Leaving everything is [`super::unsubscribe`]. Each change is written with the
//! lead's consent record ([`crate::leads::Preferences`]); the sender reads it at every send, so
//! a lead that leaves a topic gets no further mail of it, pending or not.

use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::error::{conflict, Error, Result};
use crate::ids::ActivityId;
use crate::ids::{LeadId, TopicId};
use crate::leads::{PreferenceChange, Preferences};
use crate::ports::{Cas, CAS_ATTEMPTS};
use crate::tracking::record_activity;
use std::collections::BTreeSet;

/// Keeps the lead in exactly the topics of `subscribed` among the configured ones; returns how
/// many topics changed (0: nothing was written). A topic not configured is refused.
#[tracing::instrument(name = "preferences", skip_all, fields(lead_id = %lead_id))]
pub async fn set_topics(
    k: &super::Deliverability<'_>,
    lead_id: &LeadId,
    subscribed: &BTreeSet<TopicId>,
    via: &str,
) -> Result<usize> {
    let topics = &k.config.deliverability.topics;
    if let Some(t) = subscribed
        .iter()
        .find(|t| !topics.iter().any(|x| x.id == **t))
    {
        return Err(Error::Invalid(format!("no topic {:?}", t.as_str())));
    }
    let wanted: Vec<(TopicId, bool)> = topics
        .iter()
        .map(|t| (t.id.clone(), subscribed.contains(&t.id)))
        .collect();
    change(k, lead_id, &wanted, via).await
}

/// Takes the lead out of one topic (RFC 8058 one-click from a mail of it); idempotent.
pub async fn leave_topic(
    k: &super::Deliverability<'_>,
    lead_id: &LeadId,
    topic: &TopicId,
    via: &str,
) -> Result<usize> {
    change(k, lead_id, &[(topic.clone(), false)], via).await
}

async fn change(
    k: &super::Deliverability<'_>,
    lead_id: &LeadId,
    wanted: &[(TopicId, bool)],
    via: &str,
) -> Result<usize> {
    let now = k.clock.now();
    for _ in 0..CAS_ATTEMPTS {
        let Some(mut lead) = k.leads.get_lead(lead_id).await? else {
            return Err(Error::NotFound(format!("no lead {lead_id}")));
        };
        let p = &mut lead.preferences;
        let mut changed = 0;
        for (topic, subscribed) in wanted {
            if p.left(topic) != *subscribed {
                continue;
            }
            if *subscribed {
                p.opted_out.remove(topic);
            } else {
                p.opted_out.insert(topic.clone(), now);
            }
            p.history.push(PreferenceChange {
                at: now,
                topic: Some(topic.clone()),
                subscribed: *subscribed,
                via: via.to_owned(),
            });
            changed += 1;
        }
        if changed == 0 {
            // A retry of a change whose activity was not recorded (a crash between the two).
            record_left(k, lead_id, &lead.preferences, wanted).await?;
            return Ok(0);
        }
        let excess = p.history.len().saturating_sub(Preferences::HISTORY);
        p.history.drain(..excess);
        lead.updated_at = now;
        if k.leads.update_lead(&lead).await? == Cas::Updated {
            tracing::info!(lead_id = %lead_id, changed, via, "preferences changed");
            record_left(k, lead_id, &lead.preferences, wanted).await?;
            return Ok(changed);
        }
    }
    Err(conflict(format!("lead {lead_id}")))
}

/// How long after leaving a topic a repeated request still records its activity (a retry after
/// a failure between the lead's write and the record); older opt-outs are not announced again.
const RETRY_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// Records a `topic_left` activity for each topic of `wanted` the lead left within
/// [`RETRY_WINDOW`], named by the moment it was left, so each opt-out is recorded once (the KPIs'
/// opt-outs per topic count it).
async fn record_left(
    k: &super::Deliverability<'_>,
    lead_id: &LeadId,
    p: &Preferences,
    wanted: &[(TopicId, bool)],
) -> Result<()> {
    let now = k.clock.now();
    for (topic, _) in wanted.iter().filter(|(_, subscribed)| !*subscribed) {
        let Some(at) = p
            .opted_out
            .get(topic)
            .filter(|at| now - **at <= RETRY_WINDOW)
        else {
            continue;
        };
        let activity = Activity {
            id: ActivityId::new(format!("tl_{lead_id}_{topic}_{}", at.timestamp_millis())),
            subject: Subject::Lead(lead_id.clone()),
            kind: ActivityKind::TopicLeft,
            at: *at,
            attrs: Attrs {
                topic: Some(topic.clone()),
                ..Attrs::default()
            },
        };
        record_activity(&k.record, &activity).await?;
    }
    Ok(())
}
