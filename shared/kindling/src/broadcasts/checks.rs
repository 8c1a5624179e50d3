//! What creating and editing a broadcast checks before anything is written: who acts, that
//! its audience and topic exist, its content's lint, and its A/B test.

use super::content::{lint, Content, Lint};
use super::{Audience, Broadcast, Broadcasts};
use crate::error::{Error, Result};
use crate::ids::TopicId;

/// Longest name and actor accepted.
pub const MAX_NAME: usize = 200;

pub(super) fn check_person(by: &str) -> Result<()> {
    if by.trim().is_empty() || by.len() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "who acts must be named (1 to {MAX_NAME} characters)"
        )));
    }
    Ok(())
}

/// Checks an audience names what exists: a configured segment, or a broadcast that started.
pub(super) async fn check_audience(k: &Broadcasts<'_>, a: &Audience) -> Result<()> {
    match a {
        Audience::All => Ok(()),
        Audience::Segment { segment } => {
            if k.config.segments.iter().any(|s| &s.id == segment) {
                Ok(())
            } else {
                Err(Error::Invalid(format!(
                    "no segment {:?} in kindling.toml",
                    segment.as_str()
                )))
            }
        }
        Audience::RecipientsOf { broadcast } => match k.store.get_broadcast(broadcast).await? {
            Some(b) if b.started_at.is_some() => Ok(()),
            Some(_) => Err(Error::Invalid(format!(
                "broadcast {broadcast} has not started: it has no recipients to correct"
            ))),
            None => Err(Error::Invalid(format!("no broadcast {broadcast}"))),
        },
    }
}

/// The topic a broadcast belongs to: a configured one, named whenever topics exist.
pub(super) async fn check_topic(
    k: &Broadcasts<'_>,
    audience: &Audience,
    topic: Option<TopicId>,
) -> Result<Option<TopicId>> {
    let topics = &k.deliverability.config.deliverability.topics;
    match topic {
        Some(t) if topics.iter().any(|x| x.id == t) => Ok(Some(t)),
        Some(t) => Err(Error::Invalid(format!(
            "no topic {:?} in kindling.toml (one of: {})",
            t.as_str(),
            topic_names(k)
        ))),
        None if topics.is_empty() => Ok(None),
        None => match audience {
            Audience::RecipientsOf { broadcast } => Ok(k
                .store
                .get_broadcast(broadcast)
                .await?
                .and_then(|b| b.topic)),
            _ => Err(Error::Invalid(format!(
                "name the broadcast's topic (one of: {}), so that leads who left it get none",
                topic_names(k)
            ))),
        },
    }
}

fn topic_names(k: &Broadcasts<'_>) -> String {
    let topics = &k.deliverability.config.deliverability.topics;
    topics
        .iter()
        .map(|t| t.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a broadcast's A/B test against its content, schedule and audience.
pub(super) fn check_ab(k: &Broadcasts<'_>, b: &Broadcast) -> Result<()> {
    let Some(plan) = &b.ab else { return Ok(()) };
    let errors = super::ab::check(
        plan,
        &b.content,
        &b.schedule,
        &b.audience,
        k.config.program,
        k.config.sender,
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "the A/B test does not pass its checks:\n  {}",
            errors.join("\n  ")
        )))
    }
}

pub(super) fn check_content(k: &Broadcasts<'_>, c: &Content) -> Result<Lint> {
    let l = lint(c, k.config.program, k.config.sender);
    if l.errors.is_empty() {
        Ok(l)
    } else {
        Err(Error::Invalid(format!(
            "the content does not pass its checks:\n  {}",
            l.errors.join("\n  ")
        )))
    }
}
