//! `POST /t/events`: kindling.js beacons. The mail's own hits (the open pixel, tracked links) are
//! in [`super::hits`].

use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::ids::{is_valid_id, ActivityId, LeadId, VisitorId};
use crate::token::Claim;
use crate::tracking::{announce_stored, store_activities};
use crate::web::{body_within, json_response, media_type, ApiError, ApiResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use http::{Request, StatusCode};
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
    /// `page_view`, `page_leave`, `form_start` or `identify`.
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
    /// `page_leave`: how long the page was visible.
    #[serde(default)]
    dwell_ms: Option<u64>,
    /// `form_start`: the form's `data-kindling-form` id.
    #[serde(default)]
    form_id: Option<String>,
    /// `identify`: the signed `kl_lt` parameter of a mail link.
    #[serde(default)]
    token: Option<String>,
}

/// Longest dwell accepted: a tab left open for a day is not a day of reading.
const MAX_DWELL_MS: u64 = 24 * 3600 * 1000;
/// Longest UTM value kept.
const MAX_UTM_LEN: usize = 100;

/// What one valid beacon event does.
enum Effect {
    Record(Box<Activity>),
    Link(LeadId),
}

fn invalid(index: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("events[{index}]: {message}"))
}

/// Accepts a beacon: every event is validated before anything is stored, so a bad beacon
/// changes nothing.
pub(crate) async fn events(k: &super::Tracking<'_>, req: &Request<Bytes>) -> ApiResult {
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
    let visitor = VisitorId::parse_external(&beacon.visitor_id).ok_or_else(|| {
        ApiError::bad_request("visitor_id is not 8 to 64 characters of A-Z a-z 0-9 _ -")
    })?;
    if beacon.events.is_empty() || beacon.events.len() > MAX_EVENTS_PER_BEACON {
        return Err(ApiError::bad_request(format!(
            "a beacon carries 1 to {MAX_EVENTS_PER_BEACON} events"
        )));
    }
    let now = k.clock.now();
    let mut effects = Vec::with_capacity(beacon.events.len());
    for (i, e) in beacon.events.iter().enumerate() {
        effects.push(validate(k, &visitor, i, e, now)?);
    }
    // Everything is valid: now act. A page event is one write (on the visitor, whoever it turns
    // out to be; scoring resolves the visitor to its lead); an identify is the visitor link.
    let mut activities = Vec::new();
    for effect in effects {
        match effect {
            Effect::Record(a) => activities.push(*a),
            Effect::Link(lead) => {
                k.visitors
                    .link_visitor(&visitor, &lead, now)
                    .await
                    .map_err(crate::Error::from)?;
            }
        }
    }
    let accepted = beacon.events.len();
    if !activities.is_empty() {
        let puts = store_activities(&k.record, &activities).await?;
        // Announced only for a browser tied to a lead: nothing consumes an anonymous browser's
        // activities until it is identified, and then scoring reads its whole log (a browser the
        // score state does not cover rebuilds it). Read after the write and strongly, so that a
        // browser tied after this read is tied by a form or identify whose rescore reads the log
        // with these activities in it.
        if k.visitors
            .lead_of_visitor(&visitor)
            .await
            .map_err(crate::Error::from)?
            .is_some()
        {
            announce_stored(&k.record, &activities, &puts).await?;
        }
    }
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "accepted": accepted }),
    ))
}

/// Checks one beacon event and says what it does, without doing it.
fn validate(
    k: &super::Tracking<'_>,
    visitor: &VisitorId,
    i: usize,
    e: &BeaconEvent,
    now: DateTime<Utc>,
) -> Result<Effect, ApiError> {
    if !is_valid_id(&e.id) {
        return Err(invalid(i, "id is not a valid id"));
    }
    if e.url.len() > MAX_URL_LEN
        || e.title.as_ref().is_some_and(|t| t.len() > MAX_URL_LEN)
        || e.referrer.as_ref().is_some_and(|r| r.len() > MAX_URL_LEN)
    {
        return Err(invalid(i, "url, title or referrer too long"));
    }
    let url = match url::Url::parse(&e.url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
        _ => return Err(invalid(i, "url is not an absolute http(s) URL")),
    };
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
    // The identity token is kindling.js's to send as `identify`, never to keep in a URL.
    let mut kept = url.clone();
    let has_token = url.query_pairs().any(|(k, _)| k == "kl_lt");
    if has_token {
        let rest: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "kl_lt")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        kept.set_query(None);
        if !rest.is_empty() {
            kept.query_pairs_mut().extend_pairs(rest);
        }
    }
    let stored = if has_token {
        kept.to_string()
    } else {
        e.url.clone()
    };
    let mut attrs = Attrs {
        page_category: k.config.page_category(&stored).map(str::to_owned),
        url: Some(stored),
        visitor_id: Some(visitor.clone()),
        ..Attrs::default()
    };
    // Namespaced by visitor so one browser cannot collide with another's events.
    let id =
        |prefix: &str| ActivityId::new(format!("{prefix}_{}", digest(&[visitor.as_str(), &e.id])));
    let (kind, id) = match e.kind.as_str() {
        "page_view" => {
            for (key, value) in url.query_pairs() {
                let value: String = value.chars().take(MAX_UTM_LEN).collect();
                match key.as_ref() {
                    "utm_source" => attrs.utm_source = Some(value),
                    "utm_medium" => attrs.utm_medium = Some(value),
                    "utm_campaign" => attrs.utm_campaign = Some(value),
                    _ => {}
                }
            }
            attrs.referrer_host = e
                .referrer
                .as_deref()
                .and_then(|r| url::Url::parse(r).ok())
                .and_then(|r| r.host_str().map(str::to_owned));
            attrs.time_zone.clone_from(&e.tz);
            (ActivityKind::PageView, id("pv"))
        }
        "page_leave" => {
            let dwell = e
                .dwell_ms
                .filter(|d| *d <= MAX_DWELL_MS)
                .ok_or_else(|| invalid(i, "page_leave needs dwell_ms of at most a day"))?;
            attrs.dwell_ms = Some(dwell);
            (ActivityKind::PageLeave, id("pl"))
        }
        "form_start" => {
            let form = e
                .form_id
                .as_deref()
                .filter(|f| is_valid_id(f))
                .ok_or_else(|| invalid(i, "form_start needs a form_id"))?;
            attrs.form_id = Some(form.into());
            (ActivityKind::FormStarted, id("fst"))
        }
        "identify" => {
            let Some(Claim::Identify(lead)) = e.token.as_deref().and_then(|t| k.keys.verify(t))
            else {
                return Err(invalid(i, "identify needs a valid token"));
            };
            return Ok(Effect::Link(lead));
        }
        other => return Err(invalid(i, format!("unknown event type {other:?}"))),
    };
    Ok(Effect::Record(Box::new(Activity {
        id,
        subject: Subject::Visitor(visitor.clone()),
        kind,
        at: at.min(now),
        attrs,
    })))
}

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}
