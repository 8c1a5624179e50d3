//! A broadcast's lifecycle: draft → approved → scheduled → sending → sent, or paused, or
//! cancelled. Every move is a conditional write of the broadcast (two people acting at once
//! cannot both win) and is kept in its history.
//!
//! An approval covers a hash of content, audience and schedule ([`Broadcast::hash`]); any edit
//! changes the hash, voids the approval and returns the broadcast to draft. Approval needs a
//! dry run of exactly what is approved, with no recipient failing to render, and, when
//! `broadcasts.second_approver` is set, someone other than the creator.

use super::content::{lint, Content, Lint};
use super::{Approval, Audience, Broadcast, Broadcasts, Change, Freeze, Hold, Schedule, State};
use crate::error::{conflict, Error, Result};
use crate::ids::{is_valid_id, BroadcastId, TopicId};
use crate::names::Named;
use crate::ports::{Cas, Put, CAS_ATTEMPTS};

/// What creating a broadcast takes.
#[derive(Debug, Clone)]
pub struct NewBroadcast {
    /// `None`: a fresh id.
    pub id: Option<String>,
    pub name: String,
    pub audience: Audience,
    pub content: Content,
    pub schedule: Schedule,
    /// The topic it belongs to (required when `[[topics]]` exist; a correction takes its
    /// original's when none is given).
    pub topic: Option<TopicId>,
    pub by: String,
}

/// An edit: what is `Some` changes.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub name: Option<String>,
    pub audience: Option<Audience>,
    pub content: Option<Content>,
    pub schedule: Option<Schedule>,
    pub topic: Option<TopicId>,
}

/// Longest name and actor accepted.
pub const MAX_NAME: usize = 200;

fn check_person(by: &str) -> Result<()> {
    if by.trim().is_empty() || by.len() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "who acts must be named (1 to {MAX_NAME} characters)"
        )));
    }
    Ok(())
}

/// Checks an audience names what exists: a configured segment, or a broadcast that started.
async fn check_audience(k: &Broadcasts<'_>, a: &Audience) -> Result<()> {
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
async fn check_topic(
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

fn check_content(k: &Broadcasts<'_>, c: &Content) -> Result<Lint> {
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

/// Creates a draft, after linting its content and checking its audience. Returns it with the
/// lint's warnings.
pub async fn create(k: &Broadcasts<'_>, new: NewBroadcast) -> Result<(Broadcast, Lint)> {
    check_person(&new.by)?;
    if new.name.trim().is_empty() || new.name.len() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "a broadcast needs a name of 1 to {MAX_NAME} characters"
        )));
    }
    let id = match new.id {
        Some(id) if is_valid_id(&id) && id.len() <= 64 => id,
        Some(id) => {
            return Err(Error::Invalid(format!(
                "broadcast id {id:?}: use up to 64 letters, digits, '-' and '_'"
            )))
        }
        None => k.ids.new_id(),
    };
    check_audience(k, &new.audience).await?;
    let topic = check_topic(k, &new.audience, new.topic).await?;
    let lint = check_content(k, &new.content)?;
    let now = k.clock.now();
    let b = Broadcast {
        id: BroadcastId::new(id),
        name: new.name.trim().to_owned(),
        audience: new.audience,
        content: new.content,
        schedule: new.schedule,
        topic,
        state: State::Draft,
        hold: None,
        created_by: new.by.clone(),
        created_at: now,
        approval: None,
        dry_run: None,
        freeze: Freeze::default(),
        started_at: None,
        finished_at: None,
        confirmed_late: false,
        confirmed_size: false,
        history: vec![Change {
            at: now,
            by: new.by,
            what: "created".into(),
        }],
        version: 0,
    };
    match k.store.create_broadcast(&b).await? {
        Put::Created => Ok((b, lint)),
        Put::Existed => Err(Error::Refused(format!("broadcast {} exists", b.id))),
    }
}

/// Reads, changes (or refuses) and writes a broadcast under its version, retrying a lost race
/// from a fresh read.
pub(crate) async fn update(
    k: &Broadcasts<'_>,
    id: &BroadcastId,
    by: &str,
    what: &str,
    change: impl Fn(&mut Broadcast) -> Result<()>,
) -> Result<Broadcast> {
    for _ in 0..CAS_ATTEMPTS {
        let Some(mut b) = k.store.get_broadcast(id).await? else {
            return Err(Error::NotFound(format!("no broadcast {id}")));
        };
        change(&mut b)?;
        b.history.push(Change {
            at: k.clock.now(),
            by: by.to_owned(),
            what: what.to_owned(),
        });
        if k.store.update_broadcast(&b).await? == Cas::Updated {
            b.version += 1;
            return Ok(b);
        }
    }
    Err(conflict(format!("broadcast {id}")))
}

fn refuse(b: &Broadcast, doing: &str) -> Error {
    Error::Refused(format!(
        "broadcast {} is {}: it cannot be {doing}",
        b.id,
        b.state.name()
    ))
}

/// Edits a broadcast that has not started; voids its approval (back to draft).
pub async fn edit(k: &Broadcasts<'_>, id: &BroadcastId, e: Edit, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    if let Some(a) = &e.audience {
        check_audience(k, a).await?;
    }
    if let Some(c) = &e.content {
        check_content(k, c)?;
    }
    let topic = match e.topic {
        Some(t) => check_topic(k, &Audience::All, Some(t)).await?,
        None => None,
    };
    if e.name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.len() > MAX_NAME)
    {
        return Err(Error::Invalid(format!(
            "a name has 1 to {MAX_NAME} characters"
        )));
    }
    update(k, id, by, "edited (approval voided)", |b| {
        if !matches!(b.state, State::Draft | State::Approved | State::Scheduled) {
            return Err(refuse(b, "edited"));
        }
        if let Some(n) = &e.name {
            b.name = n.trim().to_owned();
        }
        if let Some(a) = &e.audience {
            b.audience = a.clone();
        }
        if topic.is_some() {
            b.topic = topic.clone();
        }
        if let Some(c) = &e.content {
            b.content = c.clone();
        }
        if let Some(s) = e.schedule {
            b.schedule = s;
        }
        b.state = State::Draft;
        b.approval = None;
        b.hold = None;
        Ok(())
    })
    .await
}

/// Approves a draft as it is now: needs a dry run of exactly this content, audience and
/// schedule in which every recipient rendered, and under `second_approver` another person.
pub async fn approve(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    let second = k.config.broadcasts.second_approver;
    let now = k.clock.now();
    update(k, id, by, "approved", |b| {
        if b.state != State::Draft {
            return Err(refuse(b, "approved"));
        }
        let hash = b.hash();
        match &b.dry_run {
            Some(d) if d.hash == hash && d.failures == 0 => {}
            Some(d) if d.hash == hash => {
                return Err(Error::Refused(format!(
                "the dry run found {} recipients whose mail does not render; fix the content first",
                d.failures
            )))
            }
            _ => {
                return Err(Error::Refused(
                    "dry-run the broadcast as it is now before approving it".into(),
                ))
            }
        }
        if second && b.created_by == by {
            return Err(Error::Refused(format!(
                "broadcasts.second_approver: {by} created this broadcast; someone else approves it"
            )));
        }
        b.approval = Some(Approval {
            by: by.to_owned(),
            at: now,
            hash,
        });
        b.state = State::Approved;
        Ok(())
    })
    .await
}

/// Arms an approved broadcast: it starts at its time.
pub async fn schedule(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "scheduled", |b| {
        if b.state != State::Approved || !b.approved() {
            return Err(refuse(b, "scheduled (approve it first)"));
        }
        b.state = State::Scheduled;
        Ok(())
    })
    .await
}

/// Pauses a scheduled or sending broadcast: the sender's next page sees it and stops.
pub async fn pause(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "paused", |b| {
        if !matches!(b.state, State::Scheduled | State::Sending) {
            return Err(refuse(b, "paused"));
        }
        b.state = State::Paused;
        Ok(())
    })
    .await
}

/// Resumes a paused broadcast where it stood. One held by a guard needs [`confirm`].
pub async fn resume(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "resumed", |b| {
        if b.state != State::Paused {
            return Err(refuse(b, "resumed"));
        }
        if let Some(h) = &b.hold {
            return Err(Error::Refused(format!(
                "held by a guard ({}): confirm it instead",
                hold_text(h)
            )));
        }
        b.state = if b.started_at.is_some() {
            State::Sending
        } else {
            State::Scheduled
        };
        Ok(())
    })
    .await
}

/// Confirms a broadcast a guard holds: a late start, or an audience larger than approved.
pub async fn confirm(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "confirmed", |b| {
        match b.hold.take() {
            Some(Hold::Stale { .. }) => b.confirmed_late = true,
            Some(Hold::SizeGuard { .. }) => b.confirmed_size = true,
            None => return Err(refuse(b, "confirmed (no guard holds it)")),
        }
        b.state = if b.started_at.is_some() {
            State::Sending
        } else {
            State::Scheduled
        };
        Ok(())
    })
    .await
}

/// Cancels a broadcast for good: queued recipients get nothing.
pub async fn cancel(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    let now = k.clock.now();
    update(k, id, by, "cancelled", |b| {
        if matches!(b.state, State::Sent | State::Cancelled) {
            return Err(refuse(b, "cancelled"));
        }
        b.state = State::Cancelled;
        b.finished_at = Some(now);
        Ok(())
    })
    .await
}

/// A guard's hold, for people.
pub fn hold_text(h: &Hold) -> String {
    match h {
        Hold::SizeGuard { frozen, limit } => format!(
            "size guard: the audience is {frozen}, above {limit} (twice the approved dry run, or broadcasts.max_audience)"
        ),
        Hold::Stale { start } => format!(
            "stale schedule: it was due to start at {start}, longer ago than broadcasts.stale_after_hours"
        ),
    }
}
