//! `GET /u/{token}` shows a confirmation page and changes nothing (mail scanners fetch links);
//! `POST /u/{token}` (RFC 8058 one-click) unsubscribes at once.
//!
//! The signed token authorizes; the body only confirms. RFC 8058 §3 says a receiver's POST
//! SHOULD be `multipart/form-data` and MAY be urlencoded, with `List-Unsubscribe=One-Click`;
//! some send it as `text/plain` or with no body at all. Each of these unsubscribes. A body that
//! parses but says something else, or does not parse, is a 400 and changes nothing.

use crate::deliverability::unsubscribe;
use crate::token::Claim;
use crate::web::formdata::{self, FormEncoding};
use crate::web::{body_within, response, ApiError, ApiResult};
use bytes::Bytes;
use http::{Request, StatusCode};

/// Largest one-click body: a multipart body with one field is about 200 bytes.
pub const MAX_ONE_CLICK_BYTES: usize = 4096;

fn page_html(title: &str, body: &str) -> Bytes {
    Bytes::from(format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\">{body}</body></html>"
    ))
}

pub(crate) async fn page(k: &super::Deliverability<'_>, token: &str) -> ApiResult {
    let Some(Claim::Unsubscribe(_)) = k.keys.verify(token) else {
        return Err(ApiError::not_found());
    };
    let body = "<h1>配信停止 / Unsubscribe</h1>\
        <p>今後のメール配信を停止しますか? / Stop receiving our emails?</p>\
        <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
        <button type=\"submit\">配信を停止する / Unsubscribe</button></form>";
    Ok(response(
        StatusCode::OK,
        "text/html; charset=utf-8",
        page_html("Unsubscribe", body),
    ))
}

pub(crate) async fn one_click(
    k: &super::Deliverability<'_>,
    token: &str,
    req: &Request<Bytes>,
) -> ApiResult {
    let Some(Claim::Unsubscribe(lead_id)) = k.keys.verify(token) else {
        return Err(ApiError::not_found());
    };
    let body = body_within(req, MAX_ONE_CLICK_BYTES)?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let Some(encoding) = FormEncoding::of(req) else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send multipart/form-data or application/x-www-form-urlencoded (RFC 8058)",
            ));
        };
        let one_click = formdata::fields(req, encoding)
            .await?
            .iter()
            .any(|(k, v)| k == "List-Unsubscribe" && v.trim() == "One-Click");
        if !one_click {
            return Err(ApiError::bad_request(
                "expected the field List-Unsubscribe=One-Click (RFC 8058)",
            ));
        }
    }
    unsubscribe(k, &lead_id).await?;
    let body = "<h1>配信を停止しました / You are unsubscribed</h1><p>今後、メールはお送りしません。/ You will receive no more emails from us.</p>";
    Ok(response(
        StatusCode::OK,
        "text/html; charset=utf-8",
        page_html("Unsubscribed", body),
    ))
}
