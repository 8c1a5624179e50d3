//! What a rescore starts from: the lead's score state brought up to now with what is new, or
//! the whole log when the state cannot be used.

use crate::activities::Activity;
use crate::error::Result;
use crate::leads::{Lead, Submissions};
use crate::scoring::state::{Placed, ScoreState};
use chrono::{DateTime, Utc};

/// What a rescore learns besides the time.
#[derive(Debug, Clone, Copy)]
pub enum Fresh<'a> {
    /// Nothing new: a recheck, a mark, a new profile.
    Nothing,
    /// A new activity (`duplicate`: its id was recorded before).
    Activity(&'a Activity, bool),
    /// Rebuild the state from the whole log (`kindling rescore --apply`, segment rebuilds: the
    /// explicit replays; a changed program is caught by its fingerprint without this).
    Rebuild,
}

/// The lead's score state brought up to `now`, and what else was learnt on the way.
pub(super) struct Now {
    pub state: ScoreState,
    /// For a fresh activity, the activity as a person's (`Some(None)`: a machine's, or not yet
    /// due).
    pub seen: Option<Option<Activity>>,
    /// The submissions of the whole log, when it was read.
    pub submitted: Option<Submissions>,
}

impl Now {
    /// The submissions of the log when it was read, with what the lead holds that the log may
    /// not yet (a form submission notes itself on the lead before its activity is recorded).
    pub fn submitted_with(&self, stored: &Lead) -> Option<Submissions> {
        let mut submitted = self.submitted.clone()?;
        if let Some(held) = &stored.submitted {
            submitted.merge(held);
        }
        Some(submitted)
    }
}

/// The lead's score state, brought up to `now` with what is fresh: from the lead when it holds
/// one it can use (no log read), else built from the whole log.
pub(super) async fn state_now(
    k: &super::Scoring<'_>,
    stored: &Lead,
    fresh: Fresh<'_>,
    now: DateTime<Utc>,
) -> Result<Now> {
    let c = &k.config;
    let mut state = match fresh {
        Fresh::Rebuild => None,
        _ => stored
            .score
            .state
            .as_deref()
            .filter(|s| s.program == c.fingerprint)
            .cloned(),
    };
    if let (Some(s), Fresh::Activity(a, duplicate)) = (&mut state, fresh) {
        if s.place(a, duplicate) == Placed::Rebuild {
            state = None;
        }
    }
    if let Some(mut s) = state {
        // Seen before the horizon moves: advancing may fold it and drop it.
        let seen = match fresh {
            Fresh::Activity(a, _) => Some(ScoreState::seen(&s.view(now), a)),
            Fresh::Nothing | Fresh::Rebuild => None,
        };
        s.advance(c, now);
        return Ok(Now {
            state: s,
            seen,
            submitted: None,
        });
    }
    let mut visitors = k.visitors.visitors_of_lead(&stored.id).await?;
    let mut all = k.activities.activities_of_lead(&stored.id).await?;
    for v in &visitors {
        all.extend(k.activities.activities_of_visitor(v).await?);
    }
    visitors.sort();
    let submitted = Some(Submissions::of_log(&all));
    let (state, seen) = match fresh {
        Fresh::Activity(a, _) => {
            let (s, seen) = ScoreState::rebuild(c, visitors, &all, now, &a.id);
            (s, Some(seen))
        }
        _ => (
            ScoreState::build(c, c.fingerprint, visitors, &all, now),
            None,
        ),
    };
    Ok(Now {
        state,
        seen,
        submitted,
    })
}

/// [`super::rescore_lead`], told what is new. With a usable state on the lead, reads only the
/// lead.
#[tracing::instrument(name = "rescore_lead", skip_all, fields(lead_id = %lead_id))]
pub async fn rescore_with(
    k: &super::Scoring<'_>,
    lead_id: &crate::ids::LeadId,
    fresh: Fresh<'_>,
) -> Result<Option<super::Rescored>> {
    // Boxed: a rescore's future is large, and callers nest it deep (an admin command, a bus
    // handler), which overflowed a 2 MB test thread's stack in debug builds.
    Box::pin(super::rescore_from(k, lead_id, fresh, None)).await
}

/// An engagement card with the lead's fit.
pub(super) fn with_fit_of(
    c: &super::Sections<'_>,
    lead: &Lead,
    card: super::ScoreCard,
) -> super::ScoreCard {
    super::with_fit(card, lead, &c.scoring.fit_rules, c.scoring.thresholds)
}
