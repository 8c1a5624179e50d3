use crate::email::EmailAddress;
use crate::error::conflict;
use crate::error::Result;
use crate::ids::LeadId;
use crate::leads::ports::LeadStore;
use crate::leads::{Lead, Money, SalesMark, SalesStatus};
use crate::ports::Cas;
use crate::ports::CAS_ATTEMPTS;

/// Records where sales stands with a lead (from a sales tool or a rep). Sequences with the
/// `sales_marked` exit goal stop at their next step. `None` if there is no such lead. Marking
/// again with the same status, note and amount changes nothing.
#[tracing::instrument(name = "mark_lead", skip_all, fields(status = ?status))]
pub async fn mark_lead(
    leads: &dyn LeadStore,
    clock: &dyn crate::ports::Clock,
    key: &LeadKey,
    status: SalesStatus,
    note: Option<String>,
    amount: Option<Money>,
) -> Result<Option<Lead>> {
    for _ in 0..CAS_ATTEMPTS {
        let lead = match key {
            LeadKey::Id(id) => leads.get_lead(id).await?,
            LeadKey::Email(email) => leads.find_lead_by_email(email).await?,
        };
        let Some(mut lead) = lead else {
            return Ok(None);
        };
        if lead
            .sales
            .as_ref()
            .is_some_and(|m| m.status == status && m.note == note && m.amount == amount)
        {
            return Ok(Some(lead));
        }
        let now = clock.now();
        lead.sales = Some(SalesMark {
            status,
            at: now,
            note: note.clone(),
            amount: amount.clone(),
        });
        lead.updated_at = now;
        if leads.update_lead(&lead).await? == Cas::Updated {
            tracing::info!(lead_id = %lead.id, status = ?status, "lead marked by sales");
            lead.version += 1;
            return Ok(Some(lead));
        }
    }
    Err(conflict("sales mark"))
}

/// How a lead is named in a request: its id, or its email address.
pub fn parse_lead_key(key: &str) -> Option<LeadKey> {
    if key.contains('@') {
        EmailAddress::parse(key).ok().map(LeadKey::Email)
    } else {
        LeadId::parse(key).map(LeadKey::Id)
    }
}

/// A lead id or an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadKey {
    Id(LeadId),
    Email(EmailAddress),
}
