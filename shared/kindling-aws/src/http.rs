//! API Gateway (HTTP API, payload v2) to the shared HTTP entry logic and back.

use bytes::Bytes;
use kindling::http::{handle, ClientInfo, Routes};
use kindling::usecases::Kindling;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// Handles one API Gateway request. Always a response: an `Err` would become an opaque 502.
pub async fn handle_api_request(k: &Kindling, routes: Routes, req: Request) -> Response<Body> {
    let ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
        _ => None,
    };
    let (parts, body) = req.into_parts();
    let mut request = http::Request::from_parts(parts, Bytes::copy_from_slice(body.as_ref()));
    request.extensions_mut().insert(ClientInfo { ip });
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
