//! `POST /t/events` (kindling.js beacons), `GET /t/o/{token}` (open pixel), `GET /t/c/{token}`
//! (click redirect to the destination recorded at send time).

use super::{body_within, json_response, media_type, response, ApiError, ApiResult};
use crate::activity::{Activity, ActivityKind, Attrs, Subject};
use crate::ids::{is_valid_id, ActivityId, VisitorId};
use crate::sequence::SendKey;
use crate::token::Claim;
use crate::usecases::{record_activities, record_activity, Kindling};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Largest beacon body.
pub const MAX_BEACON_BYTES: usize = 16 * 1024;
/// Most events in one beacon.
pub const MAX_EVENTS_PER_BEACON: usize = 20;
/// Longest URL, title or referrer kept.
const MAX_URL_LEN: usize = 2048;
/// Client clocks may run this far ahead.
const MAX_FUTURE_SKEW_MINUTES: i64 = 5;
/// Events older than this are refused (a beacon is sent within seconds; queued ones within a day).
const MAX_AGE_HOURS: i64 = 24;

/// The 1x1 transparent GIF of the open pixel.
const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Beacon {
    visitor_id: String,
    events: Vec<BeaconEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BeaconEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    url: String,
    /// When the browser saw it; the server's time if absent.
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    referrer: Option<String>,
    #[serde(default)]
    tz: Option<String>,
}

fn invalid(index: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("events[{index}]: {message}"))
}

/// Accepts a beacon: every event is validated before anything is stored, so a bad beacon
/// changes nothing.
pub(super) async fn events(k: &Kindling, req: &Request<Bytes>) -> ApiResult {
    let body = body_within(req, MAX_BEACON_BYTES)?;
    // text/plain lets browsers send the beacon without a CORS preflight.
    if !matches!(
        media_type(req).as_str(),
        "text/plain" | "application/json" | ""
    ) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON as text/plain or application/json",
        ));
    }
    let beacon: Beacon = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed beacon: {e}")))?;
    let visitor = VisitorId::parse(&beacon.visitor_id)
        .ok_or_else(|| ApiError::bad_request("visitor_id is not a valid id"))?;
    if beacon.events.is_empty() || beacon.events.len() > MAX_EVENTS_PER_BEACON {
        return Err(ApiError::bad_request(format!(
            "a beacon carries 1 to {MAX_EVENTS_PER_BEACON} events"
        )));
    }
    let now = k.clock.now();
    let mut activities = Vec::with_capacity(beacon.events.len());
    for (i, e) in beacon.events.iter().enumerate() {
        if !is_valid_id(&e.id) {
            return Err(invalid(i, "id is not a valid id"));
        }
        if e.kind != "page_view" {
            return Err(invalid(i, format!("unknown event type {:?}", e.kind)));
        }
        if e.url.len() > MAX_URL_LEN
            || e.title.as_ref().is_some_and(|t| t.len() > MAX_URL_LEN)
            || e.referrer.as_ref().is_some_and(|r| r.len() > MAX_URL_LEN)
        {
            return Err(invalid(i, "url, title or referrer too long"));
        }
        match url::Url::parse(&e.url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => return Err(invalid(i, "url is not an absolute http(s) URL")),
        }
        let at = e.at.unwrap_or(now);
        if at > now + Duration::minutes(MAX_FUTURE_SKEW_MINUTES)
            || at < now - Duration::hours(MAX_AGE_HOURS)
        {
            return Err(invalid(i, "at is too far from the present"));
        }
        if let Some(tz) = &e.tz {
            if tz.parse::<chrono_tz::Tz>().is_err() {
                return Err(invalid(i, "tz is not an IANA time zone"));
            }
        }
        activities.push(Activity {
            // Namespaced by visitor so one browser cannot collide with another's events.
            id: ActivityId::new(format!("pv_{}", digest(&[visitor.as_str(), &e.id]))),
            subject: Subject::Visitor(visitor.clone()),
            kind: ActivityKind::PageView,
            at: at.min(now),
            attrs: Attrs {
                url: Some(e.url.clone()),
                page_category: k.config.page_category(&e.url).map(str::to_owned),
                visitor_id: Some(visitor.clone()),
                ..Attrs::default()
            },
        });
    }
    // Recorded on the visitor, whoever it turns out to be: one write and no read on this path.
    // Scoring resolves the visitor to its lead (and a lead's score reads its browsers' history).
    record_activities(k, &activities).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "accepted": activities.len() }),
    ))
}

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

fn mail_attrs(key: &SendKey, sequence_id: Option<String>) -> Attrs {
    Attrs {
        enrollment_id: Some(key.enrollment_id.clone()),
        step: Some(key.step),
        sequence_id,
        ..Attrs::default()
    }
}

/// Records an open and returns the pixel. Each fetch is its own activity; scoring counts one
/// open per mail.
pub(super) async fn open(k: &Kindling, token: &str) -> ApiResult {
    let Some(Claim::Open(key)) = k.keys.verify(token) else {
        return Err(ApiError::not_found());
    };
    let activity = Activity {
        id: ActivityId::new(format!("open_{}", k.ids.new_id())),
        subject: Subject::Lead(key.lead_id.clone()),
        kind: ActivityKind::EmailOpen,
        at: k.clock.now(),
        attrs: mail_attrs(&key, None),
    };
    record_activity(k, &activity).await?;
    Ok(response(
        StatusCode::OK,
        "image/gif",
        Bytes::from_static(PIXEL_GIF),
    ))
}

/// Records a click and redirects to the link's destination as recorded when the mail was sent.
/// The URL never comes from the request: a tampered token is a 404, not an open redirect.
pub(super) async fn click(k: &Kindling, token: &str) -> ApiResult {
    let Some(Claim::Click(key, link)) = k.keys.verify(token) else {
        return Err(ApiError::not_found());
    };
    let record = k
        .stores
        .sends
        .get_send(&key)
        .await
        .map_err(crate::Error::from)?
        .ok_or_else(ApiError::not_found)?;
    let destination = record
        .links
        .get(usize::from(link))
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    let mut attrs = mail_attrs(&key, Some(record.sequence_id.clone()));
    attrs.link = Some(link);
    attrs.url = Some(destination.clone());
    let activity = Activity {
        id: ActivityId::new(format!("click_{}", k.ids.new_id())),
        subject: Subject::Lead(key.lead_id.clone()),
        kind: ActivityKind::EmailClick,
        at: k.clock.now(),
        attrs,
    };
    record_activity(k, &activity).await?;
    let mut r: Response<Bytes> =
        response(StatusCode::FOUND, "text/plain; charset=utf-8", Bytes::new());
    let location = http::HeaderValue::from_str(&destination).map_err(|_| ApiError::not_found())?;
    r.headers_mut().insert(http::header::LOCATION, location);
    Ok(r)
}
