//! `GET /u/{token}` is the preference page: a checkbox per topic and a way to leave everything.
//! It changes nothing (mail scanners fetch links). `POST /u/{token}` saves: the page's choice of
//! topics (`action=save` with a `topic` field per topic kept), everything (`action=everything`),
//! or an RFC 8058 one-click, which leaves the mail's topic or everything (`[unsubscribe]
//! one_click`). A program with no `[[topics]]` shows one button, which leaves everything.
//!
//! The signed token authorizes; the body only says what. RFC 8058 §3 says a receiver's POST
//! SHOULD be `multipart/form-data` and MAY be urlencoded, with `List-Unsubscribe=One-Click`;
//! some send it as `text/plain` or with no body at all. Each of these is a one-click. A body
//! that parses but says something else, names a topic that does not exist, or does not parse,
//! is a 400 and changes nothing.
//!
//! The token [`TEST_PAGE`] (the link of a broadcast's test mail) shows a sample page, all topics
//! checked, whose POST answers as the real one would and saves nothing.

use super::preference_page as pages;
use super::preferences::{leave_topic, set_topics};
use super::topics::OneClick;
use crate::deliverability::unsubscribe;
use crate::ids::{is_valid_id, LeadId, TopicId};
use crate::leads::{Lead, Preferences};
use crate::sending::mail::TEST_PAGE;
use crate::token::Claim;
use crate::web::formdata::{self, FormEncoding};
use crate::web::{body_within, response, ApiError, ApiResult};
use bytes::Bytes;
use http::{Request, StatusCode};
use std::collections::BTreeSet;

/// Largest body: the page's form with every topic checked is well under this.
pub const MAX_ONE_CLICK_BYTES: usize = 4096;

fn html(b: Bytes) -> ApiResult {
    Ok(response(StatusCode::OK, "text/html; charset=utf-8", b))
}

fn claim(
    k: &super::Deliverability<'_>,
    token: &str,
) -> Result<(LeadId, Option<TopicId>), ApiError> {
    match k.keys.verify(token) {
        Some(Claim::Unsubscribe(lead, topic)) => Ok((lead, topic)),
        _ => Err(ApiError::not_found()),
    }
}

async fn lead(k: &super::Deliverability<'_>, id: &LeadId) -> Result<Lead, ApiError> {
    k.leads
        .get_lead(id)
        .await
        .map_err(crate::error::Error::from)?
        .ok_or_else(ApiError::not_found)
}

/// `GET /u/{token}`.
pub(crate) async fn preference_page(k: &super::Deliverability<'_>, token: &str) -> ApiResult {
    let topics = &k.config.deliverability.topics;
    if token == TEST_PAGE {
        return html(sample(k));
    }
    let (lead_id, from) = claim(k, token)?;
    if topics.is_empty() {
        return html(pages::confirm_everything());
    }
    let lead = lead(k, &lead_id).await?;
    if lead.unsubscribed_at.is_some() {
        return html(pages::unsubscribed());
    }
    html(pages::preferences(
        topics,
        &lead.preferences,
        from.as_ref(),
        None,
    ))
}

/// What a POST asks for.
enum Ask {
    OneClick,
    Save(BTreeSet<TopicId>),
    Everything,
}

async fn ask(req: &Request<Bytes>) -> Result<Ask, ApiError> {
    let body = body_within(req, MAX_ONE_CLICK_BYTES)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Ask::OneClick);
    }
    let Some(encoding) = FormEncoding::of(req) else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send multipart/form-data or application/x-www-form-urlencoded (RFC 8058)",
        ));
    };
    let fields = formdata::fields(req, encoding).await?;
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    };
    if value("List-Unsubscribe") == Some("One-Click") {
        return Ok(Ask::OneClick);
    }
    match value("action") {
        Some("save") => {
            let mut keep = BTreeSet::new();
            for (_, t) in fields.iter().filter(|(k, _)| k == "topic") {
                if !is_valid_id(t.trim()) {
                    return Err(ApiError::bad_request("topic: not a topic id"));
                }
                keep.insert(TopicId::new(t.trim()));
            }
            Ok(Ask::Save(keep))
        }
        Some("everything") => Ok(Ask::Everything),
        _ => Err(ApiError::bad_request(
            "expected List-Unsubscribe=One-Click (RFC 8058), action=save with topic fields, or action=everything",
        )),
    }
}

/// `POST /u/{token}`.
pub(crate) async fn save(
    k: &super::Deliverability<'_>,
    token: &str,
    req: &Request<Bytes>,
) -> ApiResult {
    let topics = &k.config.deliverability.topics;
    if token == TEST_PAGE {
        ask(req).await?;
        return html(sample(k));
    }
    let (lead_id, from) = claim(k, token)?;
    match ask(req).await? {
        Ask::OneClick => {
            let topic = from
                .as_ref()
                .filter(|_| k.config.deliverability.one_click == OneClick::Topic)
                .and_then(|f| topics.iter().find(|t| t.id == *f));
            match topic {
                Some(t) => {
                    leave_topic(k, &lead_id, &t.id, "one_click").await?;
                    html(pages::left_topic(t))
                }
                None => {
                    unsubscribe(k, &lead_id, "one_click").await?;
                    html(pages::unsubscribed())
                }
            }
        }
        Ask::Everything => {
            unsubscribe(k, &lead_id, "page").await?;
            html(pages::unsubscribed())
        }
        Ask::Save(keep) => {
            if let Some(t) = keep.iter().find(|t| !topics.iter().any(|x| x.id == **t)) {
                return Err(ApiError::bad_request(format!(
                    "topic: no topic {:?}",
                    t.as_str()
                )));
            }
            let current = lead(k, &lead_id).await?;
            if current.unsubscribed_at.is_some() {
                return html(pages::unsubscribed());
            }
            set_topics(k, &lead_id, &keep, "page").await?;
            let lead = lead(k, &lead_id).await?;
            html(pages::preferences(
                topics,
                &lead.preferences,
                from.as_ref(),
                Some("保存しました / Your choices are saved"),
            ))
        }
    }
}

const TEST_NOTICE: &str =
    "テスト送信のサンプルです。何も保存されていません / A test mail's sample page: nothing was saved";

/// The sample page of a test mail: every topic checked (or the one button), for no lead.
fn sample(k: &super::Deliverability<'_>) -> Bytes {
    let topics = &k.config.deliverability.topics;
    if topics.is_empty() {
        return pages::confirm_everything();
    }
    pages::preferences(topics, &Preferences::default(), None, Some(TEST_NOTICE))
}
