//! SFA→MA: what a CRM may tell Kindling of a lead (`POST /hooks/crm/{source}`), and applying
//! it. The update and the hook's id are stored in one write of the lead, so a hook applies once
//! however often it is delivered: a repeated id changes nothing and is answered as a duplicate.

use crate::error::{conflict, Error, Result};
use crate::leads::ports::LeadStore;
use crate::leads::{Bant, Lead, LeadKey, Money, Owner, SalesMark, SalesStatus};
use crate::ports::{Cas, CAS_ATTEMPTS};
use serde::{Deserialize, Serialize};

/// Largest hook body.
pub const MAX_HOOK_BYTES: usize = 8 * 1024;
/// Longest note.
pub const MAX_NOTE_CHARS: usize = 500;
/// How many hook ids a lead remembers (the newest).
pub const SEEN_HOOKS: usize = 20;

/// A hook's body, as the CRM sends it: the lead (`email` or `lead_id`) and at least one of the
/// rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmHook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    /// `working`, `opportunity`, `won`, `lost` or `disqualified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// With `opportunity` or `won`: `1500000` or `"1234.50"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<crate::leads::Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// A `[[reps]]` id or a rep's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bant: Option<Bant>,
}

/// A checked hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub lead: LeadKey,
    pub sales: Option<(SalesStatus, Option<String>, Option<Money>)>,
    /// The rep id.
    pub owner: Option<String>,
    pub bant: Option<Bant>,
}

/// Checks a hook's body: a known lead key, a known status, an amount only with a deal, a
/// known rep, BANT parts of at most [`crate::leads::MAX_BANT_CHARS`].
pub fn parse(body: &[u8], routing: &crate::routing::Settings, currency: &str) -> Result<Update> {
    let h: CrmHook =
        serde_json::from_slice(body).map_err(|e| Error::Invalid(format!("body: {e}")))?;
    let lead = match (&h.email, &h.lead_id) {
        (Some(e), None) => crate::email::EmailAddress::parse(e)
            .map(LeadKey::Email)
            .map_err(|_| Error::Invalid(format!("email: {e:?} is not an address")))?,
        (None, Some(id)) => crate::ids::LeadId::parse(id)
            .map(LeadKey::Id)
            .ok_or_else(|| Error::Invalid(format!("lead_id: {id:?} is not a lead id")))?,
        _ => return Err(Error::Invalid("give one of email or lead_id".into())),
    };
    if h.status.is_none() && h.owner.is_none() && h.bant.is_none() {
        return Err(Error::Invalid(
            "give at least one of status, owner or bant".into(),
        ));
    }
    let note = h.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(Error::Invalid(format!(
            "note: at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let sales = match &h.status {
        None if note.is_some() || h.amount.is_some() || h.currency.is_some() => {
            return Err(Error::Invalid(
                "note, amount and currency: only with a status".into(),
            ));
        }
        None => None,
        Some(s) => {
            let status = SalesStatus::parse(s).ok_or_else(|| {
                Error::Invalid(format!(
                    "status: {s:?} is not one of working, opportunity, won, lost, disqualified"
                ))
            })?;
            let amount = match (&h.amount, &h.currency) {
                (None, None) => None,
                (None, Some(_)) => {
                    return Err(Error::Invalid("currency: only with an amount".into()))
                }
                (Some(_), _) if !matches!(status, SalesStatus::Opportunity | SalesStatus::Won) => {
                    return Err(Error::Invalid(
                        "amount: only with opportunity or won".into(),
                    ));
                }
                (Some(a), c) => Some(
                    Money::parse(&a.text(), c.as_deref().unwrap_or(currency))
                        .map_err(Error::Invalid)?,
                ),
            };
            Some((status, note.map(str::to_owned), amount))
        }
    };
    let owner = match &h.owner {
        None => None,
        Some(o) => Some(
            routing
                .reps
                .iter()
                .find(|r| r.id == *o || r.email.to_string().eq_ignore_ascii_case(o.trim()))
                .map(|r| r.id.clone())
                .ok_or_else(|| {
                    Error::Invalid(format!("owner: {o:?} is not a [[reps]] id or address"))
                })?,
        ),
    };
    if let Some(part) = h.bant.as_ref().and_then(Bant::too_long) {
        return Err(Error::Invalid(format!(
            "bant.{part}: at most {} characters",
            crate::leads::MAX_BANT_CHARS
        )));
    }
    Ok(Update {
        lead,
        sales,
        owner,
        bant: h.bant,
    })
}

/// What applying a hook did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub lead: Lead,
    /// The hook's id was applied before: nothing changed now.
    pub duplicate: bool,
    /// Something changed.
    pub changed: bool,
}

/// Applies a checked hook from `source` with id `hook_id`, remembering the id in the same
/// write. `None`: there is no such lead.
#[tracing::instrument(name = "crm_hook", skip_all, fields(source, hook_id))]
pub async fn apply(
    leads: &dyn LeadStore,
    routing: &crate::routing::Settings,
    clock: &dyn crate::ports::Clock,
    source: &str,
    hook_id: &str,
    u: &Update,
) -> Result<Option<Applied>> {
    let seen = format!("{source}/{hook_id}");
    for _ in 0..CAS_ATTEMPTS {
        let lead = match &u.lead {
            LeadKey::Id(id) => leads.get_lead(id).await?,
            LeadKey::Email(e) => leads.find_lead_by_email(e).await?,
        };
        let Some(mut lead) = lead else {
            return Ok(None);
        };
        if lead.crm_hooks.contains(&seen) {
            return Ok(Some(Applied {
                lead,
                duplicate: true,
                changed: false,
            }));
        }
        let now = clock.now();
        let before = lead.clone();
        if let Some((status, note, amount)) = &u.sales {
            let same = lead
                .sales
                .as_ref()
                .is_some_and(|m| m.status == *status && m.note == *note && m.amount == *amount);
            if !same {
                lead.sales = Some(SalesMark {
                    status: *status,
                    at: now,
                    note: note.clone(),
                    amount: amount.clone(),
                });
            }
        }
        if let Some(rep) = &u.owner {
            if lead.owner.as_ref().map(|o| &o.rep) != Some(rep) {
                lead.owner = Some(Owner {
                    rep: rep.clone(),
                    rule: format!("crm:{source}"),
                    team: routing.rep(rep).and_then(|r| r.team.clone()),
                    at: now,
                });
            }
        }
        if let Some(b) = &u.bant {
            lead.bant.merge(b);
        }
        let changed =
            lead.sales != before.sales || lead.owner != before.owner || lead.bant != before.bant;
        lead.crm_hooks.push(seen.clone());
        if lead.crm_hooks.len() > SEEN_HOOKS {
            lead.crm_hooks.remove(0);
        }
        if changed {
            lead.updated_at = now;
        }
        if leads.update_lead(&lead).await? == Cas::Updated {
            lead.version += 1;
            tracing::info!(lead_id = %lead.id, changed, "CRM hook applied");
            return Ok(Some(Applied {
                lead,
                duplicate: false,
                changed,
            }));
        }
    }
    Err(conflict("CRM hook"))
}
