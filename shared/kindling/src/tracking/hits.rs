//! `GET /t/o/{token}` (open pixel) and `GET /t/c/{token}` (click redirect to the destination
//! recorded at send time): a mail's hits, classified (a person, or a machine) and recorded.

use crate::activities::classify::{classify_click, classify_open, Agent, ClickHit, Hit, Verdict};
use crate::activities::{Activity, ActivityKind, Attrs, Subject};
use crate::ids::ActivityId;
use crate::message::HIDDEN_LINK;
use crate::sending::ledger::SendRecord;
use crate::token::Claim;
use crate::tracking::record_activity;
use crate::web::{client_ip, response, ApiError, ApiResult};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Request, Response, StatusCode};

/// The 1x1 transparent GIF of the open pixel.
const PIXEL_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

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
