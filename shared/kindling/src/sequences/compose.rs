//! The mail one step makes for one lead: its template rendered in the lead's language over what
//! templates may see ([`MailContext`]), composed with its links and headers.

use crate::leads::Lead;
use crate::message::MessageKey;
use crate::sending::mail::compose;
use crate::sending::mail::MailContext;
use chrono::{DateTime, Utc};

/// The exact mail that template `template` of sequence `seq` makes for `lead` as the send
/// `key` at `now`: what the sender hands the provider, and what `kindling preview` shows.
pub fn build_step_mail(
    k: &super::Sequences<'_>,
    lead: &Lead,
    seq: &super::Sequence,
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
    let ctx = MailContext::new(cfg.program, cfg.sender, lead);
    let rendered = cfg
        .templates
        .render(template, &language, &cfg.program.default_language, &ctx)
        .map_err(|e| e.to_string())?;
    let to = crate::sending::mail::Addressing {
        lead,
        key,
        language: &language,
        list: &seq.id,
        topic: seq.topic.as_ref(),
    };
    compose(&cfg.origin(), k.keys, &to, &rendered, now).map_err(|e| e.to_string())
}
