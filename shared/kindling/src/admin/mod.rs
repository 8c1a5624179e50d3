//! Admin routes, for operators and sales tools. Authorization happens before a request gets here:
//! IAM at API Gateway in AWS, a bearer token in the local server.

mod report;
pub mod scenario;
pub mod segments;

pub use report::{lead_report, InSegment, LeadReport, REPORT_ACTIVITIES};

use crate::app::Kindling;
use crate::error::PortError;
use crate::web::{json_response, ApiError, ApiResult};
use http::StatusCode;

/// `GET /admin/leads/{id or email}`: the lead's profile, score with breakdown, timeline,
/// enrollments, sends and suppression.
pub(crate) async fn lead(k: &Kindling, key: &str) -> ApiResult {
    let key = lead_key(key)?;
    match lead_report(k, &key).await? {
        Some(report) => {
            // Plain structs with string keys: serializing cannot fail, but never panic.
            let body = serde_json::to_value(&report)
                .map_err(|e| crate::error::Error::Port(PortError::new("report", e)))?;
            Ok(json_response(StatusCode::OK, &body))
        }
        None => Err(ApiError::not_found()),
    }
}

/// Largest body of an admin POST: a status and a note of 500 characters fit many times over.
pub const MAX_ADMIN_BODY_BYTES: usize = 8 * 1024;

/// `POST /admin/leads/{id or email}/sales` with `{"status": "working" | "won" | "lost" |
/// "disqualified", "note": "..."}`: where sales stands with the lead. 200 with the mark, 400 for
/// a bad body (nothing written), 404 for an unknown lead.
pub(crate) async fn mark(k: &Kindling, key: &str, req: &http::Request<bytes::Bytes>) -> ApiResult {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        status: String,
        #[serde(default)]
        note: Option<String>,
    }
    let key = lead_key(key)?;
    let body: Body = serde_json::from_slice(crate::web::body_within(req, MAX_ADMIN_BODY_BYTES)?)
        .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
    let status = crate::leads::SalesStatus::parse(&body.status)
        .ok_or_else(|| ApiError::bad_request("status: one of working, won, lost, disqualified"))?;
    let note = note(body.note)?;
    match mark_and_rescore(k, &key, status, note).await? {
        Some(lead) => Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({ "lead_id": lead.id, "email": lead.email, "sales": lead.sales }),
        )),
        None => Err(ApiError::not_found()),
    }
}

/// Records a sales mark, then rescores the lead so that what reads the mark (segments on
/// `sales_status`, stages) moves now, not at its next activity. A failure after the mark is
/// stored is an error for the caller to retry: marking again changes nothing and rescores again.
pub async fn mark_and_rescore(
    k: &Kindling,
    key: &crate::leads::LeadKey,
    status: crate::leads::SalesStatus,
    note: Option<String>,
) -> crate::error::Result<Option<crate::leads::Lead>> {
    let Some(lead) =
        crate::leads::mark_lead(&*k.stores.leads, &*k.clock, key, status, note).await?
    else {
        return Ok(None);
    };
    crate::scoring::rescore_lead(&k.scoring(), &lead.id).await?;
    Ok(Some(lead))
}

/// `GET /admin/sending`: whether step mails are sending or paused by the bounce/complaint
/// breaker, with the counts of its window and its thresholds.
pub(crate) async fn sending(k: &Kindling) -> ApiResult {
    let status = crate::deliverability::sending_status(&k.deliverability()).await?;
    let body = serde_json::to_value(&status)
        .map_err(|e| crate::error::Error::Port(PortError::new("status", e)))?;
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /admin/sending/resume` with `{"note": "..."}` (optional; an empty body is fine):
/// resumes step mails; counting restarts at the next hour. 200 with what was paused, 400 for a
/// bad body (nothing written).
pub(crate) async fn resume(k: &Kindling, req: &http::Request<bytes::Bytes>) -> ApiResult {
    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        note: Option<String>,
    }
    let raw = crate::web::body_within(req, MAX_ADMIN_BODY_BYTES)?;
    let body: Body = if raw.iter().all(u8::is_ascii_whitespace) {
        Body::default()
    } else {
        serde_json::from_slice(raw).map_err(|e| ApiError::bad_request(format!("body: {e}")))?
    };
    let note = note(body.note)?;
    let resumed = crate::deliverability::resume_sending(&k.deliverability(), note).await?;
    let body = serde_json::to_value(&resumed)
        .map_err(|e| crate::error::Error::Port(PortError::new("resume", e)))?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The `{lead}` of an admin path: a lead id or an address, percent-encoded or not. Malformed is
/// a 400 (a request that can never be right), unknown a 404 (said by the caller).
fn lead_key(raw: &str) -> Result<crate::leads::LeadKey, ApiError> {
    percent_decode(raw)
        .as_deref()
        .and_then(crate::leads::parse_lead_key)
        .ok_or_else(|| ApiError::bad_request("the lead is neither a lead id nor an email address"))
}

/// An operator's note: trimmed, none if blank, at most 500 characters (else 400).
fn note(raw: Option<String>) -> Result<Option<String>, ApiError> {
    let note = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::bad_request("note: at most 500 characters"));
    }
    Ok(note)
}

/// `%40` and friends in a path segment (an email address in the URL); `None` if the result is
/// not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}
