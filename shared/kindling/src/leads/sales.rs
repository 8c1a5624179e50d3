use crate::admin::LeadKey;
use crate::app::{conflict, Kindling, CAS_ATTEMPTS};
use crate::error::Result;
use crate::leads::{Lead, SalesMark, SalesStatus};
use crate::ports::Cas;

/// Records where sales stands with a lead (from a sales tool or a rep). Sequences with the
/// `sales_marked` exit goal stop at their next step. `None` if there is no such lead. Marking
/// again with the same status and note changes nothing.
#[tracing::instrument(name = "mark_lead", skip_all, fields(status = ?status))]
pub async fn mark_lead(
    k: &Kindling,
    key: &LeadKey,
    status: SalesStatus,
    note: Option<String>,
) -> Result<Option<Lead>> {
    for _ in 0..CAS_ATTEMPTS {
        let lead = match key {
            LeadKey::Id(id) => k.stores.leads.get_lead(id).await?,
            LeadKey::Email(email) => k.stores.leads.find_lead_by_email(email).await?,
        };
        let Some(mut lead) = lead else {
            return Ok(None);
        };
        if lead
            .sales
            .as_ref()
            .is_some_and(|m| m.status == status && m.note == note)
        {
            return Ok(Some(lead));
        }
        let now = k.clock.now();
        lead.sales = Some(SalesMark {
            status,
            at: now,
            note: note.clone(),
        });
        lead.updated_at = now;
        if k.stores.leads.update_lead(&lead).await? == Cas::Updated {
            tracing::info!(lead_id = %lead.id, status = ?status, "lead marked by sales");
            lead.version += 1;
            return Ok(Some(lead));
        }
    }
    Err(conflict("sales mark"))
}
