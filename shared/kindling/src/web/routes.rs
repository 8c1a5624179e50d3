//! Every HTTP route, declared once (re-exported as `router::routes`). The router and its 405 answers read this table, and
//! `kindling-aws` turns it into `infra/route-catalog.json`, from which the stack builds its API
//! Gateway routes, their authorization and their throttles (a test fails when that file is
//! stale), as it builds its event rules from the event catalog.

use http::Method;

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

/// What a route does: the router's dispatch key (its name in `[api] limits`: see
/// [`super::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteId {
    Beacons,
    OpenPixel,
    Click,
    UnsubscribePage,
    OneClick,
    KindlingJs,
    Form,
    AdminLead,
    AdminSalesMark,
    AdminSending,
    AdminResume,
    AdminSegments,
    AdminSegment,
    AdminKpis,
    AdminDiagnose,
    AdminReport,
    AdminBroadcasts,
    AdminBroadcastCreate,
    AdminBroadcast,
    AdminBroadcastAct,
    AdminBroadcastPreview,
    AdminSync,
    AdminSyncReplay,
    CrmHook,
}

/// Which runtime serves a route: on AWS, which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Tracking: beacons, opens, clicks, unsubscribe, kindling.js (the `track` function).
    Track,
    /// Forms and the admin routes (the `intake` function).
    Intake,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone: browsers, mail clients, receivers' one-click posts.
    Public,
    /// Operators and sales tools: IAM (SigV4) on AWS, the admin bearer token locally.
    Admin,
    /// A CRM's hooks: IAM (SigV4) on AWS, a Standard Webhooks signature by the source's secret
    /// locally (the handler checks it).
    Hook,
}

/// A limit for one route, for all clients together (API Gateway's route throttling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Requests per second, steady.
    pub rate: u32,
    /// Requests at once.
    pub burst: u32,
}

/// One route.
#[derive(Debug, Clone)]
pub struct Route {
    pub id: RouteId,
    pub method: Method,
    /// The path pattern, API Gateway's syntax: `/t/c/{token}`.
    pub path: &'static str,
    pub group: Group,
    pub auth: Auth,
    /// The route's own limit when not mail-driven (the pixel, links and preference page are:
    /// they are sized from `[api] send_rate`) and not set in `[api] limits` (what one site
    /// sends at most); `None`: the stage's. Read it through [`super::limits::Limits::throttle`].
    pub throttle: Option<Throttle>,
    /// One line for people (the catalog, the README).
    pub summary: &'static str,
}

const fn route(
    id: RouteId,
    method: Method,
    path: &'static str,
    group: Group,
    auth: Auth,
    throttle: Option<Throttle>,
    summary: &'static str,
) -> Route {
    Route {
        id,
        method,
        path,
        group,
        auth,
        throttle,
        summary,
    }
}

const fn limit(rate: u32, burst: u32) -> Option<Throttle> {
    Some(Throttle { rate, burst })
}

/// Every route Kindling serves.
pub static ROUTES: [Route; 24] = {
    use Auth::{Admin, Hook, Public};
    use Group::{Intake, Track};
    use RouteId::*;
    [
        route(
            Beacons,
            Method::POST,
            "/t/events",
            Track,
            Public,
            limit(100, 200),
            "kindling.js beacons",
        ),
        route(
            OpenPixel,
            Method::GET,
            "/t/o/{token}",
            Track,
            Public,
            None,
            "open pixel",
        ),
        route(
            Click,
            Method::GET,
            "/t/c/{token}",
            Track,
            Public,
            None,
            "tracked link: 302 to the destination recorded at send time",
        ),
        route(
            UnsubscribePage,
            Method::GET,
            "/u/{token}",
            Track,
            Public,
            None,
            "the preference page (changes nothing)",
        ),
        route(
            OneClick,
            Method::POST,
            "/u/{token}",
            Track,
            Public,
            None,
            "the preference page's save, and RFC 8058 one-click unsubscribe",
        ),
        route(
            KindlingJs,
            Method::GET,
            "/kindling.js",
            Track,
            Public,
            None,
            "the tracker",
        ),
        route(
            Form,
            Method::POST,
            "/forms/{form_id}",
            Intake,
            Public,
            limit(20, 40),
            "web form submission",
        ),
        route(
            AdminLead,
            Method::GET,
            "/admin/leads/{lead}",
            Intake,
            Admin,
            limit(5, 10),
            "the lead report",
        ),
        route(
            AdminSalesMark,
            Method::POST,
            "/admin/leads/{lead}/sales",
            Intake,
            Admin,
            limit(5, 10),
            "where sales stands with a lead",
        ),
        route(
            AdminSending,
            Method::GET,
            "/admin/sending",
            Intake,
            Admin,
            limit(5, 10),
            "the bounce/complaint breaker",
        ),
        route(
            AdminResume,
            Method::POST,
            "/admin/sending/resume",
            Intake,
            Admin,
            limit(5, 10),
            "resume step mails after the breaker paused them",
        ),
        route(
            AdminSegments,
            Method::GET,
            "/admin/segments",
            Intake,
            Admin,
            limit(5, 10),
            "every segment with its member count",
        ),
        route(
            AdminSegment,
            Method::GET,
            "/admin/segments/{segment}",
            Intake,
            Admin,
            limit(5, 10),
            "a segment: definition, count, latest changes, a page of members",
        ),
        route(
            AdminKpis,
            Method::GET,
            "/admin/kpis",
            Intake,
            Admin,
            limit(5, 10),
            "the KPIs of a range of days: totals, periods, breakdowns, stages, influence, health, targets",
        ),
        route(
            AdminDiagnose,
            Method::GET,
            "/admin/diagnose",
            Intake,
            Admin,
            limit(5, 10),
            "the 15-point checklist of the program: each item with its evidence, and a verdict",
        ),
        route(
            AdminReport,
            Method::GET,
            "/admin/report",
            Intake,
            Admin,
            limit(2, 10),
            "the KPI report page (HTML, charts embedded) of a range of days",
        ),
        route(
            AdminBroadcasts,
            Method::GET,
            "/admin/broadcasts",
            Intake,
            Admin,
            limit(5, 10),
            "every broadcast, newest first",
        ),
        route(
            AdminBroadcastCreate,
            Method::POST,
            "/admin/broadcasts",
            Intake,
            Admin,
            limit(5, 10),
            "create a broadcast (a draft; its content linted)",
        ),
        route(
            AdminBroadcast,
            Method::GET,
            "/admin/broadcasts/{broadcast}",
            Intake,
            Admin,
            limit(5, 10),
            "a broadcast: state, approval, dry run, progress, ETA",
        ),
        route(
            AdminBroadcastAct,
            Method::POST,
            "/admin/broadcasts/{broadcast}/{action}",
            Intake,
            Admin,
            limit(5, 10),
            "dry-run, approve, schedule, pause, resume, confirm, cancel, edit or test-send a broadcast",
        ),
        route(
            AdminBroadcastPreview,
            Method::GET,
            "/admin/broadcasts/{broadcast}/preview",
            Intake,
            Admin,
            limit(5, 10),
            "the exact mail of a broadcast for one lead (message/rfc822)",
        ),
        route(
            AdminSync,
            Method::GET,
            "/admin/sync",
            Intake,
            Admin,
            limit(5, 10),
            "the CRM sync's health: backlog, last success, failures with reasons",
        ),
        route(
            AdminSyncReplay,
            Method::POST,
            "/admin/sync/replay",
            Intake,
            Admin,
            limit(2, 5),
            "deliver dead CRM upserts again: one by id, or every dead one",
        ),
        route(
            CrmHook,
            Method::POST,
            "/hooks/crm/{source}",
            Intake,
            Hook,
            limit(20, 40),
            "a CRM's update of a lead: sales status, owner, deal amount, BANT",
        ),
    ]
};
