//! Walking every lead: the preview and the replay of a rule change (`rescore`), and the
//! segments' rebuild after a definition changes.

use super::fresh::rescore_with;
use super::rescore::lead_activities;
use crate::activities::log::clean_log;
use crate::error::Result;
use crate::ids::LeadId;
use crate::leads::Temperature;
use crate::scoring::score_lead_summary;
use crate::segments::membership::Move;

/// A lead whose stored score differs from what the current rules give.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RescoreChange {
    pub lead_id: LeadId,
    pub email: String,
    pub before: (i64, Temperature),
    pub after: (i64, Temperature),
}

impl RescoreChange {
    /// The temperature changes (not only the total).
    pub fn changes_temperature(&self) -> bool {
        self.before.1 != self.after.1
    }
}

/// Leads per page when walking every lead.
const RESCORE_PAGE: usize = 100;

/// Recomputes every lead under the current rules and lists those whose score would change, in
/// the store's lead order. With `apply`, stores the new scores (with their transitions and
/// triggers, as any rescore does); without, writes nothing: the preview of a rule change.
#[tracing::instrument(name = "rescore_all", skip_all, fields(apply = apply))]
pub async fn rescore_all(k: &super::Scoring<'_>, apply: bool) -> Result<Vec<RescoreChange>> {
    let mut changes = Vec::new();
    let mut after: Option<LeadId> = None;
    loop {
        let page = rescore_page(k, after.as_ref(), RESCORE_PAGE, apply).await?;
        changes.extend(page.changes);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(changes),
        }
    }
}

/// One page of [`rescore_all`]: what changes among the next `limit` leads after `after`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RescorePage {
    pub changes: Vec<RescoreChange>,
    /// Leads looked at in this page.
    pub leads: usize,
    /// Pass as `after` for the next page; `None` when every lead was seen.
    pub next: Option<LeadId>,
    pub applied: bool,
}

/// Rescores one page of leads (see [`rescore_all`]), so that a large table can be walked by
/// several bounded invocations.
#[tracing::instrument(name = "rescore_page", skip_all, fields(apply = apply, limit = limit))]
pub async fn rescore_page(
    k: &super::Scoring<'_>,
    after: Option<&LeadId>,
    limit: usize,
    apply: bool,
) -> Result<RescorePage> {
    let limit = limit.max(1);
    let page = k.leads.list_lead_ids(after, limit).await?;
    let mut changes = Vec::new();
    for id in &page {
        let Some(lead) = k.leads.get_lead(id).await? else {
            continue;
        };
        // Totals only (no per-rule activity ids): what the comparison needs.
        let all = lead_activities(k, id).await?;
        let now = k.clock.now();
        let c = &k.config;
        let card = score_lead_summary(
            &lead,
            &clean_log(&all, now),
            &c.scoring.rules,
            &c.scoring.fit_rules,
            c.scoring.thresholds,
            now,
        );
        if card.total == lead.score.total && card.temperature == lead.score.temperature {
            continue;
        }
        changes.push(RescoreChange {
            lead_id: id.clone(),
            email: lead.email.to_string(),
            before: (lead.score.total, lead.score.temperature),
            after: (card.total, card.temperature),
        });
        if apply {
            rescore_with(k, id, super::Fresh::Rebuild).await?;
        }
    }
    Ok(RescorePage {
        changes,
        leads: page.len(),
        next: (page.len() == limit)
            .then(|| page.last().cloned())
            .flatten(),
        applied: apply,
    })
}

/// A lead that a rebuild moves into or out of a segment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SegmentMove {
    pub lead_id: LeadId,
    pub email: String,
    pub segment: crate::ids::SegmentId,
    pub entered: bool,
}

/// One page of [`rebuild_segments`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RebuildPage {
    /// Who enters and who leaves, lead by lead. A lead already in a segment it still meets is
    /// not listed: it is not announced again.
    pub moves: Vec<SegmentMove>,
    pub leads: usize,
    pub next: Option<LeadId>,
    pub applied: bool,
}

/// Re-evaluates the segments of one page of leads under the current definitions (after a
/// definition changed or a segment was added). With `apply`, each lead that moves is rescored,
/// which stores its memberships, writes the index, publishes the entries and departures and runs
/// `entered_segment` triggers, as any rescore does; without, writes nothing.
#[tracing::instrument(name = "rebuild_segments_page", skip_all, fields(apply = apply, limit = limit))]
pub async fn rebuild_segments_page(
    k: &super::Scoring<'_>,
    after: Option<&LeadId>,
    limit: usize,
    apply: bool,
) -> Result<RebuildPage> {
    let limit = limit.max(1);
    let page = k.leads.list_lead_ids(after, limit).await?;
    let mut moves = Vec::new();
    for id in &page {
        let Some(lead) = k.leads.get_lead(id).await? else {
            continue;
        };
        let all = lead_activities(k, id).await?;
        let now = k.clock.now();
        let p = super::plan(&k.config, &lead, &clean_log(&all, now), now);
        if p.moves.is_empty() {
            continue;
        }
        moves.extend(p.moves.iter().map(|m| SegmentMove {
            lead_id: id.clone(),
            email: lead.email.to_string(),
            segment: m.segment().clone(),
            entered: matches!(m, Move::Entered { .. }),
        }));
        if apply {
            rescore_with(k, id, super::Fresh::Rebuild).await?;
        }
    }
    Ok(RebuildPage {
        moves,
        leads: page.len(),
        next: (page.len() == limit)
            .then(|| page.last().cloned())
            .flatten(),
        applied: apply,
    })
}

/// What a whole rebuild found.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Rebuild {
    pub moves: Vec<SegmentMove>,
    /// Index entries that no lead backs (a rescore that crashed between indexing a move and
    /// storing the lead, then planned otherwise): removed with `apply`.
    pub stale: Vec<(crate::ids::SegmentId, LeadId)>,
    pub leads: usize,
    pub applied: bool,
}

/// Rebuilds every segment: [`rebuild_segments_page`] over every lead, then a walk of each
/// segment's index for entries the leads do not back.
#[tracing::instrument(name = "rebuild_segments", skip_all, fields(apply = apply))]
pub async fn rebuild_segments(k: &super::Scoring<'_>, apply: bool) -> Result<Rebuild> {
    let mut out = Rebuild {
        applied: apply,
        ..Rebuild::default()
    };
    let mut after: Option<LeadId> = None;
    loop {
        let page = rebuild_segments_page(k, after.as_ref(), RESCORE_PAGE, apply).await?;
        out.moves.extend(page.moves);
        out.leads += page.leads;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for s in k.config.segments {
        for m in crate::segments::ports::all_members(k.members, &s.id).await? {
            let lead = k.leads.get_lead(&m.lead_id).await?;
            if lead.is_some_and(|l| l.segments.contains_key(&s.id)) {
                continue;
            }
            // Left out of a dry run: what the walk over leads already says would move.
            if out
                .moves
                .iter()
                .any(|x| x.lead_id == m.lead_id && x.segment == s.id)
            {
                continue;
            }
            if apply {
                k.members
                    .remove_member(&s.id, &m.lead_id, k.clock.now())
                    .await?;
            }
            out.stale.push((s.id.clone(), m.lead_id));
        }
    }
    Ok(out)
}
