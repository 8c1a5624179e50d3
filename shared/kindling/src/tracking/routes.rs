//! `POST /t/events` (kindling.js beacons), `GET /t/o/{token}` (open pixel), `GET /t/c/{token}`
//! (click redirect to the destination recorded at send time).

use crate::activities::classify::{classify_click, classify_open, Agent, ClickHit, Hit, Verdict};
use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::ids::{is_valid_id, ActivityId, LeadId, VisitorId};
use crate::message::HIDDEN_LINK;
use crate::sending::ledger::SendRecord;
use crate::token::Claim;
use crate::tracking::{record_activities, record_activity};
use crate::web::{
    body_within, client_ip, json_response, media_type, response, ApiError, ApiResult,
};
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
        record_activities(&k.record, &activities).await?;
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

/// What the request shows about who sent it, with the time since the mail was sent.
fn hit_of<'a>(
    req: &'a Request<Bytes>,
    ip: &'a Option<String>,
    sent_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Hit<'a> {
    Hit {
        user_agent: req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        ip: ip.as_deref().and_then(|ip| ip.parse().ok()),
        since_send: sent_at.map(|t| now - t),
    }
}

/// What ties a hit to its mail: the message, when it was sent, and a step's sequence and
/// template.
fn message_attrs(key: &crate::message::MessageKey, record: Option<&SendRecord>) -> Attrs {
    let sequence = record.and_then(|r| r.sequence_id.clone());
    Attrs {
        template: record
            .filter(|r| r.sequence_id.is_some())
            .map(|r| r.template.clone()),
        sent_at: record.and_then(|r| r.sent_at),
        ..Attrs::of_message(key, sequence)
    }
}

fn classified(mut attrs: Attrs, verdict: Verdict) -> Attrs {
    attrs.agent = Some(verdict.agent);
    attrs.reason = Some(verdict.reason.to_owned());
    attrs
}

/// Records an open, classified (a person, or a privacy proxy or prefetcher), and returns the
/// pixel. Each fetch is its own activity; scoring counts one human open per mail.
pub(crate) async fn open(k: &super::Tracking<'_>, token: &str, req: &Request<Bytes>) -> ApiResult {
    let Some(Claim::Open(key)) = k.keys.verify(token) else {
        return Err(ApiError::not_found());
    };
    let now = k.clock.now();
    let record = k.sends.get_send(&key).await.map_err(crate::Error::from)?;
    let ip = client_ip(req);
    let verdict = classify_open(&hit_of(
        req,
        &ip,
        record.as_ref().and_then(|r| r.sent_at),
        now,
    ));
    let activity = Activity {
        id: ActivityId::new(format!("open_{}", k.ids.new_id())),
        subject: Subject::Lead(key.lead_id().clone()),
        kind: ActivityKind::EmailOpen,
        at: now,
        attrs: classified(message_attrs(&key, record.as_ref()), verdict),
    };
    record_activity(&k.record, &activity).await?;
    Ok(response(
        StatusCode::OK,
        "image/gif",
        Bytes::from_static(PIXEL_GIF),
    ))
}

/// Records a click, classified (a person, or a scanner), and redirects to the link's destination
/// as recorded when the mail was sent. The URL never comes from the request: a tampered token is
/// a 404, not an open redirect. The mail's hidden link ([`HIDDEN_LINK`]) has no destination: only
/// machines follow it, and they get a plain 200.
pub(crate) async fn click(k: &super::Tracking<'_>, token: &str, req: &Request<Bytes>) -> ApiResult {
    let Some(Claim::Click(key, link)) = k.keys.verify(token) else {
        return Err(ApiError::not_found());
    };
    let record = k
        .sends
        .get_send(&key)
        .await
        .map_err(crate::Error::from)?
        .ok_or_else(ApiError::not_found)?;
    let honeypot = link == HIDDEN_LINK;
    let destination = if honeypot {
        None
    } else {
        Some(
            record
                .links
                .get(usize::from(link))
                .cloned()
                .ok_or_else(ApiError::not_found)?,
        )
    };
    let now = k.clock.now();
    let mut attrs = message_attrs(&key, Some(&record));
    // Per hit only: bursts across the mail's links are settled from the log when scoring, so a
    // click costs one read and one write.
    let ip = client_ip(req);
    let verdict = classify_click(&ClickHit {
        hit: hit_of(req, &ip, record.sent_at, now),
        honeypot,
    });
    attrs.link = Some(link);
    attrs.url = destination.clone();
    let activity = Activity {
        id: ActivityId::new(format!("click_{}", k.ids.new_id())),
        subject: Subject::Lead(key.lead_id().clone()),
        kind: ActivityKind::EmailClick,
        at: now,
        attrs: classified(attrs, verdict),
    };
    record_activity(&k.record, &activity).await?;
    let Some(mut destination) = destination else {
        return Ok(response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"ok"),
        ));
    };
    if verdict.agent == Agent::Human {
        // kindling.js on the landing page ties this browser to the lead (scanners get no token,
        // so a sandbox that runs the page's scripts is not taken for the lead's browser).
        if let Ok(mut u) = url::Url::parse(&destination) {
            let token = k.keys.sign(&Claim::Identify(key.lead_id().clone()));
            u.query_pairs_mut().append_pair("kl_lt", &token);
            destination = u.to_string();
        }
    }
    let mut r: Response<Bytes> =
        response(StatusCode::FOUND, "text/plain; charset=utf-8", Bytes::new());
    let location = http::HeaderValue::from_str(&destination).map_err(|_| ApiError::not_found())?;
    r.headers_mut().insert(http::header::LOCATION, location);
    Ok(r)
}
