//! Forms: a web-form submission becomes a lead (or updates one), with its consent record, and
//! enrolls it in the form's sequence.

pub mod config;

pub(crate) mod routes;

use crate::activities::{Activity, Attrs, Subject};
use crate::email::EmailAddress;
use crate::error::conflict;
use crate::error::Result;
use crate::forms::config::Form;
use crate::ids::{ActivityId, LeadId, VisitorId};
use crate::leads::{Consent, Lead, Profile};
use crate::ports::CAS_ATTEMPTS;
use crate::ports::{Cas, Put};
use crate::tracking::record_activity;
use chrono::{DateTime, Utc};

use crate::activities::ports::VisitorLinks;
use crate::leads::ports::LeadStore;
use crate::ports::{Clock, Ids};
use crate::sequences::Enroller;
use crate::tracking::Recorder;

/// The sections forms read.
#[derive(Clone, Copy)]
pub struct Sections<'a> {
    pub forms: &'a [Form],
    /// Version of the consent wording that forms show; stored with each consent record.
    pub consent_text_version: &'a str,
}

impl<'a> Sections<'a> {
    /// The form with this id.
    pub fn form(&self, id: &str) -> Option<&'a Form> {
        self.forms.iter().find(|f| f.id == id)
    }
}

/// What a form submission touches.
#[derive(Clone, Copy)]
pub struct Forms<'a> {
    pub config: Sections<'a>,
    pub leads: &'a dyn LeadStore,
    pub visitors: &'a dyn VisitorLinks,
    pub record: Recorder<'a>,
    pub enroll: Enroller<'a>,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn Ids,
}

/// A validated form submission.
#[derive(Debug, Clone)]
pub struct FormSubmission {
    pub email: EmailAddress,
    pub profile: Profile,
    /// The consent box was ticked.
    pub consent: bool,
    pub visitor_id: Option<VisitorId>,
    /// Client-made id of this submission (kindling.js sets one) so a double submit counts once.
    pub submission_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub lead_id: LeadId,
    pub created: bool,
    /// Sequences the lead was newly enrolled in.
    pub enrolled: Vec<crate::ids::SequenceId>,
}

/// Creates or updates the lead (never blanking known fields), records consent, ties the browser
/// to the lead, records the form's activity and enrolls the lead in the form's sequences.
/// Every write is idempotent, so a retried submission converges on the same state.
#[tracing::instrument(name = "submit_form", skip_all, fields(form = %form.id))]
pub async fn submit_form(
    k: &crate::forms::Forms<'_>,
    form: &Form,
    sub: FormSubmission,
) -> Result<Submitted> {
    let now = k.clock.now();
    // One instant for the lead and its activity: a CRM hears "created" for the submission that
    // made the lead.
    let (lead, created) = upsert_lead(k, form, &sub, now).await?;

    if let Some(v) = &sub.visitor_id {
        k.visitors.link_visitor(v, &lead.id, now).await?;
    }

    let activity = form_activity(form, &lead.id, &sub, now);

    let mut enrolled = Vec::new();
    for seq_id in &form.sequences {
        if crate::sequences::enroll(&k.enroll, &lead, seq_id, now).await? {
            enrolled.push(seq_id.clone());
        }
    }
    // Recorded last: the event it publishes makes scoring read the lead as written above.
    record_activity(&k.record, &activity).await?;
    Ok(Submitted {
        lead_id: lead.id,
        created,
        enrolled,
    })
}

/// The form's activity. Without a client id, submissions of one form by one lead within a
/// minute are one.
fn form_activity(form: &Form, lead: &LeadId, sub: &FormSubmission, now: DateTime<Utc>) -> Activity {
    let discriminator = sub
        .submission_id
        .clone()
        .unwrap_or_else(|| now.format("%Y%m%d%H%M").to_string());
    Activity {
        id: ActivityId::new(format!("fs_{}_{}_{}", form.id, lead, discriminator)),
        subject: Subject::Lead(lead.clone()),
        kind: form.activity,
        at: now,
        attrs: Attrs {
            form_id: Some(form.id.clone()),
            visitor_id: sub.visitor_id.clone(),
            ..Attrs::default()
        },
    }
}

async fn upsert_lead(
    k: &crate::forms::Forms<'_>,
    form: &Form,
    sub: &FormSubmission,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Lead, bool)> {
    let consent = sub.consent.then(|| Consent {
        at: now,
        form_id: form.id.clone(),
        text_version: k.config.consent_text_version.to_owned(),
        source_ip: sub.source_ip.clone(),
        user_agent: sub.user_agent.clone(),
    });
    for _ in 0..CAS_ATTEMPTS {
        match k.leads.find_lead_by_email(&sub.email).await? {
            None => {
                let mut lead = Lead::new(LeadId::new(k.ids.new_id()), sub.email.clone(), now);
                lead.profile.merge(&sub.profile);
                lead.consent = consent.clone();
                // A new lead's log holds nothing but this submission.
                let mut submitted = crate::leads::Submissions::default();
                submitted.note(&form_activity(form, &lead.id, sub, now));
                lead.submitted = Some(submitted);
                if k.leads.insert_lead(&lead).await? == Put::Created {
                    tracing::info!(lead_id = %lead.id, form = %form.id, "lead created");
                    return Ok((lead, true));
                }
                // Another submission created it first: update that one.
            }
            Some(mut lead) => {
                lead.profile.merge(&sub.profile);
                if consent.is_some() {
                    lead.consent = consent.clone();
                }
                // Noted with the lead, before the activity is recorded: a send that reads the
                // lead after the submission sees it. (Unknown before: the send reads the log.)
                let activity = form_activity(form, &lead.id, sub, now);
                if let Some(submitted) = &mut lead.submitted {
                    submitted.note(&activity);
                }
                lead.updated_at = now;
                if k.leads.update_lead(&lead).await? == Cas::Updated {
                    lead.version += 1;
                    return Ok((lead, false));
                }
            }
        }
    }
    Err(conflict(format!("lead for form {}", form.id)))
}
