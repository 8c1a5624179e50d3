//! The admin routes of broadcasts (IAM on AWS, the admin token locally): list, create, show, and
//! the lifecycle's moves. Who acts is the IAM principal that signed the request on AWS, else the
//! body's `by`. Bad input is a 400, an unknown broadcast a 404, a move its state does not allow
//! a 409; none of them writes anything.

use super::content::{Content, Part};
use super::lifecycle::{self, NewBroadcast};
use super::status::status;
use super::Broadcasts;
use super::{Audience, Schedule};
use crate::ids::{BroadcastId, SegmentId};
use crate::web::{body_within, json_response, ApiError, ApiResult, ClientInfo};
use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest body: the content of every language, and a little more.
pub const MAX_BODY_BYTES: usize = super::content::MAX_CONTENT_BYTES + 16 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
enum AudienceBody {
    Segment { segment: String },
    All,
    RecipientsOf { broadcast: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartBody {
    txt: String,
    html: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentBody {
    template: Option<String>,
    parts: Option<BTreeMap<String, PartBody>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    id: Option<String>,
    name: String,
    audience: AudienceBody,
    content: ContentBody,
    at: String,
    #[serde(default)]
    local: bool,
    topic: Option<String>,
    ab: Option<super::ab::Spec>,
    by: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActBody {
    by: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestBody {
    #[serde(default)]
    to: Vec<String>,
    #[serde(rename = "as")]
    as_lead: Option<String>,
    by: Option<String>,
}

/// Most addresses one test send may name (the configured list is at most this long too).
const MAX_TEST_TO: usize = super::config::MAX_TEST_ADDRESSES;

fn parse<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ApiError::bad_request(format!("body: {e}")))
}

/// Who acts: the signer on AWS; else the body's `by`, which is then required.
fn actor(req: &Request<Bytes>, by: Option<String>) -> Result<String, ApiError> {
    let signer = req
        .extensions()
        .get::<ClientInfo>()
        .and_then(|c| c.principal.clone());
    signer
        .or(by)
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("by: who acts is required"))
}

fn ok(s: &super::status::Status, code: StatusCode) -> ApiResult {
    let body = serde_json::to_value(s)
        .map_err(|e| crate::Error::Port(crate::error::PortError::new("broadcast", e)))?;
    Ok(json_response(code, &body))
}

/// `GET /admin/broadcasts`: every broadcast, newest first (without content).
pub(crate) async fn list(k: &Broadcasts<'_>) -> ApiResult {
    let all = k
        .store
        .list_broadcasts()
        .await
        .map_err(crate::Error::from)?;
    let rows: Vec<serde_json::Value> = all
        .iter()
        .map(|b| {
            serde_json::json!({
                "id": b.id, "name": b.name, "state": b.state, "audience": b.audience, "topic": b.topic,
                "schedule": b.schedule, "created_by": b.created_by, "created_at": b.created_at,
                "approved": b.approved(),
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "broadcasts": rows }),
    ))
}

/// `POST /admin/broadcasts`: creates a draft; 201 with its status.
pub(crate) async fn create(k: &Broadcasts<'_>, req: &Request<Bytes>) -> ApiResult {
    let b: CreateBody = parse(body_within(req, MAX_BODY_BYTES)?)?;
    let by = actor(req, b.by)?;
    let new = NewBroadcast {
        id: b.id,
        name: b.name,
        audience: audience_of(b.audience)?,
        content: content_of(k, b.content)?,
        schedule: Schedule {
            at: at_of(&b.at)?,
            local: b.local,
        },
        topic: topic_of(b.topic)?,
        ab: b.ab,
        by,
    };
    let (created, _) = lifecycle::create(k, new).await?;
    ok(&status(k, &created.id).await?, StatusCode::CREATED)
}

/// A small JSON body, or the default when there is none.
fn small_body<T: serde::de::DeserializeOwned + Default>(
    req: &Request<Bytes>,
) -> Result<T, ApiError> {
    let raw = body_within(req, 4096)?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse(raw)
    }
}

/// `POST /admin/broadcasts/{broadcast}/test-send`: the mail to some or all of the configured
/// test addresses (`to`), rendered as a sample lead or `as` a stored one; 200 with what was sent
/// and skipped. An address outside the list is a 400 and nothing is sent; no list, or a
/// cancelled broadcast, a 409.
pub(crate) async fn test_send(
    k: &Broadcasts<'_>,
    mailer: Option<&dyn crate::sending::ports::Mailer>,
    id: &str,
    req: &Request<Bytes>,
) -> ApiResult {
    let id = broadcast_id(id)?;
    let body: TestBody = small_body(req)?;
    let by = actor(req, body.by)?;
    if body.to.len() > MAX_TEST_TO {
        return Err(ApiError::bad_request(format!(
            "to: at most {MAX_TEST_TO} addresses"
        )));
    }
    let email = |field: &str, raw: &str| {
        crate::email::EmailAddress::parse(raw)
            .map_err(|_| ApiError::bad_request(format!("{field}: {raw:?} is not an email address")))
    };
    let request = super::test_send::TestRequest {
        to: body
            .to
            .iter()
            .map(|a| email("to", a))
            .collect::<Result<_, _>>()?,
        as_lead: body
            .as_lead
            .as_deref()
            .map(|a| email("as", a))
            .transpose()?,
    };
    let mailer = mailer.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_served",
            "this runtime has no mailer for test sends",
        )
    })?;
    let report = super::test_send::test_send(k, mailer, &id, &request).await?;
    tracing::info!(broadcast = %id, by = %by, "test send requested");
    let body = serde_json::to_value(&report)
        .map_err(|e| crate::Error::Port(crate::error::PortError::new("broadcast", e)))?;
    Ok(json_response(StatusCode::OK, &body))
}

fn audience_of(a: AudienceBody) -> Result<Audience, ApiError> {
    Ok(match a {
        AudienceBody::Segment { segment } => Audience::Segment {
            segment: SegmentId::new(segment),
        },
        AudienceBody::All => Audience::All,
        AudienceBody::RecipientsOf { broadcast } => Audience::RecipientsOf {
            broadcast: BroadcastId::parse(&broadcast)
                .ok_or_else(|| ApiError::bad_request("audience.broadcast: not a broadcast id"))?,
        },
    })
}

fn content_of(k: &Broadcasts<'_>, c: ContentBody) -> Result<Content, ApiError> {
    let content = match (c.template, c.parts) {
        (Some(t), None) => Content::from_template(k.config.templates, &t),
        (None, Some(parts)) => Ok(Content {
            source: "api".into(),
            parts: parts
                .into_iter()
                .map(|(l, p)| {
                    (
                        l,
                        Part {
                            txt: p.txt,
                            html: p.html,
                        },
                    )
                })
                .collect(),
        }),
        _ => Err("give exactly one of content.template and content.parts".into()),
    }
    .map_err(|e| ApiError::bad_request(format!("content: {e}")))?;
    if content.parts.keys().any(|l| {
        l.is_empty() || l.len() > 16 || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }) {
        return Err(ApiError::bad_request(
            "content.parts: keys are languages such as \"ja\" or \"en\"",
        ));
    }
    Ok(content)
}

fn at_of(at: &str) -> Result<chrono::NaiveDateTime, ApiError> {
    chrono::NaiveDateTime::parse_from_str(at.trim(), "%Y-%m-%d %H:%M")
        .map_err(|_| ApiError::bad_request("at: write a time like \"2026-12-08 10:00\""))
}

fn topic_of(t: Option<String>) -> Result<Option<crate::ids::TopicId>, ApiError> {
    match t {
        Some(t) if crate::ids::is_valid_id(&t) => Ok(Some(crate::ids::TopicId::new(t))),
        Some(_) => Err(ApiError::bad_request("topic: not a topic id")),
        None => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    name: Option<String>,
    audience: Option<AudienceBody>,
    content: Option<ContentBody>,
    at: Option<String>,
    local: Option<bool>,
    topic: Option<String>,
    ab: Option<super::ab::Spec>,
    #[serde(default)]
    remove_ab: bool,
    by: Option<String>,
}

/// `POST /admin/broadcasts/{broadcast}/edit`: changes what is given of a broadcast that has
/// not started (its approval is void; it is a draft again); 200 with its status. `local`
/// needs `at`.
pub(crate) async fn edit(k: &Broadcasts<'_>, id: &str, req: &Request<Bytes>) -> ApiResult {
    let id = broadcast_id(id)?;
    let b: EditBody = parse(body_within(req, MAX_BODY_BYTES)?)?;
    let by = actor(req, b.by)?;
    if b.local.is_some() && b.at.is_none() {
        return Err(ApiError::bad_request("local: give it with at"));
    }
    if b.remove_ab && b.ab.is_some() {
        return Err(ApiError::bad_request("give ab or remove_ab, not both"));
    }
    let edit = lifecycle::Edit {
        name: b.name,
        audience: b.audience.map(audience_of).transpose()?,
        content: b.content.map(|c| content_of(k, c)).transpose()?,
        schedule: match &b.at {
            Some(at) => Some(Schedule {
                at: at_of(at)?,
                local: b.local.unwrap_or(false),
            }),
            None => None,
        },
        topic: topic_of(b.topic)?,
        ab: if b.remove_ab {
            Some(None)
        } else {
            b.ab.map(Some)
        },
    };
    lifecycle::edit(k, &id, edit, &by).await?;
    ok(&status(k, &id).await?, StatusCode::OK)
}

/// `GET /admin/broadcasts/{broadcast}/preview?lead=<email>`: the exact mail `lead` would get
/// (a sample lead with only that address when none has it), as `message/rfc822`.
pub(crate) async fn preview(k: &Broadcasts<'_>, id: &str, req: &Request<Bytes>) -> ApiResult {
    let id = broadcast_id(id)?;
    let mut lead = None;
    for (name, value) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "lead" if lead.is_none() => lead = Some(value.into_owned()),
            _ => return Err(ApiError::bad_request("query: lead=<email address>, once")),
        }
    }
    let lead = lead.ok_or_else(|| ApiError::bad_request("lead: the address to preview for"))?;
    let email = crate::email::EmailAddress::parse(&lead)
        .map_err(|_| ApiError::bad_request(format!("lead: {lead:?} is not an email address")))?;
    let mail = super::compose::preview(k, &id, &email).await?;
    Ok(crate::web::response(
        StatusCode::OK,
        "message/rfc822",
        Bytes::from(mail.raw),
    ))
}

fn broadcast_id(raw: &str) -> Result<BroadcastId, ApiError> {
    BroadcastId::parse(raw).ok_or_else(|| ApiError::bad_request("not a broadcast id"))
}

/// `GET /admin/broadcasts/{broadcast}`: its record, progress and ETA.
pub(crate) async fn show(k: &Broadcasts<'_>, id: &str) -> ApiResult {
    let id = broadcast_id(id)?;
    ok(&status(k, &id).await?, StatusCode::OK)
}

/// `POST /admin/broadcasts/{broadcast}/{action}`: `dry-run`, `approve`, `schedule`, `pause`,
/// `resume`, `confirm` or `cancel`; 200 with the status after it.
pub(crate) async fn act(
    k: &Broadcasts<'_>,
    id: &str,
    action: &str,
    req: &Request<Bytes>,
) -> ApiResult {
    let id = broadcast_id(id)?;
    let body: ActBody = small_body(req)?;
    let by = actor(req, body.by)?;
    let bk = *k;
    match action {
        "dry-run" => super::dry_run::dry_run(&bk, &id, &by).await,
        "approve" => lifecycle::approve(&bk, &id, &by).await,
        "schedule" => lifecycle::schedule(&bk, &id, &by).await,
        "pause" => lifecycle::pause(&bk, &id, &by).await,
        "resume" => lifecycle::resume(&bk, &id, &by).await,
        "confirm" => lifecycle::confirm(&bk, &id, &by).await,
        "cancel" => lifecycle::cancel(&bk, &id, &by).await,
        _ => return Err(ApiError::not_found()),
    }?;
    ok(&status(&bk, &id).await?, StatusCode::OK)
}
