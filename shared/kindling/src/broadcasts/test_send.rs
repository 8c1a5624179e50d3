//! Test sends: the broadcast's mail, as a recipient would get it, to the internal reviewers of
//! `[broadcasts.test_send] addresses` and to nobody else. A test mail is outside the claim protocol
//! (no send record, no ledger slot, no cap), its subject starts with `[TEST]`, its links go
//! straight to their destinations and it has no pixel, so nothing a reviewer does is recorded on
//! any lead. It renders for a sample lead that has only the reviewer's address (fallbacks show)
//! or, with `as`, with the profile of a lead in the store, under a fresh lead id `test-…` that
//! no lead has (each test mail is a message of its own). With an A/B test every reviewer gets
//! every variant.

use super::compose::{build_with, key_of};
use super::{Broadcast, Broadcasts, State};
use crate::email::EmailAddress;
use crate::error::{Error, Result};
use crate::ids::LeadId;
use crate::leads::Lead;
use crate::sending::mail::compose_test;
use crate::sending::ports::{MailError, Mailer, OutgoingMail};
use serde::Serialize;

/// What a test send asks for.
#[derive(Debug, Clone, Default)]
pub struct TestRequest {
    /// Some of the configured test addresses; empty means all of them.
    pub to: Vec<EmailAddress>,
    /// Render with this lead's profile (found by address) instead of a sample lead.
    pub as_lead: Option<EmailAddress>,
}

/// What happened to each address.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TestReport {
    pub sent: Vec<String>,
    /// Addresses not mailed, with why (`suppressed`, `rejected: ...`).
    pub skipped: Vec<Skipped>,
    pub subject: String,
    /// With an A/B test: each variant's subject (B, C, ...); every reviewer gets every variant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_subjects: Vec<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Skipped {
    pub to: String,
    pub reason: String,
}

/// Sends broadcast `id`'s test mail. Refused (nothing sent) when no test addresses are
/// configured, when `to` names an address outside them, or when the broadcast was cancelled;
/// a throttled provider is a retryable error after the addresses already mailed.
pub async fn test_send(
    k: &Broadcasts<'_>,
    mailer: &dyn Mailer,
    id: &crate::ids::BroadcastId,
    req: &TestRequest,
) -> Result<TestReport> {
    let allowed = &k.config.broadcasts.test_addresses;
    if allowed.is_empty() {
        return Err(Error::Refused(
            "no test addresses: list the reviewers in [broadcasts.test_send] addresses".into(),
        ));
    }
    if let Some(outside) = req.to.iter().find(|a| !allowed.contains(a)) {
        return Err(Error::Invalid(format!(
            "to: {outside} is not one of [broadcasts.test_send] addresses"
        )));
    }
    let b = k
        .store
        .get_broadcast(id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no broadcast {id}")))?;
    if b.state == State::Cancelled {
        return Err(Error::Refused(format!("broadcast {id} was cancelled")));
    }
    let profile = match &req.as_lead {
        Some(e) => Some(
            k.leads
                .find_lead_by_email(e)
                .await?
                .ok_or_else(|| Error::NotFound(format!("as: no lead with address {e}")))?,
        ),
        None => None,
    };
    let compiled = super::cells::compile_all(&b).map_err(Error::Invalid)?;
    // Each reviewer once, in the order asked (or configured).
    let mut to: Vec<&EmailAddress> = Vec::new();
    for a in if req.to.is_empty() { allowed } else { &req.to } {
        if !to.contains(&a) {
            to.push(a);
        }
    }
    let mut report = TestReport {
        sent: Vec::new(),
        skipped: Vec::new(),
        subject: String::new(),
        variant_subjects: Vec::new(),
    };
    for address in to {
        if k.suppressions.suppression(address).await?.is_some() {
            report.skipped.push(Skipped {
                to: address.to_string(),
                reason: "suppressed".into(),
            });
            continue;
        }
        let mut mailed = true;
        for (cell, c) in compiled.iter().enumerate() {
            let lead = reviewer(k, profile.as_ref(), address);
            let (mail, subject) = build(k, &b, c, &lead)?;
            match cell {
                0 => report.subject = subject,
                _ if report.variant_subjects.len() < cell => report.variant_subjects.push(subject),
                _ => {}
            }
            match mailer.send(&mail).await {
                Ok(_) => {}
                Err(MailError::Rejected(why)) => {
                    report.skipped.push(Skipped {
                        to: address.to_string(),
                        reason: format!("rejected: {why}"),
                    });
                    mailed = false;
                    break;
                }
                Err(MailError::Retryable(why)) => {
                    return Err(Error::Port(crate::error::PortError::new(
                        "mailer",
                        format!("test send stopped after {:?}: {why}", report.sent),
                    )))
                }
            }
        }
        if mailed {
            report.sent.push(address.to_string());
        }
    }
    tracing::info!(broadcast = %id, sent = report.sent.len(), "test send");
    Ok(report)
}

/// The lead a test mail renders for: the chosen lead's profile (or none) at the reviewer's
/// address, under a fresh id.
fn reviewer(k: &Broadcasts<'_>, profile: Option<&Lead>, address: &EmailAddress) -> Lead {
    let id = LeadId::new(format!("test-{}", k.ids.new_id()));
    let mut lead = match profile {
        Some(l) => l.clone(),
        None => Lead::new(id.clone(), address.clone(), k.clock.now()),
    };
    lead.id = id;
    lead.email = address.clone();
    lead
}

fn build(
    k: &Broadcasts<'_>,
    b: &Broadcast,
    compiled: &super::content::Compiled,
    lead: &Lead,
) -> Result<(OutgoingMail, String)> {
    let composed =
        build_with(compose_test, k, b, compiled, lead, k.clock.now()).map_err(Error::Invalid)?;
    Ok((
        OutgoingMail {
            id: key_of(b, lead).id_part(),
            from: k.config.sender.from_address.clone(),
            to: lead.email.clone(),
            raw: composed.raw,
        },
        composed.subject,
    ))
}
