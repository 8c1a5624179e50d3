//! The admin routes (IAM on AWS, the admin token locally), each parse → the in-process backend
//! ([`InProcess`]) → JSON. What a route parses is only what HTTP adds: the path's parameters,
//! the query, the JSON body and who signed it. Every value is checked by the backend, so the
//! CLI on the local store and the CLI over HTTP get the same answers and the same messages.
//! Bad input is a 400, an unknown thing a 404, a move its state does not allow a 409; none of
//! them writes anything.

use super::in_process::InProcess;
use super::interface::{
    Actor, Admin, CreateBroadcast, EditBroadcast, MarkLead, ResumeSending, SegmentPage,
    TestBroadcast,
};
use crate::app::Kindling;
use crate::broadcasts::moves::Move;
use crate::error::PortError;
use crate::names::Named;
use crate::web::{body_within, json_response, ApiError, ApiResult, ClientInfo};
use bytes::Bytes;
use http::{Request, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest body of an admin POST but a broadcast's: a status and a note of 500 characters fit
/// many times over.
pub const MAX_ADMIN_BODY_BYTES: usize = 8 * 1024;

/// Largest body of a broadcast's creation or edit: the content of every language, and a little
/// more.
pub const MAX_BROADCAST_BODY_BYTES: usize =
    crate::broadcasts::content::MAX_CONTENT_BYTES + 16 * 1024;

fn json<T: Serialize>(code: StatusCode, v: &T) -> ApiResult {
    let body =
        serde_json::to_value(v).map_err(|e| crate::Error::Port(PortError::new("admin", e)))?;
    Ok(json_response(code, &body))
}

/// A JSON body of at most `limit` bytes; an empty one is `T::default()` where `empty` allows.
fn body<T: DeserializeOwned>(
    req: &Request<Bytes>,
    limit: usize,
    empty: Option<T>,
) -> Result<T, ApiError> {
    let raw = body_within(req, limit)?;
    match empty {
        Some(default) if raw.iter().all(u8::is_ascii_whitespace) => Ok(default),
        _ => serde_json::from_slice(raw).map_err(|e| ApiError::bad_request(format!("body: {e}"))),
    }
}

/// A route without a query.
fn no_query(req: &Request<Bytes>) -> Result<(), ApiError> {
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(
            "this route takes no query parameters",
        ));
    }
    Ok(())
}

/// The query's parameters, each at most once and each one of `known`.
fn query(req: &Request<Bytes>, known: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        if !known.contains(&&*k) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter {k:?} ({})",
                known.join(", ")
            )));
        }
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(ApiError::bad_request(format!("{k}: given twice")));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// A path parameter, percent-decoded (an address in the URL); 400 if it is not UTF-8.
fn param(raw: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::bad_request("a path parameter is not UTF-8"))
}

/// Who acts: the signer on AWS (API Gateway checked the signature), else the body's `by`.
fn signed(req: &Request<Bytes>, by: Option<String>) -> Option<String> {
    req.extensions()
        .get::<ClientInfo>()
        .and_then(|c| c.principal.clone())
        .or(by)
}

/// `GET /admin/leads/{id or email}`: the lead report.
pub(crate) async fn lead(k: &Kindling, key: &str) -> ApiResult {
    json(StatusCode::OK, &InProcess::new(k).lead(&param(key)?).await?)
}

/// `POST /admin/leads/{id or email}/sales`: a sales mark.
pub(crate) async fn mark(k: &Kindling, key: &str, req: &Request<Bytes>) -> ApiResult {
    let mark: MarkLead = body(req, MAX_ADMIN_BODY_BYTES, None)?;
    let marked = InProcess::new(k).mark_lead(&param(key)?, &mark).await?;
    json(StatusCode::OK, &marked)
}

/// `GET /admin/sending`: the breaker.
pub(crate) async fn sending(k: &Kindling) -> ApiResult {
    json(StatusCode::OK, &InProcess::new(k).sending().await?)
}

/// `POST /admin/sending/resume`: resumes step mails.
pub(crate) async fn resume(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    let resume: ResumeSending = body(req, MAX_ADMIN_BODY_BYTES, Some(ResumeSending::default()))?;
    json(
        StatusCode::OK,
        &InProcess::new(k).resume_sending(&resume).await?,
    )
}

/// `GET /admin/segments`: `{"segments": [...]}`.
pub(crate) async fn segments(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    no_query(req)?;
    let list = InProcess::new(k).segments().await?;
    json(StatusCode::OK, &serde_json::json!({ "segments": list }))
}

/// `GET /admin/segments/{segment}?after=&limit=`: a segment with a page of members.
pub(crate) async fn segment(k: &Kindling, id: &str, req: &Request<Bytes>) -> ApiResult {
    let mut page = SegmentPage::default();
    for (name, value) in query(req, &["after", "limit"])? {
        if name == "after" {
            page.after = Some(value);
        } else {
            page.limit = Some(value.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "limit: a whole number from 1 to {}",
                    super::segments::MAX_MEMBERS_PAGE
                ))
            })?);
        }
    }
    json(
        StatusCode::OK,
        &InProcess::new(k).segment(&param(id)?, &page).await?,
    )
}

/// `GET /admin/kpis?since=&until=&period=&by=`: the KPIs (`by` lists breakdowns, comma
/// separated).
pub(crate) async fn kpis(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    let mut q = crate::kpis::KpiQuery::default();
    for (name, value) in query(req, &["since", "until", "period", "by"])? {
        match name.as_str() {
            "since" => q.since = Some(value),
            "until" => q.until = Some(value),
            "period" => q.period = Some(value),
            _ => q.by = value.split(',').map(str::to_owned).collect(),
        }
    }
    json(StatusCode::OK, &InProcess::new(k).kpis(&q).await?)
}

/// `GET /admin/diagnose`: the checklist (no query).
pub(crate) async fn diagnose(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    query(req, &[])?;
    json(StatusCode::OK, &InProcess::new(k).diagnose().await?)
}

/// `GET /admin/report?since=&until=&period=`: the report page.
pub(crate) async fn report(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    let mut q = crate::kpis::KpiQuery::default();
    for (name, value) in query(req, &["since", "until", "period"])? {
        match name.as_str() {
            "since" => q.since = Some(value),
            "until" => q.until = Some(value),
            _ => q.period = Some(value),
        }
    }
    let page = InProcess::new(k).report(&q).await?;
    Ok(crate::web::html_page(StatusCode::OK, page))
}

/// `GET /admin/sync`: the CRM sync's health (no query).
pub(crate) async fn sync(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    query(req, &[])?;
    json(StatusCode::OK, &InProcess::new(k).sync_status().await?)
}

/// `POST /admin/sync/replay`: `{"id": "crm_..."}` or `{"dead": true}`.
pub(crate) async fn replay(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    let r: super::interface::ReplaySync = body(req, MAX_ADMIN_BODY_BYTES, None)?;
    json(StatusCode::OK, &InProcess::new(k).replay_sync(&r).await?)
}

/// `GET /admin/broadcasts`: `{"broadcasts": [rows]}`, newest first.
pub(crate) async fn broadcasts(k: &Kindling) -> ApiResult {
    let rows = InProcess::new(k).broadcasts().await?;
    json(StatusCode::OK, &serde_json::json!({ "broadcasts": rows }))
}

/// `POST /admin/broadcasts`: a draft; 201 with its status and the lint's warnings.
pub(crate) async fn create(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    let mut create: CreateBroadcast = body(req, MAX_BROADCAST_BODY_BYTES, None)?;
    create.by = signed(req, create.by);
    json(
        StatusCode::CREATED,
        &InProcess::new(k).create_broadcast(&create).await?,
    )
}

/// `GET /admin/broadcasts/{broadcast}`: its status.
pub(crate) async fn broadcast(k: &Kindling, id: &str) -> ApiResult {
    json(
        StatusCode::OK,
        &InProcess::new(k).broadcast(&param(id)?).await?,
    )
}

/// `POST /admin/broadcasts/{broadcast}/{action}`: `edit`, `test-send`, or a [`Move`]. An
/// unknown action is a 404 whatever the body.
pub(crate) async fn act(k: &Kindling, id: &str, action: &str, req: &Request<Bytes>) -> ApiResult {
    let admin = InProcess::new(k);
    let id = param(id)?;
    match action {
        "edit" => {
            let mut edit: EditBroadcast = body(req, MAX_BROADCAST_BODY_BYTES, None)?;
            edit.by = signed(req, edit.by);
            json(StatusCode::OK, &admin.edit_broadcast(&id, &edit).await?)
        }
        "test-send" => {
            let mut test: TestBroadcast =
                body(req, MAX_ADMIN_BODY_BYTES, Some(TestBroadcast::default()))?;
            test.by = signed(req, test.by);
            json(StatusCode::OK, &admin.test_broadcast(&id, &test).await?)
        }
        other => {
            let mv = Move::from_name(other).ok_or_else(ApiError::not_found)?;
            let mut by: Actor = body(req, MAX_ADMIN_BODY_BYTES, Some(Actor::default()))?;
            by.by = signed(req, by.by);
            json(StatusCode::OK, &admin.move_broadcast(&id, mv, &by).await?)
        }
    }
}

/// `GET /admin/broadcasts/{broadcast}/preview?lead=<email>`: the exact mail, `message/rfc822`.
pub(crate) async fn preview(k: &Kindling, id: &str, req: &Request<Bytes>) -> ApiResult {
    let lead = query(req, &["lead"])?
        .pop()
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::bad_request("lead: the address to preview for"))?;
    let raw = InProcess::new(k)
        .preview_broadcast(&param(id)?, &lead)
        .await?;
    Ok(crate::web::response(
        StatusCode::OK,
        "message/rfc822",
        Bytes::from(raw),
    ))
}
