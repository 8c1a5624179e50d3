//! Admin routes, for operators and sales tools. Authorization happens before a request gets here:
//! IAM at API Gateway in AWS, a bearer token in the local server. Reads only.

use super::{json_response, ApiError, ApiResult};
use crate::error::PortError;
use crate::usecases::{lead_report, parse_lead_key, Kindling};
use http::StatusCode;

/// `GET /admin/leads/{id or email}`: the lead's profile, score with breakdown, timeline,
/// enrollments, sends and suppression.
pub(super) async fn lead(k: &Kindling, key: &str) -> ApiResult {
    let key = percent_decode(key).ok_or_else(ApiError::not_found)?;
    let key = parse_lead_key(&key).ok_or_else(ApiError::not_found)?;
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

/// `%40` and friends in a path segment (an email address in the URL).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
