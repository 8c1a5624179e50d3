//! The changes the CRM hears of ([`crate::crm::sync`]), from the events that make them.

use super::Kindling;
use crate::crm::events::Change;
use crate::error::Error;

/// The owner a hand-off gave, as a CRM change.
pub(super) fn owner_given(handoff: Option<u32>, owner: &Option<String>) -> Option<Change> {
    (handoff.is_some() && owner.is_some()).then_some(Change::Owner)
}

/// Tells the CRM of a change ([`crate::crm::sync`]).
pub(super) async fn crm_sync(
    k: &Kindling,
    lead: &crate::ids::LeadId,
    changes: Vec<Change>,
    key: String,
    at: chrono::DateTime<chrono::Utc>,
    segment: Option<&str>,
) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let c = crate::crm::Changed {
        lead,
        changes,
        key,
        at,
        segment,
    };
    crate::crm::sync(&k.crm(), c).await.map(|_| ())
}

/// A form submission made the lead (its first) or changed it.
pub(super) async fn form_to_crm(
    k: &Kindling,
    lead: &crate::ids::LeadId,
    e: &crate::tracking::events::ActivityRecorded,
) -> Result<(), Error> {
    let Some(config) = k.config.crm.as_ref() else {
        return Ok(());
    };
    if !config.syncs(Change::Created) && !config.syncs(Change::Updated) {
        return Ok(());
    }
    // Read once: to tell created from updated, and for the record.
    let Some(l) = k.stores.leads.get_lead(lead).await? else {
        return Ok(());
    };
    // A lead is created once: its key says so, whichever submission's event comes again.
    let (change, key) = if l.created_at == e.at {
        (Change::Created, "created".to_owned())
    } else {
        (Change::Updated, format!("form/{}", e.activity_id))
    };
    crate::crm::sync_read(&k.crm(), &l, vec![change], key, e.at)
        .await
        .map(|_| ())
}

/// An MQL, a stage move or a segment entry (the score function's on AWS): counted in the KPIs
/// and told to the CRM. Other events: nothing.
pub async fn on_lead_change(k: &Kindling, event: &super::Event) -> Result<(), Error> {
    match event {
        super::Event::LeadBecameMql(e) => {
            super::count_event(k, event).await?;
            let mut changes = vec![Change::Mql];
            changes.extend(owner_given(e.handoff, &e.owner));
            crm_sync(k, &e.lead_id, changes, "mql".into(), e.at, None).await
        }
        super::Event::LeadStageChanged(e) => {
            super::count_event(k, event).await?;
            let to = e.to.as_ref().map_or("none", |s| s.as_str());
            let key = format!("stage/{to}/{}", e.at.timestamp_millis());
            crm_sync(k, &e.lead_id, vec![Change::Stage], key, e.at, None).await
        }
        super::Event::LeadEnteredSegment(e) => {
            let key = format!("segment/{}/{}", e.segment, e.at.timestamp_millis());
            let seg = Some(e.segment.as_str());
            crm_sync(k, &e.lead_id, vec![Change::Segment], key, e.at, seg).await
        }
        _ => Ok(()),
    }
}
