//! kindling.js, the tracker websites load: served with the program's settings filled in.

use crate::program::Program;
use crate::web::response;
use bytes::Bytes;
use http::{Response, StatusCode};

/// The kindling.js tracker, served at `GET /kindling.js`.
pub const KINDLING_JS: &str = include_str!("../../assets/kindling.js");

/// The tracker with the program's settings filled in.
pub fn kindling_js_source(program: &Program) -> String {
    let gpc = if program.respect_gpc { "true" } else { "false" };
    KINDLING_JS.replace("__KINDLING_RESPECT_GPC__", gpc)
}

/// `GET /kindling.js`: cached for an hour.
pub(crate) fn kindling_js(program: &Program) -> Response<Bytes> {
    let mut r = response(
        StatusCode::OK,
        "application/javascript; charset=utf-8",
        Bytes::from(kindling_js_source(program)),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=3600"),
    );
    r
}
