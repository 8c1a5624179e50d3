//! API Gateway (HTTP API, payload v2) to the shared HTTP entry logic and back.

use bytes::Bytes;
use kindling::app::Kindling;
use kindling::router::{handle, Routes};
use kindling::web::ClientInfo;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// Handles one API Gateway request. Always a response: an `Err` would become an opaque 502.
pub async fn handle_api_request(k: &Kindling, routes: Routes, req: Request) -> Response<Body> {
    let (ip, principal) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (
            c.http.source_ip.clone(),
            c.authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .and_then(|i| i.user_arn.clone()),
        ),
        _ => (None, None),
    };
    let (parts, body) = req.into_parts();
    let mut request = http::Request::from_parts(parts, Bytes::copy_from_slice(body.as_ref()));
    request
        .extensions_mut()
        .insert(ClientInfo { ip, principal });
    let (parts, body) = handle(k, routes, request).await.into_parts();
    let textual = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("text/")
                || ct.starts_with("application/json")
                || ct.starts_with("application/javascript")
        });
    let body = match (textual, String::from_utf8(body.to_vec())) {
        (_, Ok(s)) if s.is_empty() => Body::Empty,
        (true, Ok(s)) => Body::Text(s),
        // The GIF pixel: API Gateway gets it base64-encoded.
        _ => Body::Binary(body.to_vec()),
    };
    Response::from_parts(parts, body)
}

/// The function that serves a group of routes: one name everywhere (folder, package, construct).
pub fn function_of(group: kindling::router::routes::Group) -> &'static str {
    match group {
        kindling::router::routes::Group::Track => "track",
        kindling::router::routes::Group::Intake => "intake",
    }
}

/// Every route with its function, authorization and throttle, as JSON: `infra/route-catalog.json`
/// is this, checked in and compared by a test, and the CDK stack builds its API Gateway routes
/// from that file, so the routes the code serves and the routes the stack deploys cannot drift.
/// Throttles are the bundled config's `[api]` limits (mail-driven routes sized from its
/// `send_rate`), `stage_throttle` the limit of routes with none, `send_rate` the fastest the
/// sender hands mail to SES under them. `test_recipients` are the bundled config's `[broadcasts.test_send] addresses`: the only addresses
/// the stack lets the intake function (which serves test sends) mail. `reps` are its `[[reps]]`:
/// the stack subscribes each to the alerts it owns.
pub fn route_catalog() -> serde_json::Value {
    use kindling::router::routes::{Auth, ROUTES};
    let config = crate::runtime::bundled_config().ok();
    let limits = config.as_ref().map(|c| c.api.clone()).unwrap_or_default();
    let routes: Vec<_> = ROUTES
        .iter()
        .map(|r| {
            serde_json::json!({
                "method": r.method.as_str(),
                "path": r.path,
                "function": function_of(r.group),
                "auth": match r.auth { Auth::Public => "none", Auth::Admin | Auth::Hook => "iam" },
                "throttle": limits.throttle(r).map(|t| serde_json::json!({ "rate": t.rate, "burst": t.burst })),
                "summary": r.summary,
            })
        })
        .collect();
    let reps: Vec<serde_json::Value> = config
        .as_ref()
        .map(|c| {
            c.routing
                .reps
                .iter()
                .map(|r| serde_json::json!({ "id": r.id, "email": r.email.to_string() }))
                .collect()
        })
        .unwrap_or_default();
    let test_recipients: Vec<String> = config
        .as_ref()
        .map(|c| {
            c.broadcasts
                .test_addresses
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .unwrap_or_default();
    let crm = config.as_ref().and_then(|c| c.crm.as_ref()).map(|c| {
        serde_json::json!({
            "transformer": c.recipe.transformer(),
            "sources": c.sources.iter().map(|s| &s.id).collect::<Vec<_>>(),
        })
    });
    serde_json::json!({
        "comment": "Generated from kindling::router::routes and config/kindling.toml ([api], [broadcasts.test_send], [[reps]], [crm]) by `KINDLING_WRITE_CATALOG=1 cargo test -p kindling-aws route_catalog`; do not edit.",
        "routes": routes,
        "stage_throttle": { "rate": limits.stage.rate, "burst": limits.stage.burst },
        "send_rate": limits.max_send_rate(),
        "test_recipients": test_recipients,
        "reps": reps,
        "crm": crm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `infra/route-catalog.json` must be what the code says; `KINDLING_WRITE_CATALOG=1` rewrites it.
    #[test]
    fn route_catalog_is_checked_in_and_current() {
        crate::assert_catalog_current("route-catalog.json", &route_catalog(), "route_catalog");
    }
}
