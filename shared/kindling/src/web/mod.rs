//! The HTTP vocabulary, beneath the capabilities, written once against the `http` crate's
//! types: the JSON error body ([`ApiError`]), body limits, media types, the client's address,
//! form bodies ([`formdata`]), every route ([`routes`]) and the request limits `[api]` sets for
//! them ([`limits`]). Each capability's handlers are its `routes.rs`; [`crate::router`] sends
//! each request to its handler. The route catalog of the stack, the local server and the
//! sender's pacing read the table and the limits here.

pub mod formdata;
pub mod limits;
pub mod resolve;
pub mod routes;

use crate::error::Error;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use serde_json::json;

/// What a route handler returns: a response, or an error that becomes one.
pub(crate) type ApiResult = Result<Response<Bytes>, ApiError>;

/// Where a request came from, as the runtime saw it (socket or API Gateway request context).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    /// Who signed an admin request: the IAM principal's ARN on AWS (API Gateway checked the
    /// signature). `None` locally, where the admin token says only that the caller may.
    pub principal: Option<String>,
}

/// A request that gets an error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Option<serde_json::Value>,
    /// Headers the status needs (`Allow` on a 405, `WWW-Authenticate` on a 401).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl ApiError {
    /// An error with a machine code and a human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: None,
            headers: Vec::new(),
        }
    }

    /// 401 for the admin routes, with the challenge RFC 9110 §11.6.1 requires.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        e.headers.push((
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer realm=\"kindling-admin\""),
        ));
        e
    }

    /// 404: unknown route, or a token that does not verify (no hint which).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// The JSON response.
    pub fn into_response(self) -> Response<Bytes> {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(fields) = self.fields {
            body["fields"] = fields;
        }
        let mut r = json_response(self.status, &body);
        for (name, value) in self.headers {
            r.headers_mut().insert(name, value);
        }
        r
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            Error::Invalid(m) => ApiError::bad_request(m),
            Error::Refused(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => {
                // Ports failed: the client may retry; details stay in the log, not the response.
                tracing::error!(error = %crate::error::Report(&other), "request failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "temporarily unavailable, please retry",
                )
            }
        }
    }
}

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    response(status, "application/json", Bytes::from(body.to_string()))
}

/// `s` safe inside HTML text and double-quoted attributes.
pub(crate) fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn response(status: StatusCode, content_type: &str, body: Bytes) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert(CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}

/// A whole HTML page that runs only its own inline script and style, loads nothing, is framed
/// by no one, and is not cached or referred from (the KPI report).
pub fn html_page(status: StatusCode, body: String) -> Response<Bytes> {
    let mut res = response(status, "text/html; charset=utf-8", Bytes::from(body));
    let h = res.headers_mut();
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        (
            "content-security-policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    ] {
        h.insert(name, http::HeaderValue::from_static(value));
    }
    res
}

/// The body, refused with 413 if it is larger than `limit`.
pub(crate) fn body_within(req: &Request<Bytes>, limit: usize) -> Result<&[u8], ApiError> {
    if req.body().len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("body larger than {limit} bytes"),
        ));
    }
    Ok(req.body())
}

/// The media type of the request, lower-cased, without parameters.
pub(crate) fn media_type(req: &Request<Bytes>) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

pub(crate) fn client_ip(req: &Request<Bytes>) -> Option<String> {
    req.extensions()
        .get::<ClientInfo>()
        .and_then(|c| c.ip.clone())
}

pub(crate) fn user_agent(req: &Request<Bytes>) -> Option<String> {
    req.headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(512).collect())
}

/// 405 with the methods the route takes (RFC 9110 §15.5.6).
pub(crate) fn method_not_allowed(allow: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this route takes {allow}"),
    );
    if let Ok(v) = http::HeaderValue::from_str(allow) {
        e.headers.push((http::header::ALLOW, v));
    }
    e
}
