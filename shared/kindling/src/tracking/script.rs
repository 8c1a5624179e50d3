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
    // A URL (checked at start-up: https, no quote) or nothing: beacons go to the script's origin.
    let beacon = program.beacon_url.as_deref().unwrap_or("");
    KINDLING_JS
        .replace("__KINDLING_RESPECT_GPC__", gpc)
        .replace("__KINDLING_BEACON_URL__", beacon)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_beacon_url_is_filled_in_or_left_empty() {
        let mut program = crate::config::tests::shipped().program;
        let plain = kindling_js_source(&program);
        assert!(plain.contains(r#"var beaconUrl = "";"#), "no beacon URL");
        assert!(!plain.contains("__KINDLING_"), "every placeholder filled");
        program.beacon_url = Some("https://abc.lambda-url.ap-northeast-1.on.aws".into());
        let filled = kindling_js_source(&program);
        assert!(
            filled.contains(r#"var beaconUrl = "https://abc.lambda-url.ap-northeast-1.on.aws";"#)
        );
    }
}
