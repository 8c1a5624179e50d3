//! A broadcast's lifecycle: draft → approved → scheduled → sending → sent, or paused, or
//! cancelled. Every move is a conditional write of the broadcast (two people acting at once
//! cannot both win) and is kept in its history.
//!
//! An approval covers a hash of content, audience, schedule, topic and A/B test
//! ([`Broadcast::hash`]); any edit
//! changes the hash, voids the approval and returns the broadcast to draft. Approval needs a
//! dry run of exactly what is approved, with no recipient failing to render, and, when
//! `broadcasts.second_approver` is set, someone other than the creator.

use super::checks::{check_ab, check_audience, check_content, check_person, check_topic};
use super::content::{Content, Lint};
use super::transitions::{allows, apply, Transition};
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
    /// An A/B test of subjects or send times.
    pub ab: Option<super::ab::Spec>,
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
    /// `Some(None)` removes the A/B test; `Some(Some(..))` sets one.
    pub ab: Option<Option<super::ab::Spec>>,
}

pub use super::checks::MAX_NAME;

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
    let ab = new
        .ab
        .as_ref()
        .map(|s| s.plan(&new.content))
        .transpose()
        .map_err(Error::Invalid)?;
    let now = k.clock.now();
    let b = Broadcast {
        id: BroadcastId::new(id),
        name: new.name.trim().to_owned(),
        audience: new.audience,
        content: new.content,
        schedule: new.schedule,
        topic,
        ab,
        decision: None,
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
    check_ab(k, &b)?;
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

/// Edits a broadcast that has not started; voids its approval and its dry run (back to draft).
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
        apply(b, Transition::Edit)?;
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
        match &e.ab {
            Some(Some(spec)) => b.ab = Some(spec.plan(&b.content).map_err(Error::Invalid)?),
            Some(None) => b.ab = None,
            None => {}
        }
        check_ab(k, b)?;
        b.approval = None;
        // An approval needs a dry run of the broadcast as it is now: even an edit the hash does
        // not cover (its name) asks for a new one.
        b.dry_run = None;
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
        allows(b, Transition::Approve)?;
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
        apply(b, Transition::Approve)
    })
    .await
}

/// Arms an approved broadcast: it starts at its time.
pub async fn schedule(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "scheduled", |b| {
        if b.state == State::Approved && !b.approved() {
            return Err(Error::Refused(format!(
                "broadcast {}: its approval is void; approve it again first",
                b.id
            )));
        }
        apply(b, Transition::Schedule)
    })
    .await
}

/// Pauses a scheduled or sending broadcast: the sender's next page sees it and stops.
pub async fn pause(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "paused", |b| apply(b, Transition::Pause)).await
}

/// Resumes a paused broadcast where it stood. One held by a guard needs [`confirm`].
pub async fn resume(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "resumed", |b| {
        if let Some(h) = b.hold.as_ref().filter(|_| b.state == State::Paused) {
            return Err(Error::Refused(format!(
                "held by a guard ({}): confirm it instead",
                hold_text(h)
            )));
        }
        apply(b, Transition::Resume)
    })
    .await
}

/// Confirms a broadcast a guard holds: a late start, or an audience larger than approved.
pub async fn confirm(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    update(k, id, by, "confirmed", |b| {
        if b.hold.is_none() {
            return Err(Error::Refused(format!(
                "broadcast {} is {}: it cannot be confirmed (no guard holds it)",
                b.id,
                b.state.name()
            )));
        }
        apply(b, Transition::Confirm)?;
        match b.hold.take() {
            Some(Hold::Stale { .. }) => b.confirmed_late = true,
            Some(Hold::SizeGuard { .. }) => b.confirmed_size = true,
            None => {}
        }
        Ok(())
    })
    .await
}

/// Cancels a broadcast for good: queued recipients get nothing.
pub async fn cancel(k: &Broadcasts<'_>, id: &BroadcastId, by: &str) -> Result<Broadcast> {
    check_person(by)?;
    let now = k.clock.now();
    update(k, id, by, "cancelled", |b| {
        apply(b, Transition::Cancel)?;
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
