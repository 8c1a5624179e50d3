//! HTTP entry logic for the public routes, written once against the `http` crate's types. The
//! local server and the Lambda functions convert their requests to `Request<Bytes>` and return
//! the `Response<Bytes>` from here. Every input gets a response: bad input a 4xx with a JSON
//! error body and no write; a failing port a 503 (retryable), never a panic.

mod admin;
pub mod formdata;
mod forms;
mod track;
mod unsubscribe;

use crate::error::Error;
use crate::usecases::Kindling;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use serde_json::json;

/// The kindling.js tracker, served at `GET /kindling.js`.
pub const KINDLING_JS: &str = include_str!("../../assets/kindling.js");

/// Where a request came from, as the runtime saw it (socket or API Gateway request context).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
}

/// Which group of routes a runtime serves: the Lambda functions split them, the local server
/// serves all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routes {
    /// Tracking: beacons, opens, clicks, unsubscribe, kindling.js (the `track` function).
    Track,
    /// Form intake and the admin routes (the `intake` function; API Gateway authorizes admin
    /// requests with IAM before they arrive).
    Intake,
    /// Everything (the local server).
    All,
}

/// Handles one request.
pub async fn handle(k: &Kindling, routes: Routes, req: Request<Bytes>) -> Response<Bytes> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let track = routes != Routes::Intake;
    let intake = routes != Routes::Track;
    let result = match (req.method(), segments.as_slice()) {
        (&Method::POST, ["t", "events"]) if track => track::events(k, &req).await,
        (&Method::GET, ["t", "o", token]) if track => track::open(k, token, &req).await,
        (&Method::GET, ["t", "c", token]) if track => track::click(k, token, &req).await,
        (&Method::GET, ["u", token]) if track => unsubscribe::page(k, token).await,
        (&Method::POST, ["u", token]) if track => unsubscribe::one_click(k, token, &req).await,
        (&Method::GET, ["kindling.js"]) if track => Ok(kindling_js(k)),
        (&Method::POST, ["forms", form_id]) if intake => forms::submit(k, form_id, &req).await,
        (&Method::GET, ["admin", "leads", key]) if intake => admin::lead(k, key).await,
        (&Method::POST, ["admin", "leads", key, "sales"]) if intake => {
            admin::mark(k, key, &req).await
        }
        (&Method::GET, ["admin", "sending"]) if intake => admin::sending(k).await,
        (&Method::POST, ["admin", "sending", "resume"]) if intake => admin::resume(k, &req).await,
        // A route this function serves, with another method: 405 with the methods it takes.
        (_, path) => match allowed_methods(routes, path) {
            Some(allow) => Err(method_not_allowed(allow)),
            None => Err(ApiError::not_found()),
        },
    };
    result.unwrap_or_else(|e| e.into_response())
}

/// The methods a path of `routes` takes (the `Allow` of a 405, RFC 9110 §15.5.6), or `None`
/// for a path that is no route here (a 404).
fn allowed_methods(routes: Routes, path: &[&str]) -> Option<&'static str> {
    let track = routes != Routes::Intake;
    let intake = routes != Routes::Track;
    match path {
        ["t", "events"] if track => Some("POST"),
        ["t", "o", _] | ["t", "c", _] | ["kindling.js"] if track => Some("GET"),
        ["u", _] if track => Some("GET, POST"),
        ["forms", _] if intake => Some("POST"),
        ["admin", "leads", _] | ["admin", "sending"] if intake => Some("GET"),
        ["admin", "leads", _, "sales"] | ["admin", "sending", "resume"] if intake => Some("POST"),
        _ => None,
    }
}

fn method_not_allowed(allow: &'static str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this route takes {allow}"),
    );
    e.headers
        .push((http::header::ALLOW, http::HeaderValue::from_static(allow)));
    e
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
            Error::Invalid(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            other => {
                // Ports failed: the client may retry; details stay in the log, not the response.
                tracing::error!(error = %other, "request failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "temporarily unavailable, please retry",
                )
            }
        }
    }
}

type ApiResult = Result<Response<Bytes>, ApiError>;

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    response(status, "application/json", Bytes::from(body.to_string()))
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

/// The tracker with the program's settings filled in.
pub fn kindling_js_source(config: &crate::config::Config) -> String {
    let gpc = if config.program.respect_gpc {
        "true"
    } else {
        "false"
    };
    KINDLING_JS.replace("__KINDLING_RESPECT_GPC__", gpc)
}

fn kindling_js(k: &Kindling) -> Response<Bytes> {
    let mut r = response(
        StatusCode::OK,
        "application/javascript; charset=utf-8",
        Bytes::from(kindling_js_source(&k.config)),
    );
    r.headers_mut().insert(
        CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=3600"),
    );
    r
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
