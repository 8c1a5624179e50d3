//! The demo's broadcasts: the marketer creates one, dry-runs it, a manager approves it and it
//! is scheduled, all through the same use cases as `kindling broadcast`.

use super::scenario::DemoBroadcast;
use crate::app::LocalApp;
use anyhow::Context;
use kindling::broadcasts::content::Content;
use kindling::broadcasts::dry_run::dry_run;
use kindling::broadcasts::lifecycle::{self, NewBroadcast};
use kindling::broadcasts::{Audience, Schedule};
use kindling::ids::{SegmentId, TopicId};

/// When the marketer creates it.
pub(super) fn created_at(
    b: &DemoBroadcast,
    zone: chrono_tz::Tz,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let t = chrono::NaiveDateTime::parse_from_str(&b.created, "%Y-%m-%d %H:%M")?;
    Ok(kindling::sending::schedule::resolve_local(zone, t))
}

/// Creates, dry-runs, approves and schedules it; returns the timeline's line.
pub(super) async fn prepare(app: &LocalApp, b: &DemoBroadcast) -> anyhow::Result<String> {
    let k = app.kindling.broadcasts();
    let content = Content::from_template(&app.kindling.config.templates, &b.template)
        .map_err(|e| anyhow::anyhow!("broadcast {}: {e}", b.id))?;
    let at = chrono::NaiveDateTime::parse_from_str(&b.at, "%Y-%m-%d %H:%M")?;
    let (created, _) = lifecycle::create(
        &k,
        NewBroadcast {
            id: Some(b.id.clone()),
            name: b.name.clone(),
            audience: Audience::Segment {
                segment: SegmentId::new(b.segment.clone()),
            },
            content,
            schedule: Schedule { at, local: b.local },
            topic: b.topic.as_deref().map(TopicId::new),
            ab: None,
            by: b.by.clone(),
        },
    )
    .await
    .with_context(|| format!("broadcast {}", b.id))?;
    let dry = dry_run(&k, &created.id, &b.by)
        .await?
        .dry_run
        .context("dry run kept")?;
    lifecycle::approve(&k, &created.id, &b.approver).await?;
    lifecycle::schedule(&k, &created.id, &b.approver).await?;
    Ok(format!(
        "📰 broadcast {} to segment {}: dry run {} of {} members; approved by {}; at {}{}",
        b.id,
        b.segment,
        dry.recipients,
        dry.audience,
        b.approver,
        b.at,
        if b.local { " in each lead's zone" } else { "" }
    ))
}
