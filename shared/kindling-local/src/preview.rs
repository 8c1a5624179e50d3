//! `kindling preview <sequence> <step> --lead <email>`: the exact mail a step would send a lead,
//! built by the sender's own code (templates, personalization, signed links, pixel, footer,
//! List-Unsubscribe headers), shown readable or written as the exact bytes.

use crate::app::LocalApp;
use anyhow::Context;
use kindling::email::EmailAddress;
use kindling::ids::{EnrollmentId, LeadId};
use kindling::leads::Lead;
use kindling::message::MessageKey;
use kindling::sending::mail::ComposedMail;
use kindling::sequences::build_step_mail;
use std::fmt::Write as _;

/// What a preview was made for.
pub struct Preview {
    pub mail: ComposedMail,
    /// The lead came from the store (else: a sample lead with only the address).
    pub stored_lead: bool,
}

/// Builds the mail of `sequence`'s step `step` (0 = first) for the lead with `email`, as it
/// would be sent now.
pub async fn preview(
    app: &LocalApp,
    sequence: &str,
    step: u32,
    email: &str,
) -> anyhow::Result<Preview> {
    let k = &app.kindling;
    let seq = k.config.sequence(sequence).with_context(|| {
        let ids: Vec<&str> = k.config.sequences.iter().map(|s| s.id.as_str()).collect();
        format!("no sequence {sequence:?} (sequences: {})", ids.join(", "))
    })?;
    let st = seq.steps.get(step as usize).with_context(|| {
        format!(
            "sequence {sequence:?} has steps 0 to {}",
            seq.steps.len().saturating_sub(1)
        )
    })?;
    let address =
        EmailAddress::parse(email).map_err(|_| anyhow::anyhow!("{email:?} is not an address"))?;
    let now = k.clock.now();
    let stored = k.stores.leads.find_lead_by_email(&address).await?;
    let stored_lead = stored.is_some();
    let lead = stored.unwrap_or_else(|| Lead::new(LeadId::new("preview"), address, now));
    let key = MessageKey::Step {
        lead_id: lead.id.clone(),
        enrollment_id: EnrollmentId::new("preview"),
        step,
    };
    let mail = build_step_mail(&k.sequences(), &lead, seq, &st.template, &key, now)
        .map_err(|e| anyhow::anyhow!("{sequence} step {step} ({}): {e}", st.template))?;
    Ok(Preview { mail, stored_lead })
}

/// The mail for people: its headers (decoded) and both parts.
pub fn readable(raw: &[u8]) -> anyhow::Result<String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .context("the built mail does not parse")?;
    let mut out = String::new();
    for h in msg.headers() {
        let name = h.name();
        let value = match name {
            "Subject" => msg.subject().unwrap_or_default().to_owned(),
            "From" | "To" | "Reply-To" => {
                let a = match name {
                    "From" => msg.from(),
                    "To" => msg.to(),
                    _ => msg.reply_to(),
                };
                a.and_then(|a| a.first())
                    .map(|a| match (&a.name, &a.address) {
                        (Some(n), Some(e)) => format!("{n} <{e}>"),
                        (None, Some(e)) => e.to_string(),
                        _ => String::new(),
                    })
                    .unwrap_or_default()
            }
            _ => String::from_utf8_lossy(&raw[h.offset_start() as usize..h.offset_end() as usize])
                .trim()
                .replace("\r\n", " "),
        };
        let _ = writeln!(out, "{name}: {value}");
    }
    let _ = writeln!(out, "\n----- text/plain -----");
    let _ = writeln!(out, "{}", msg.body_text(0).unwrap_or_default().trim_end());
    let _ = writeln!(out, "\n----- text/html -----");
    let _ = writeln!(out, "{}", msg.body_html(0).unwrap_or_default().trim_end());
    Ok(out)
}
