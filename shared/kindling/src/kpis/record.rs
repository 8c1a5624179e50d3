//! Counting as things happen: each use case reads what the fact's breakdowns need (the lead's
//! stage, a broadcast's topic and segment, a converting lead's recent mails) and makes one
//! counted write. Repeating any of them (a redelivered event, a retried request) adds nothing.

use super::count::{self, m, Counts, KEEP_DAYS, TOTALS};
use super::{Dim, Kpis};
use crate::activities::{ActivityKind, Attrs};
use crate::broadcasts::Audience;
use crate::deliverability::{Feedback, FeedbackKind};
use crate::error::Result;
use crate::leads::{Lead, SalesStatus};
use crate::scoring::events::{LeadBecameHot, LeadBecameMql, LeadStageChanged};
use crate::tracking::events::ActivityRecorded;
use chrono::{DateTime, Duration, Utc};

/// A form submission this close to its lead's creation is the one that created it.
const CREATED_WITH: Duration = Duration::hours(1);

async fn write(k: &Kpis<'_>, c: Counts) -> Result<()> {
    if c.groups.is_empty() {
        return Ok(());
    }
    k.tallies
        .tally_each_once(TOTALS, &c.groups, KEEP_DAYS, k.clock.now())
        .await?;
    Ok(())
}

/// The lead's stage now, as a breakdown.
fn stage_of(lead: &Lead) -> Option<(Dim, String)> {
    let stage = lead.stage_changes.last()?.to.as_ref()?;
    Some((Dim::Stage, stage.to_string()))
}

/// The breakdowns of the mail an activity concerns.
async fn mail_dims(
    k: &Kpis<'_>,
    attrs: &Attrs,
    lead_id: Option<&crate::ids::LeadId>,
    lead: Option<&Lead>,
) -> Result<Vec<(Dim, String)>> {
    let mut dims = Vec::new();
    if let Some(id) = &attrs.broadcast_id {
        dims.push((Dim::Broadcast, id.to_string()));
        if let Some(b) = k.broadcasts.get_broadcast(id).await? {
            if let Some(t) = &b.topic {
                dims.push((Dim::Topic, t.to_string()));
            }
            if let Audience::Segment { segment } = &b.audience {
                dims.push((Dim::Segment, segment.to_string()));
            }
            if let (Some(_), Some(l)) = (&b.ab, lead_id) {
                let cell = crate::broadcasts::cells::mail_cell(&b, l);
                let label = crate::broadcasts::ab::LABELS.get(cell).unwrap_or(&"?");
                dims.push((Dim::Variant, format!("{id}:{label}")));
            }
        }
    } else if let Some(s) = &attrs.sequence_id {
        dims.push((Dim::Sequence, s.to_string()));
        let sequence = k.config.sequences.iter().find(|q| &q.id == s);
        if let Some(step) = attrs.step {
            dims.push((Dim::Step, format!("{s}/{}", step + 1)));
            let tested = sequence
                .and_then(|q| q.steps.get(step as usize))
                .is_some_and(|st| st.ab.is_some());
            if let (true, Some(t)) = (tested, &attrs.template) {
                dims.push((Dim::Variant, format!("{s}/{}:{t}", step + 1)));
            }
        }
        if let Some(t) = &attrs.template {
            dims.push((Dim::Template, t.to_string()));
        }
        if let Some(t) = sequence.and_then(|q| q.topic.as_ref()) {
            dims.push((Dim::Topic, t.to_string()));
        }
    }
    dims.extend(lead.and_then(stage_of));
    Ok(dims)
}

/// Counts a recorded activity: a send, an open or a click (by a person or a machine), an
/// unsubscribe, a form submission (and the lead it created), a campaign's page view.
#[tracing::instrument(name = "count_activity", skip_all, fields(activity_id = %e.activity_id))]
pub async fn count_activity(k: &Kpis<'_>, e: &ActivityRecorded) -> Result<()> {
    let lead = match (&e.lead_id, reads_lead(e)) {
        (Some(id), true) => k.leads.get_lead(id).await?,
        _ => None,
    };
    count_activity_of(k, e, lead.as_ref()).await
}

/// Whether counting `e` reads its lead (a mail's or a form's: for the breakdowns and new leads).
pub fn reads_lead(e: &ActivityRecorded) -> bool {
    let mail = matches!(
        e.kind,
        ActivityKind::EmailSent | ActivityKind::EmailOpen | ActivityKind::EmailClick
    );
    mail || e.kind.is_form_submission()
}

/// [`count_activity`] with `e.lead_id`'s lead already read (`None`: none, or not needed).
pub async fn count_activity_of(
    k: &Kpis<'_>,
    e: &ActivityRecorded,
    lead: Option<&crate::leads::Lead>,
) -> Result<()> {
    let mail = matches!(
        e.kind,
        ActivityKind::EmailSent | ActivityKind::EmailOpen | ActivityKind::EmailClick
    );
    let form = e.kind.is_form_submission();
    let dims = if mail {
        mail_dims(k, &e.attrs, e.lead_id.as_ref(), lead).await?
    } else {
        Vec::new()
    };
    let mut c = Counts::new(k.config.zone);
    count::activity(
        &mut c,
        e.activity_id.as_str(),
        e.lead_id.as_ref(),
        e.kind,
        e.at,
        &e.attrs,
        &dims,
    );
    if let (true, Some(lead)) = (form, lead) {
        // Within the hour either way: the request's clock reads may come in either order.
        if (e.at - lead.created_at).abs() <= CREATED_WITH {
            count::new_lead(&mut c, &lead.id, lead.created_at, &e.attrs);
        }
    }
    write(k, c).await
}

/// Counts SES's bounces and complaints: each report and recipient once. A delivery report
/// counts nothing (delivered is sent less bounced), so a send costs one counting write, not two.
pub async fn count_feedback(k: &Kpis<'_>, fb: &Feedback) -> Result<()> {
    let counter = match fb.kind {
        FeedbackKind::HardBounce => m::BOUNCED_HARD,
        FeedbackKind::SoftBounce => m::BOUNCED_SOFT,
        FeedbackKind::Complaint => m::COMPLAINED,
        FeedbackKind::Delivery => return Ok(()),
    };
    let mut c = Counts::new(k.config.zone);
    for r in &fb.recipients {
        c.group(format!("fb/{}/{r}", fb.id), fb.at, &[(counter, 1)], &[]);
    }
    write(k, c).await
}

/// Counts a lead turning hot (each crossing once), and whether sales knows of it (`alerted`).
pub async fn count_hot(k: &Kpis<'_>, e: &LeadBecameHot, alerted: bool) -> Result<()> {
    let mut c = Counts::new(k.config.zone);
    let unit = format!("hot/{}/{}", e.lead_id, e.crossing);
    let lead = [(Dim::HotLead, e.lead_id.to_string())];
    let counters: &[(&str, u64)] = if alerted {
        &[(m::HOT_LEADS, 1), (m::HOT_ALERTED, 1)]
    } else {
        &[(m::HOT_LEADS, 1)]
    };
    c.group(unit, e.at, counters, &lead);
    write(k, c).await
}

/// Counts a lead becoming an MQL (once per lead), with the nurtures that influenced it.
pub async fn count_mql(k: &Kpis<'_>, e: &LeadBecameMql) -> Result<()> {
    let mut c = Counts::new(k.config.zone);
    let unit = format!("mql/{}", e.lead_id);
    c.group(unit.clone(), e.at, &[(m::MQL, 1)], &[]);
    let touched = touches(k, &e.lead_id, e.at).await?;
    attribute(&mut c, &unit, e.at, &touched, m::MQL, None);
    write(k, c).await
}

/// Counts a move between stages: the lead entered `to` (once per lead and stage), and left
/// `from` after so many days in it.
pub async fn count_stage(k: &Kpis<'_>, e: &LeadStageChanged) -> Result<()> {
    let mut c = Counts::new(k.config.zone);
    if let Some(to) = &e.to {
        let unit = format!("stage/{}/{to}", e.lead_id);
        c.group(
            unit,
            e.at,
            &[(m::ENTERED, 1)],
            &[(Dim::Stage, to.to_string())],
        );
    }
    if let Some(from) = &e.from {
        let lead = k.leads.get_lead(&e.lead_id).await?;
        let entered = lead.as_ref().and_then(|l| {
            l.stage_changes
                .iter()
                .filter(|s| s.to.as_ref() == Some(from) && s.at <= e.at)
                .map(|s| s.at)
                .max()
        });
        if let Some(entered) = entered {
            let days = format!("{}{}", m::DAYS, (e.at - entered).num_days().max(0));
            let unit = format!("left/{}/{from}/{}", e.lead_id, e.at.timestamp_millis());
            c.group(unit.clone(), e.at, &[], &[]);
            let counters = [(m::LEFT.to_owned(), 1), (days, 1)];
            c.extend(&unit, e.at, Dim::Stage, from.as_str(), &counters);
        }
    }
    write(k, c).await
}

/// The statuses a mark means the lead reached: a win was an opportunity, and an opportunity
/// was accepted by sales, whether or not anyone marked those steps.
fn reached(s: SalesStatus) -> &'static [SalesStatus] {
    use SalesStatus::*;
    match s {
        Working => &[Working],
        Opportunity => &[Working, Opportunity],
        Won => &[Working, Opportunity, Won],
        Lost => &[Lost],
        Disqualified => &[Disqualified],
    }
}

/// Counts a sales mark: the lead reached its status and those it implies (each once per lead
/// and status), with the won amount, and for an opportunity or a win the nurtures that
/// influenced it.
pub async fn count_sales(k: &Kpis<'_>, lead: &Lead) -> Result<()> {
    let Some(mark) = &lead.sales else {
        return Ok(());
    };
    let amount = mark
        .amount
        .as_ref()
        .filter(|_| mark.status == SalesStatus::Won);
    let won = amount.map(|a| format!("{}{}", m::WON_AMOUNT, a.currency));
    let converted = matches!(mark.status, SalesStatus::Opportunity | SalesStatus::Won);
    let touched = if converted {
        touches(k, &lead.id, mark.at).await?
    } else {
        Vec::new()
    };
    let mut c = Counts::new(k.config.zone);
    for status in reached(mark.status) {
        let name = status.as_str();
        let unit = format!("sales/{}/{name}", lead.id);
        let mut counters = vec![(name, 1)];
        let amount = amount.filter(|_| *status == SalesStatus::Won);
        if let (Some(counter), Some(a)) = (&won, amount) {
            counters.push((counter.as_str(), a.hundredths));
        }
        c.group(unit.clone(), mark.at, &counters, &[]);
        if matches!(status, SalesStatus::Opportunity | SalesStatus::Won) {
            attribute(&mut c, &unit, mark.at, &touched, name, amount);
        }
    }
    write(k, c).await
}

/// The nurtures whose mails a person opened or clicked within the influence window before a
/// conversion at `at`, oldest touch first (one entry per touch).
async fn touches(
    k: &Kpis<'_>,
    lead: &crate::ids::LeadId,
    at: DateTime<Utc>,
) -> Result<Vec<String>> {
    let since = at - k.config.kpis.influence_window;
    let log = k.activities.activities_of_lead(lead).await?;
    let mut touches: Vec<(DateTime<Utc>, &str, String)> = log
        .iter()
        .filter(|a| matches!(a.kind, ActivityKind::EmailOpen | ActivityKind::EmailClick))
        .filter(|a| a.at >= since && a.at <= at && count::by_person(&a.attrs))
        .filter_map(|a| Some((a.at, a.id.as_str(), nurture(&a.attrs)?)))
        .collect();
    touches.sort();
    Ok(touches.into_iter().map(|t| t.2).collect())
}

/// Attributes a conversion (`measure`, with the won amount if any) to the nurtures `touched`:
/// each gets an any-touch count, the latest touch's a last-touch count, in the breakdown
/// `nurture` (`sequence:document_followup`, `broadcast:spring_webinar`), counted with the
/// conversion's unit.
fn attribute(
    c: &mut Counts,
    unit: &str,
    at: DateTime<Utc>,
    touched: &[String],
    measure: &str,
    amount: Option<&crate::leads::Money>,
) {
    let counters = |kind: &str| {
        let mut v = vec![(format!("{kind}_{measure}"), 1)];
        if let Some(a) = amount {
            v.push((
                format!("{kind}_{}{}", m::WON_AMOUNT, a.currency),
                a.hundredths,
            ));
        }
        v
    };
    let any: std::collections::BTreeSet<&String> = touched.iter().collect();
    for n in any {
        c.extend(unit, at, Dim::Nurture, n, &counters("any"));
    }
    if let Some(n) = touched.last() {
        c.extend(unit, at, Dim::Nurture, n, &counters("last"));
    }
}

/// The nurture a mail belongs to.
pub fn nurture(attrs: &Attrs) -> Option<String> {
    if let Some(b) = &attrs.broadcast_id {
        return Some(format!("broadcast:{b}"));
    }
    attrs.sequence_id.as_ref().map(|s| format!("sequence:{s}"))
}
