//! The mail one step makes for one lead: its template rendered in the lead's language over what
//! templates may see ([`MailContext`]), composed with its links and headers.

use crate::leads::Lead;
use crate::message::MessageKey;
use crate::sending::mail::compose;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The exact mail that template `template` of sequence `sequence` makes for `lead` as the send
/// `key` at `now`: what the sender hands the provider, and what `kindling preview` shows.
pub fn build_step_mail(
    k: &super::Sequences<'_>,
    lead: &Lead,
    sequence: &str,
    template: &str,
    key: &MessageKey,
    now: DateTime<Utc>,
) -> std::result::Result<crate::sending::mail::ComposedMail, String> {
    let cfg = &k.config;
    let language = lead
        .profile
        .language
        .clone()
        .unwrap_or_else(|| cfg.program.default_language.clone());
    let ctx = MailContext::new(k, lead);
    let rendered = cfg
        .templates
        .render(template, &language, &cfg.program.default_language, &ctx)
        .map_err(|e| e.to_string())?;
    let to = crate::sending::mail::Addressing {
        lead,
        key,
        language: &language,
        list: sequence,
    };
    compose(&cfg.origin(), k.keys, &to, &rendered, now).map_err(|e| e.to_string())
}

/// What templates see: `lead`, `program`, `sender`.
#[derive(Serialize)]
pub(crate) struct MailContext<'a> {
    lead: LeadView<'a>,
    program: ProgramView<'a>,
    sender: SenderView<'a>,
}

#[derive(Serialize)]
struct LeadView<'a> {
    email: &'a str,
    name: Option<&'a str>,
    company: Option<&'a str>,
    title: Option<&'a str>,
    industry: Option<&'a str>,
    company_size: Option<&'a str>,
    region: Option<&'a str>,
    /// The buying stage's id (`awareness` ... `decision`), for templates that speak to a stage.
    stage: Option<&'a str>,
}

#[derive(Serialize)]
struct ProgramView<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct SenderView<'a> {
    name: &'a str,
    postal_address: &'a str,
    contact: &'a str,
}

impl<'a> MailContext<'a> {
    pub(crate) fn new(k: &'a super::Sequences<'a>, lead: &'a Lead) -> Self {
        let p = &lead.profile;
        Self {
            lead: LeadView {
                email: lead.email.as_str(),
                name: p.name.as_deref(),
                company: p.company.as_deref(),
                title: p.title.as_deref(),
                industry: p.industry.as_deref(),
                company_size: p.company_size.as_deref(),
                region: p.region.as_deref(),
                stage: lead.stage().map(|s| s.as_str()),
            },
            program: ProgramView {
                name: &k.config.program.name,
            },
            sender: SenderView {
                name: &k.config.sender.from_name,
                postal_address: &k.config.sender.postal_address,
                contact: &k.config.sender.contact,
            },
        }
    }
}
