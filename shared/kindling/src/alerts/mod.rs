//! Alerts: telling sales a lead turned hot or fired a trigger, once per crossing, to the lead's
//! owner or the trigger's team.

pub mod config;

pub mod ops;
pub mod ports;

use crate::alerts::ports::{Alert, AlertClaim, Notifier};
use crate::error::Result;
use crate::events::Audience;
use crate::leads::Lead;
use crate::scoring::events::{FollowUpDue, FollowUpKind, LeadBecameHot, TriggerFired};
use crate::scoring::rescore::score_card;
use crate::scoring::ScoreCard;

use crate::ports::{Clock, Tallies};
use crate::scoring::Scoring;
use ports::AlertLog;

/// The sections alerts read.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub alerts: &'a config::Settings,
    pub deliverability: &'a crate::deliverability::config::Settings,
}

/// What alerting touches.
#[derive(Clone, Copy)]
pub struct Alerts<'a> {
    pub config: Sections<'a>,
    pub scoring: Scoring<'a>,
    pub leads: &'a dyn crate::leads::ports::LeadStore,
    pub alerts: &'a dyn AlertLog,
    pub tallies: &'a dyn Tallies,
    pub clock: &'a dyn Clock,
}

/// What handling a hot crossing or a trigger did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// The team was alerted.
    Alerted(Box<Alert>),
    /// Ops was alerted (sending paused).
    OpsAlerted(Box<crate::alerts::ports::OpsAlert>),
    /// This crossing or firing was alerted before (a redelivery): nothing sent.
    AlreadyAlerted,
    /// Nothing to send: a re-crossing within the re-alert cooldown, or a trigger without alert.
    NotAlerting,
    /// The lead no longer exists.
    LeadGone,
}

/// Alerts sales once per hot crossing (unless the crossing came within the re-alert cooldown).
#[tracing::instrument(name = "notify_hot_lead", skip_all, fields(lead_id = %event.lead_id, crossing = event.crossing))]
pub async fn notify_hot_lead(
    k: &Alerts<'_>,
    notifier: &dyn Notifier,
    event: &LeadBecameHot,
) -> Result<NotifyOutcome> {
    if !event.alert {
        tracing::info!(lead_id = %event.lead_id, crossing = event.crossing, "hot again within the re-alert cooldown; no alert");
        return Ok(NotifyOutcome::NotAlerting);
    }
    let key = format!("hot/{}/{}", event.lead_id, event.crossing);
    alert_once(k, notifier, &key, &event.lead_id, |lead, card| {
        let mut alert = draft(
            k,
            lead,
            card,
            key.clone(),
            Audience::Sales,
            None,
            Vec::new(),
            event.at,
        );
        alert.owner = owner_of(k, event.owner.as_deref(), lead);
        alert
    })
    .await
}

/// Alerts the trigger's team once per firing.
#[tracing::instrument(name = "notify_trigger", skip_all, fields(lead_id = %event.lead_id, trigger = %event.trigger, firing = event.firing))]
pub async fn notify_trigger(
    k: &Alerts<'_>,
    notifier: &dyn Notifier,
    event: &TriggerFired,
) -> Result<NotifyOutcome> {
    let Some(audience) = event.alert else {
        return Ok(NotifyOutcome::NotAlerting);
    };
    let key = format!(
        "trigger/{}/{}/{}",
        event.lead_id, event.trigger, event.firing
    );
    let first = vec![format!("{}: {}", event.trigger, event.reason)];
    alert_once(k, notifier, &key, &event.lead_id, |lead, card| {
        let trigger = Some(event.trigger.clone());
        let mut alert = draft(
            k,
            lead,
            card,
            key.clone(),
            audience,
            trigger,
            first.clone(),
            event.at,
        );
        if audience == Audience::Sales {
            alert.owner = owner_of(k, event.owner.as_deref(), lead);
        }
        alert
    })
    .await
}

/// Reminds the owner of a hand-off nobody has marked yet, or escalates it at its deadline to
/// `[alerts] escalate_to` (else to the team), once per hand-off and kind. Nothing if sales has
/// marked the lead since the hand-off (in time, or after the event was published).
#[tracing::instrument(name = "notify_follow_up", skip_all, fields(lead_id = %event.lead_id, handoff = event.handoff, kind = ?event.kind))]
pub async fn notify_follow_up(
    k: &Alerts<'_>,
    notifier: &dyn Notifier,
    event: &FollowUpDue,
) -> Result<NotifyOutcome> {
    let Some(stored) = k.leads.get_lead(&event.lead_id).await? else {
        return Ok(NotifyOutcome::LeadGone);
    };
    if stored
        .sales
        .as_ref()
        .is_some_and(|m| m.at >= event.handed_off_at)
    {
        tracing::info!(lead_id = %event.lead_id, "marked by sales since the hand-off; no follow-up alert");
        return Ok(NotifyOutcome::NotAlerting);
    }
    let kind = match event.kind {
        FollowUpKind::Reminder => "reminder",
        FollowUpKind::Escalation => "escalation",
    };
    let key = format!("followup/{}/{}/{kind}", event.lead_id, event.handoff);
    let owner = owner_of(k, event.owner.as_deref(), &stored);
    alert_once(k, notifier, &key, &event.lead_id, |lead, card| {
        let who = owner
            .as_ref()
            .map_or_else(|| "the sales team".to_owned(), |o| o.email.to_string());
        let why = format!(
            "{kind}: handed to {who} at {}, follow up by {}, not marked yet",
            event.handed_off_at.format("%Y-%m-%d %H:%M UTC"),
            event.due.format("%Y-%m-%d %H:%M UTC"),
        );
        let mut alert = draft(
            k,
            lead,
            card,
            key.clone(),
            Audience::Sales,
            None,
            vec![why],
            event.handed_off_at,
        );
        alert.follow_up_by = event.due;
        alert.follow_up = Some(event.kind);
        alert.owner = match event.kind {
            FollowUpKind::Reminder => owner.clone(),
            FollowUpKind::Escalation => k
                .config
                .alerts
                .escalate_to
                .as_deref()
                .and_then(|id| k.scoring.config.routing.rep(id))
                .map(|rep| ports::AlertOwner {
                    id: rep.id.clone(),
                    name: rep.name.clone(),
                    email: rep.email.clone(),
                }),
        };
        alert
    })
    .await
}

/// Claims the alert first; a failed notification releases the claim and returns an error so
/// the event is retried. A claim left pending by a crash is sent again: for alerts a rare
/// duplicate beats a lost hot lead.
async fn alert_once(
    k: &Alerts<'_>,
    notifier: &dyn Notifier,
    key: &str,
    lead_id: &crate::ids::LeadId,
    build: impl FnOnce(&Lead, &ScoreCard) -> Alert,
) -> Result<NotifyOutcome> {
    let now = k.clock.now();
    let Some(lead) = k.leads.get_lead(lead_id).await? else {
        return Ok(NotifyOutcome::LeadGone);
    };
    match k.alerts.claim_alert(key, lead_id.as_str(), now).await? {
        AlertClaim::Sent => return Ok(NotifyOutcome::AlreadyAlerted),
        AlertClaim::New | AlertClaim::Pending => {}
    }
    let card = score_card(&k.scoring, &lead).await?;
    let alert = build(&lead, &card);
    if let Err(e) = notifier.notify(&alert).await {
        k.alerts.release_alert(key).await?;
        return Err(e.into());
    }
    k.alerts.mark_alert_sent(key, now).await?;
    tracing::info!(lead_id = %lead.id, key, audience = alert.audience.as_str(), "alert sent");
    Ok(NotifyOutcome::Alerted(Box::new(alert)))
}

/// The rep a sales alert is for: the event's owner (chosen with the hand-off, which the
/// stored lead may not show yet), else the lead's; a rep no longer in `[[reps]]` is nobody.
fn owner_of(k: &Alerts<'_>, event: Option<&str>, lead: &Lead) -> Option<ports::AlertOwner> {
    let id = event.or(lead.owner.as_ref().map(|o| o.rep.as_str()))?;
    let rep = k.scoring.config.routing.rep(id)?;
    Some(ports::AlertOwner {
        id: rep.id.clone(),
        name: rep.name.clone(),
        email: rep.email.clone(),
    })
}

#[allow(clippy::too_many_arguments)]
fn draft(
    k: &Alerts<'_>,
    lead: &Lead,
    card: &ScoreCard,
    key: String,
    audience: Audience,
    trigger: Option<crate::ids::TriggerId>,
    mut reasons: Vec<String>,
    event_at: chrono::DateTime<chrono::Utc>,
) -> Alert {
    let mut scored: Vec<_> = card.breakdown.iter().filter(|r| r.points > 0).collect();
    scored.sort_by(|a, b| b.points.cmp(&a.points).then(a.rule.cmp(&b.rule)));
    reasons.extend(
        scored
            .iter()
            .map(|r| format!("{} x{} = {:+}", r.rule, r.count, r.points)),
    );
    reasons.extend(
        card.fit_breakdown
            .iter()
            .filter(|f| f.points > 0)
            .map(|f| format!("fit: {} ({}) = {:+}", f.rule, f.value, f.points)),
    );
    Alert {
        key,
        audience,
        trigger,
        lead_id: lead.id.clone(),
        email: lead.email.clone(),
        name: lead.profile.name.clone(),
        company: lead.profile.company.clone(),
        title: lead.profile.title.clone(),
        score: card.total,
        temperature: card.temperature,
        reasons,
        at: k.clock.now(),
        // The deadline of the hand-off the event began, on its clock (hours or business hours).
        follow_up_by: k
            .config
            .alerts
            .clock
            .times(event_at, k.scoring.config.default_zone)
            .1,
        owner: None,
        follow_up: None,
    }
}
