//! The exact mail a broadcast makes for one lead: its content rendered in the lead's language,
//! composed with signed links, the pixel, the footer, `List-Id` and the RFC 8058 headers, as
//! every step mail is.

use super::content::Compiled;
use super::{Audience, Broadcast, Broadcasts};
use crate::leads::Lead;
use crate::message::MessageKey;
use crate::sending::mail::{compose, Addressing, ComposedMail, MailContext, Origin};
use chrono::{DateTime, Utc};

/// The message key of a broadcast's mail to a lead.
pub fn key_of(b: &Broadcast, lead: &Lead) -> MessageKey {
    MessageKey::Broadcast {
        lead_id: lead.id.clone(),
        broadcast_id: b.id.clone(),
    }
}

/// The list a broadcast belongs to (its `List-Id`): its topic, else its segment, else
/// `newsletter`.
pub fn list_of(b: &Broadcast) -> &str {
    if let Some(t) = &b.topic {
        return t.as_str();
    }
    match &b.audience {
        Audience::Segment { segment } => segment.as_str(),
        Audience::All | Audience::RecipientsOf { .. } => "newsletter",
    }
}

/// The mail `b` sends `lead` at `now`; an error says why it does not render.
pub fn build_mail(
    k: &Broadcasts<'_>,
    b: &Broadcast,
    compiled: &Compiled,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Result<ComposedMail, String> {
    build_with(compose, k, b, compiled, lead, now)
}

/// How a mail is put together from its rendered parts: [`compose`], or
/// [`crate::sending::mail::compose_test`] for a test send.
pub(crate) type Composer = fn(
    &Origin<'_>,
    &crate::token::SigningKeys,
    &Addressing<'_>,
    &crate::sending::templates::RenderedMail,
    DateTime<Utc>,
) -> Result<ComposedMail, crate::sending::mail::ComposeError>;

/// [`build_mail`] with the composer given.
pub(crate) fn build_with(
    composer: Composer,
    k: &Broadcasts<'_>,
    b: &Broadcast,
    compiled: &Compiled,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Result<ComposedMail, String> {
    let cfg = &k.config;
    let language = compiled.language(lead, &cfg.program.default_language);
    let ctx = MailContext::new(cfg.program, cfg.sender, lead);
    let rendered = compiled.render(language, &ctx)?;
    let key = key_of(b, lead);
    let to = Addressing {
        lead,
        key: &key,
        language,
        list: list_of(b),
        topic: b.topic.as_ref(),
    };
    let origin = Origin {
        program: cfg.program,
        sender: cfg.sender,
    };
    composer(&origin, k.keys, &to, &rendered, now).map_err(|e| e.to_string())
}

/// `kindling broadcast preview`: the exact mail for one lead, from the store or (for an address
/// not in it) a sample lead with only that address, where fallbacks show.
pub async fn preview(
    k: &Broadcasts<'_>,
    id: &crate::ids::BroadcastId,
    email: &crate::email::EmailAddress,
) -> crate::error::Result<ComposedMail> {
    let b = k
        .store
        .get_broadcast(id)
        .await?
        .ok_or_else(|| crate::error::Error::NotFound(format!("no broadcast {id}")))?;
    let now = k.clock.now();
    let lead = match k.leads.find_lead_by_email(email).await? {
        Some(l) => l,
        None => Lead::new(crate::ids::LeadId::new("preview"), email.clone(), now),
    };
    // With an A/B test: the lead's cell's variant, else the winner once decided, else A.
    let compiled = super::cells::content_of(&b, super::cells::mail_cell(&b, &lead.id))
        .compile()
        .map_err(crate::error::Error::Invalid)?;
    build_mail(k, &b, &compiled, &lead, now).map_err(crate::error::Error::Invalid)
}
