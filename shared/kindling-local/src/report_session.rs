//! The KPI report in a browser, from `kindling serve`, without the admin token in a URL: an
//! admin (bearer token) asks `POST /admin/report/link` for a one-time link (`kindling report
//! --open --api <url>` prints it); the browser opens `/admin/report?ticket=...` within
//! [`TICKET_TTL`], the ticket is spent and exchanged for a session cookie (`HttpOnly`,
//! `SameSite=Strict`, path `/admin/report`, [`SESSION_TTL`]), and the browser is sent on to
//! `/admin/report` with nothing in its address. `GET /admin/report` answers the report to a
//! valid session or the bearer token, and a 401 page with no figures to anyone else. Tickets and
//! sessions live in the server's memory: a restart signs everyone out.

use crate::app::LocalApp;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a one-time link may wait to be opened.
pub const TICKET_TTL: Duration = Duration::seconds(60);
/// How long a report session lasts.
pub const SESSION_TTL: Duration = Duration::hours(1);
/// The session cookie's name.
pub const COOKIE: &str = "kl_report";
/// The report's path.
pub const PATH: &str = "/admin/report";

/// Open tickets and sessions, each with when it expires.
#[derive(Default)]
pub struct Sessions {
    tickets: Mutex<HashMap<String, DateTime<Utc>>>,
    sessions: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Sessions {
    /// A new one-time ticket.
    pub fn ticket(&self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let t = crate::keys::random_token();
        let expires = now + TICKET_TTL;
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.retain(|_, exp| *exp > now);
        tickets.insert(t.clone(), expires);
        (t, expires)
    }

    /// Spends a ticket for a new session, if it is open.
    fn exchange(&self, ticket: &str, now: DateTime<Utc>) -> Option<String> {
        let spent = self
            .tickets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(ticket)?;
        if spent <= now {
            return None;
        }
        let id = crate::keys::random_token();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, exp| *exp > now);
        sessions.insert(id.clone(), now + SESSION_TTL);
        Some(id)
    }

    fn valid(&self, id: &str, now: DateTime<Utc>) -> bool {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .is_some_and(|exp| *exp > now)
    }
}

fn cookie(req: &http::Request<Bytes>) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

fn ticket_of(req: &http::Request<Bytes>) -> Option<String> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
}

fn page(status: http::StatusCode, body: String) -> http::Response<Bytes> {
    kindling::web::html_page(status, body)
}

fn refused() -> http::Response<Bytes> {
    page(
        http::StatusCode::UNAUTHORIZED,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Kindling</title></head><body><p>This report link has expired or was already used. Ask for a new one: <code>kindling report --open --api &lt;this server&gt;</code>.</p></body></html>".to_owned(),
    )
}

/// `POST /admin/report/link` (the caller is an admin): `201 {"url", "expires_at"}`.
pub fn link(app: &LocalApp) -> http::Response<Bytes> {
    let (ticket, expires) = app.report_sessions.ticket(app.kindling.clock.now());
    let body = serde_json::json!({
        "url": format!("{PATH}?ticket={ticket}"),
        "expires_at": expires,
    });
    let mut res = http::Response::new(Bytes::from(body.to_string()));
    *res.status_mut() = http::StatusCode::CREATED;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    res
}

/// `GET /admin/report`: a ticket is exchanged for a session (303 to the bare path); a valid
/// session or the admin token gets the report (the domain's route: `since`, `until` and
/// `period` as `kindling kpis` takes them, the last 12 weeks by default); anyone else a 401
/// page.
pub async fn report(
    app: &LocalApp,
    req: http::Request<Bytes>,
    admin: bool,
) -> http::Response<Bytes> {
    let now = app.kindling.clock.now();
    if let Some(ticket) = ticket_of(&req) {
        let Some(session) = app.report_sessions.exchange(&ticket, now) else {
            return refused();
        };
        let mut res = page(http::StatusCode::SEE_OTHER, String::new());
        let h = res.headers_mut();
        h.insert(http::header::LOCATION, http::HeaderValue::from_static(PATH));
        let set = format!(
            "{COOKIE}={session}; Path={PATH}; HttpOnly; SameSite=Strict; Max-Age={}",
            SESSION_TTL.num_seconds()
        );
        if let Ok(v) = http::HeaderValue::from_str(&set) {
            h.insert(http::header::SET_COOKIE, v);
        }
        return res;
    }
    let session = cookie(&req).is_some_and(|id| app.report_sessions.valid(&id, now));
    if !(session || admin) {
        return refused();
    }
    // The domain's route: the same page, query and answers as on AWS.
    kindling::router::handle(&app.kindling, kindling::router::Routes::All, req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_ticket_opens_one_session_within_its_minute_and_a_session_lasts_an_hour() {
        let s = Sessions::default();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let (ticket, expires) = s.ticket(t0);
        assert_eq!(expires, t0 + TICKET_TTL);
        let id = s.exchange(&ticket, t0 + Duration::seconds(59)).unwrap();
        assert!(s.exchange(&ticket, t0).is_none(), "spent");
        assert!(s.valid(&id, t0 + Duration::minutes(59)));
        assert!(!s.valid(&id, t0 + Duration::seconds(59) + SESSION_TTL));
        assert!(!s.valid("forged", t0));
        let (late, _) = s.ticket(t0);
        assert!(s.exchange(&late, t0 + TICKET_TTL).is_none(), "expired");
        assert!(
            s.exchange(&late, t0).is_none(),
            "an expired ticket is spent too"
        );
    }
}
