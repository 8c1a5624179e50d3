//! Building a step mail: signed links, the open pixel, the compliance footer, the RFC 8058
//! one-click unsubscribe headers and the RFC 2919 `List-Id`, as RFC 5322 bytes (lettre's builder
//! does the MIME).

use crate::ids::TopicId;
use crate::leads::Lead;
use crate::message::MessageKey;
use crate::message::HIDDEN_LINK;
use crate::program::{Program, Sender};
use crate::sending::templates::RenderedMail;
use crate::sending::templates::LINK_MARKER;
use crate::token::{Claim, SigningKeys};
use crate::web::escape_html;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use serde::Serialize;

/// A mail ready for the provider.
#[derive(Debug, Clone)]
pub struct ComposedMail {
    pub raw: Vec<u8>,
    pub subject: String,
    /// Link destinations by index, as signed into the click URLs.
    pub links: Vec<String>,
}

/// Why a mail could not be built.
#[derive(Debug, thiserror::Error)]
#[error("mail: {0}")]
pub struct ComposeError(String);

/// Who a mail is from and where its links point: the program and the sender.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub program: &'a Program,
    pub sender: &'a Sender,
}

/// The URLs every mail to `lead` carries.
#[derive(Debug, Clone)]
pub struct MailUrls {
    pub unsubscribe: String,
    pub open_pixel: String,
    pub hidden_link: String,
}

impl MailUrls {
    /// Signed unsubscribe and pixel URLs for one send of a mail of `topic`.
    pub fn new(
        config: &Origin<'_>,
        keys: &SigningKeys,
        key: &MessageKey,
        topic: Option<&TopicId>,
    ) -> Self {
        let base = &config.program.public_url;
        Self {
            unsubscribe: format!(
                "{base}/u/{}",
                keys.sign(&Claim::Unsubscribe(key.lead_id().clone(), topic.cloned()))
            ),
            open_pixel: format!("{base}/t/o/{}", keys.sign(&Claim::Open(key.clone()))),
            hidden_link: format!(
                "{base}/t/c/{}",
                keys.sign(&Claim::Click(key.clone(), HIDDEN_LINK))
            ),
        }
    }
}

/// Replaces the `link()` markers of a rendered mail with signed click URLs; returns the
/// destinations by index (the same URL in text and HTML shares one index).
fn sign_links(
    config: &Origin<'_>,
    keys: &SigningKeys,
    key: &MessageKey,
    parts: [&str; 2],
) -> Result<([String; 2], Vec<String>), ComposeError> {
    let mut links: Vec<String> = Vec::new();
    let out = replace_markers(parts, |url| {
        let index = match links.iter().position(|l| *l == url) {
            Some(i) => i,
            None => {
                links.push(url);
                links.len() - 1
            }
        };
        let index = u16::try_from(index)
            .ok()
            .filter(|i| *i != HIDDEN_LINK)
            .ok_or_else(|| ComposeError("too many links".into()))?;
        Ok(format!(
            "{}/t/c/{}",
            config.program.public_url,
            keys.sign(&Claim::Click(key.clone(), index))
        ))
    })?;
    Ok((out, links))
}

/// Replaces the `link()` markers with their destinations themselves (a test mail's links).
fn plain_links(parts: [&str; 2]) -> Result<([String; 2], Vec<String>), ComposeError> {
    Ok((replace_markers(parts, Ok)?, Vec::new()))
}

/// Replaces every `link()` marker of both parts with what `url` makes of its destination.
fn replace_markers(
    parts: [&str; 2],
    mut url: impl FnMut(String) -> Result<String, ComposeError>,
) -> Result<[String; 2], ComposeError> {
    let mut out = [String::new(), String::new()];
    for (slot, part) in out.iter_mut().zip(parts) {
        let mut rest = part;
        while let Some(start) = rest.find(LINK_MARKER) {
            slot.push_str(&rest[..start]);
            let after = &rest[start + LINK_MARKER.len()..];
            let end = after
                .find("]]")
                .ok_or_else(|| ComposeError("unterminated link marker".into()))?;
            let destination = URL_SAFE_NO_PAD
                .decode(&after[..end])
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ComposeError("corrupt link marker".into()))?;
            slot.push_str(&url(destination)?);
            rest = &after[end + 2..];
        }
        slot.push_str(rest);
    }
    Ok(out)
}

/// The left side of a mail's `Message-ID`: `{lead}.{enrollment}.{step}`, or `{lead}.b.{broadcast}`.
fn message_id_local(key: &MessageKey) -> String {
    match key {
        MessageKey::Step {
            lead_id,
            enrollment_id,
            step,
        } => format!("{lead_id}.{enrollment_id}.{step}"),
        MessageKey::Broadcast {
            lead_id,
            broadcast_id,
        } => format!("{lead_id}.b.{broadcast_id}"),
    }
}

/// Who a mail is for and what it is: the lead, the send it is, the language it is written in,
/// and the list it belongs to (a sequence id now; a topic once broadcasts exist).
#[derive(Debug, Clone, Copy)]
pub struct Addressing<'a> {
    pub lead: &'a Lead,
    pub key: &'a MessageKey,
    pub language: &'a str,
    pub list: &'a str,
    /// The topic the mail belongs to: its unsubscribe link leaves that topic on one click.
    pub topic: Option<&'a TopicId>,
}

/// The `List-Id` of `list` (RFC 2919): `Kindling document_followup <document-followup.kindling.example.jp>`.
/// The id is stable for as long as the list and the namespace are, which is what receivers key
/// their filters and reputation on; the phrase is for people.
pub fn list_id(config: &Origin<'_>, list: &str) -> String {
    let label: String = list
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "mail" } else { label };
    let phrase = format!("{} {list}", config.program.name);
    let phrase = if phrase.is_ascii() {
        format!("\"{}\"", phrase.replace(['\\', '"'], ""))
    } else {
        // lettre encodes non-ASCII words (RFC 2047), which may not stand in a quoted string.
        phrase
            .chars()
            .filter(|c| !"\"\\<>()[]:;@,.".contains(*c))
            .collect()
    };
    format!("{phrase} <{label}.{}>", config.program.list_id)
}

/// Builds the mail: rendered content, signed links, open pixel, footer with the sender's name,
/// postal address and opt-out link, one-click unsubscribe headers and the list's `List-Id`.
pub fn compose(
    config: &Origin<'_>,
    keys: &SigningKeys,
    to: &Addressing<'_>,
    rendered: &RenderedMail,
    now: DateTime<Utc>,
) -> Result<ComposedMail, ComposeError> {
    compose_as(config, keys, to, rendered, now, Tracking::On)
}

/// The token of the preference page a test mail links to: a sample that saves nothing (no lead
/// is behind a test mail, and the function that sends tests holds no signing keys).
pub const TEST_PAGE: &str = "test";

/// A test mail: as [`compose`] makes it, but its links go straight to their destinations, its
/// unsubscribe links go to the sample page [`TEST_PAGE`], it has no pixel nor hidden link
/// (nothing a reviewer does is recorded on anyone), and its subject starts with `[TEST]`. The
/// caller gives each test mail a key of its own, so that a receiver never takes a second test
/// for a duplicate of the first.
pub fn compose_test(
    config: &Origin<'_>,
    keys: &SigningKeys,
    to: &Addressing<'_>,
    rendered: &RenderedMail,
    now: DateTime<Utc>,
) -> Result<ComposedMail, ComposeError> {
    let mut rendered = rendered.clone();
    rendered.subject = format!("[TEST] {}", rendered.subject);
    compose_as(config, keys, to, &rendered, now, Tracking::Off)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tracking {
    On,
    Off,
}

fn compose_as(
    config: &Origin<'_>,
    keys: &SigningKeys,
    to: &Addressing<'_>,
    rendered: &RenderedMail,
    now: DateTime<Utc>,
    tracking: Tracking,
) -> Result<ComposedMail, ComposeError> {
    let Addressing {
        lead,
        key,
        language,
        list,
        topic,
    } = *to;
    let mut urls = MailUrls::new(config, keys, key, topic);
    if tracking == Tracking::Off {
        urls.unsubscribe = format!("{}/u/{TEST_PAGE}", config.program.public_url);
    }
    let parts = [rendered.text.as_str(), rendered.html.as_str()];
    let ([text, html], links) = match tracking {
        Tracking::On => sign_links(config, keys, key, parts)?,
        Tracking::Off => plain_links(parts)?,
    };
    let s = &config.sender;
    let (opt_out_label, contact_label) = if language == "ja" {
        ("配信停止はこちら", "お問い合わせ")
    } else {
        ("Unsubscribe", "Contact")
    };

    let text = format!(
        "{}\n\n--\n{}\n{}\n{contact_label}: {}\n{opt_out_label}: {}\n",
        text.trim_end(),
        s.from_name,
        s.postal_address,
        s.contact,
        urls.unsubscribe
    );
    let mut footer = format!(
        "<hr><p style=\"font-size:12px;color:#666\">{}<br>{}<br>{contact_label}: {}<br><a href=\"{}\">{opt_out_label}</a></p>",
        escape_html(&s.from_name),
        escape_html(&s.postal_address),
        escape_html(&s.contact),
        urls.unsubscribe,
    );
    if tracking == Tracking::On {
        footer.push_str(&format!(
            "<a href=\"{}\" style=\"display:none;font-size:0;color:transparent\" tabindex=\"-1\" aria-hidden=\"true\"></a><img src=\"{}\" width=\"1\" height=\"1\" alt=\"\">",
            urls.hidden_link, urls.open_pixel
        ));
    }
    let html = match html.rfind("</body>") {
        Some(i) => format!("{}{footer}{}", &html[..i], &html[i..]),
        None => format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{html}{footer}</body></html>"),
    };

    let addr = |e: &crate::email::EmailAddress| {
        e.as_str()
            .parse::<lettre::Address>()
            .map_err(|e| ComposeError(e.to_string()))
    };
    let list_unsubscribe = format!(
        "<{}>, <mailto:{}?subject=unsubscribe-{}>",
        urls.unsubscribe,
        s.unsubscribe_mailto,
        key.lead_id()
    );
    let domain = s.from_address.domain();
    let mut builder = Message::builder()
        .from(Mailbox::new(
            Some(s.from_name.clone()),
            addr(&s.from_address)?,
        ))
        .to(Mailbox::new(lead.profile.name.clone(), addr(&lead.email)?))
        .subject(rendered.subject.clone())
        .date(now.into())
        .message_id(Some(format!("<{}@{domain}>", message_id_local(key))))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            list_unsubscribe,
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Id"),
            list_id(config, list),
        ));
    if let Some(r) = &s.reply_to {
        builder = builder.reply_to(Mailbox::new(None, addr(r)?));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| ComposeError(e.to_string()))?;
    Ok(ComposedMail {
        raw: message.formatted(),
        subject: rendered.subject.clone(),
        links,
    })
}

/// What templates see: `lead`, `program`, `sender`.
#[derive(Serialize)]
pub struct MailContext<'a> {
    lead: LeadView<'a>,
    program: ProgramView<'a>,
    sender: SenderView<'a>,
}

#[derive(Serialize)]
struct LeadView<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    industry: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_size: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    /// The buying stage's id (`awareness` ... `decision`), for templates that speak to a stage.
    #[serde(skip_serializing_if = "Option::is_none")]
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
    /// What a mail to `lead` shows. A missing profile field is undefined (not `none`), so a
    /// template's fallback (`lead.name or "..."`) takes its place.
    pub fn new(program: &'a Program, sender: &'a Sender, lead: &'a Lead) -> Self {
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
                name: &program.name,
            },
            sender: SenderView {
                name: &sender.from_name,
                postal_address: &sender.postal_address,
                contact: &sender.contact,
            },
        }
    }
}

#[cfg(test)]
mod tests;
