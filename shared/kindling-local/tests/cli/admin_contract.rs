//! The admin contract suite: every admin operation, run on the local store in process and over
//! HTTP against a server of the same store (the local server's entry and admin token), must give
//! the same answer or the same error, kind and message. Two levels:
//!
//! - typed: two copies of the demo's store, each on a manual clock at the same instant and the
//!   same sequential ids, so the answers are equal to the byte; a backend whose answer is
//!   changed is caught (`a_changed_backend_is_caught`);
//! - the CLI: every admin command, on a copy of the store and with `--api` against a server of
//!   another copy, prints the same text, JSON, warnings and errors and exits the same (times,
//!   which two runs a moment apart cannot share, are masked).

use crate::support::{copy_dir, kindling, ran, shipped, Ran};
use bytes::Bytes;
use kindling::admin::interface::{
    Actor, Admin, Amount, AudienceSpec, BroadcastRow, ContentSpec, CreateBroadcast, Created,
    EditBroadcast, MarkLead, Marked, PartSpec, ResumeSending, SegmentPage, TestBroadcast,
};
use kindling::admin::segments::{SegmentSummary, SegmentView};
use kindling::admin::{InProcess, LeadReport};
use kindling::broadcasts::moves::Move;
use kindling::broadcasts::status::Status;
use kindling::broadcasts::test_send::TestReport;
use kindling::deliverability::{Resumed, SendingStatus};
use kindling::kpis::{KpiQuery, KpiReport};
use kindling::testing::{ManualClock, SequentialIds};
use kindling_local::app::LocalApp;
use kindling_local::http_admin::HttpAdmin;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

const TOKEN: &str = "admin-contract-token-0123456789";
const LEAD: &str = "tanaka@kaisha-b.co.jp";

/// The demo's store in `dir`.
async fn demo_store(dir: &Path) {
    let config = kindling::Config::load(&shipped()).unwrap();
    let scenario =
        kindling_local::demo::scenario::Scenario::parse(kindling_local::demo::scenario::DEFAULT)
            .unwrap();
    kindling_local::demo::run(config, &scenario, dir, false)
        .await
        .unwrap();
    // One signing key for every copy, so that their links are signed alike.
    kindling_local::keys::load_or_create(dir).unwrap();
}

/// An app over the store in `dir`, on a manual clock when `at` is given.
fn open(dir: &Path, at: Option<chrono::DateTime<chrono::Utc>>) -> LocalApp {
    let config = kindling::Config::load(&shipped()).unwrap();
    let keys = kindling_local::keys::load_or_create(dir).unwrap();
    let (clock, ids): (
        Arc<dyn kindling::ports::Clock>,
        Arc<dyn kindling::ports::Ids>,
    ) = match at {
        Some(t) => (
            Arc::new(ManualClock::new(t)),
            Arc::new(SequentialIds::new("c")),
        ),
        None => (
            Arc::new(kindling::system::SystemClock),
            Arc::new(kindling::system::UuidIds),
        ),
    };
    let mut app = LocalApp::open(dir, config, keys, clock, ids, false).unwrap();
    app.admin_token = Arc::new(TOKEN.into());
    app
}

/// Serves `app` on loopback as `kindling serve` does (its HTTP entry, the admin token, the bus
/// pumped after each request), without the scheduler, so both copies stay alike.
async fn serve(app: LocalApp) -> String {
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let app = app.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let res = app.http(http::Request::from_parts(parts, body)).await;
            app.pump().await.unwrap();
            let (p, b) = res.into_parts();
            axum::response::Response::from_parts(p, axum::body::Body::from(b))
        }
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// An answer as compared: `{"ok": ...}`, or `{"err": kind, "message": ...}`.
fn outcome<T: serde::Serialize>(r: kindling::Result<T>) -> Value {
    match r {
        Ok(v) => json!({ "ok": serde_json::to_value(v).unwrap() }),
        Err(e) => {
            let kind = match &e {
                kindling::Error::Invalid(_) => "invalid",
                kindling::Error::NotFound(_) => "not_found",
                kindling::Error::Refused(_) => "refused",
                _ => "port",
            };
            json!({ "err": kind, "message": e.to_string() })
        }
    }
}

/// A mail as compared: what a person sees (its MIME boundary is drawn at each build).
fn mail(raw: kindling::Result<Vec<u8>>) -> kindling::Result<Value> {
    raw.map(|raw| {
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        json!({
            "subject": m.subject(),
            "to": format!("{:?}", m.to()),
            "text": m.body_text(0),
            "html": m.body_html(0),
        })
    })
}

fn create(id: &str) -> CreateBroadcast {
    CreateBroadcast {
        id: Some(id.into()),
        name: "December".into(),
        audience: AudienceSpec::All,
        content: ContentSpec {
            template: Some("it_newsletter".into()),
            parts: None,
        },
        at: "2030-12-08 10:00".into(),
        local: true,
        topic: Some("newsletter".into()),
        ab: None,
        by: Some("alice".into()),
    }
}

fn by(who: &str) -> Actor {
    Actor {
        by: Some(who.into()),
    }
}

/// Every admin operation, good and bad, in an order that walks a broadcast through its life;
/// each outcome labelled. `pump` delivers what a change published (the server does it itself).
async fn contract(admin: &dyn Admin, pump: Option<&LocalApp>) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    macro_rules! op {
        ($label:expr, $call:expr) => {{
            let v = outcome($call.await);
            if let Some(app) = pump {
                app.pump().await.unwrap();
            }
            out.push(($label.to_string(), v));
        }};
    }
    let page = |after: Option<&str>, limit: Option<usize>| SegmentPage {
        after: after.map(str::to_owned),
        limit,
    };

    op!("segments", admin.segments());
    op!(
        "segment",
        admin.segment("it_decision_makers", &SegmentPage::default())
    );
    let first: kindling::Result<SegmentView> = admin
        .segment("it_decision_makers", &page(None, Some(1)))
        .await;
    let next = first.as_ref().ok().and_then(|v| v.next.clone());
    out.push(("segment page 1".into(), outcome(first)));
    op!(
        "segment page 2",
        admin.segment("it_decision_makers", &page(next.as_deref(), Some(1)))
    );
    op!(
        "segment unknown",
        admin.segment("nope", &SegmentPage::default())
    );
    op!(
        "segment bad cursor",
        admin.segment("it_decision_makers", &page(Some("x"), None))
    );
    op!(
        "segment limit 0",
        admin.segment("it_decision_makers", &page(None, Some(0)))
    );
    op!(
        "segment limit 501",
        admin.segment("it_decision_makers", &page(None, Some(501)))
    );

    op!("lead", admin.lead(LEAD));
    op!("lead unknown", admin.lead("nobody@example.jp"));
    op!("lead malformed", admin.lead("not a lead!"));
    let mark = |status: &str, note: Option<&str>| MarkLead {
        status: status.into(),
        note: note.map(str::to_owned),
        amount: None,
        currency: None,
    };
    op!(
        "mark",
        admin.mark_lead(LEAD, &mark("working", Some("call booked")))
    );
    op!(
        "mark again",
        admin.mark_lead(LEAD, &mark("working", Some("call booked")))
    );
    op!("mark bad status", admin.mark_lead(LEAD, &mark("hot", None)));
    op!(
        "mark long note",
        admin.mark_lead(LEAD, &mark("won", Some(&"x".repeat(501))))
    );
    op!(
        "mark unknown",
        admin.mark_lead("nobody@example.jp", &mark("won", None))
    );
    let deal = |status: &str, amount: &str, currency: Option<&str>| MarkLead {
        status: status.into(),
        note: None,
        amount: Some(Amount::Text(amount.into())),
        currency: currency.map(str::to_owned),
    };
    op!(
        "mark opportunity with an amount",
        admin.mark_lead(LEAD, &deal("opportunity", "1500000", None))
    );
    op!(
        "mark won with an amount and currency",
        admin.mark_lead(LEAD, &deal("won", "1234.50", Some("USD")))
    );
    op!(
        "mark working with an amount",
        admin.mark_lead(LEAD, &deal("working", "10", None))
    );
    op!(
        "mark won with three decimals",
        admin.mark_lead(LEAD, &deal("won", "1.234", None))
    );
    op!(
        "mark won with a bad currency",
        admin.mark_lead(LEAD, &deal("won", "10", Some("yen")))
    );
    op!("lead after mark", admin.lead(LEAD));

    let kq =
        |since: Option<&str>, until: Option<&str>, period: Option<&str>, by: &[&str]| KpiQuery {
            since: since.map(str::to_owned),
            until: until.map(str::to_owned),
            period: period.map(str::to_owned),
            by: by.iter().map(|s| s.to_string()).collect(),
        };
    op!("kpis", admin.kpis(&kq(None, None, None, &[])));
    op!("diagnose", admin.diagnose());
    op!(
        "report",
        admin.report(&kq(Some("2026-10-01"), None, None, &[]))
    );
    op!(
        "report bad period",
        admin.report(&kq(None, None, Some("day"), &[]))
    );
    op!(
        "kpis by month with breakdowns",
        admin.kpis(&kq(
            Some("2026-01-01"),
            Some("2026-12-31"),
            Some("month"),
            &["sequence", "step", "form", "campaign", "stage"]
        ))
    );
    op!(
        "kpis bad day",
        admin.kpis(&kq(Some("2026-13-01"), None, None, &[]))
    );
    op!(
        "kpis since after until",
        admin.kpis(&kq(Some("2026-12-01"), Some("2026-11-01"), None, &[]))
    );
    op!(
        "kpis bad period",
        admin.kpis(&kq(None, None, Some("day"), &[]))
    );
    op!(
        "kpis bad breakdown",
        admin.kpis(&kq(None, None, None, &["colour"]))
    );
    op!(
        "kpis too long",
        admin.kpis(&kq(Some("2020-01-01"), Some("2026-12-01"), None, &[]))
    );

    op!("sending", admin.sending());
    let replay = |id: Option<&str>, dead: bool| kindling::admin::interface::ReplaySync {
        id: id.map(str::to_owned),
        dead,
    };
    op!(
        "sync replay neither",
        admin.replay_sync(&replay(None, false))
    );
    op!(
        "sync replay both",
        admin.replay_sync(&replay(Some("crm_x"), true))
    );
    op!(
        "sync replay unknown",
        admin.replay_sync(&replay(Some("crm_x"), false))
    );
    op!("sync replay dead", admin.replay_sync(&replay(None, true)));
    let note = ResumeSending {
        note: Some("list cleaned".into()),
    };
    op!("resume", admin.resume_sending(&note));
    let long = ResumeSending {
        note: Some("y".repeat(501)),
    };
    op!("resume long note", admin.resume_sending(&long));
    op!("sending after resume", admin.sending());

    op!("broadcasts", admin.broadcasts());
    op!("create", admin.create_broadcast(&create("contract-nl")));
    op!(
        "create again",
        admin.create_broadcast(&create("contract-nl"))
    );
    let mut bad = create("bad-1");
    bad.at = "tomorrow".into();
    op!("create bad time", admin.create_broadcast(&bad));
    let mut bad = create("bad-2");
    bad.audience = AudienceSpec::Segment {
        segment: "nope".into(),
    };
    op!("create unknown segment", admin.create_broadcast(&bad));
    let mut bad = create("bad-3");
    bad.by = None;
    op!("create without actor", admin.create_broadcast(&bad));
    let mut bad = create("bad-4");
    bad.content.template = Some("nope".into());
    op!("create unknown template", admin.create_broadcast(&bad));
    let mut bad = create("bad-5");
    bad.content = ContentSpec {
        template: None,
        parts: Some(
            [(
                "ja".to_string(),
                PartSpec {
                    txt: "Subject: {{ lead.name }}\n\nHello".into(),
                    html: "<p><a href=\"https://example.com/\">x</a></p>".into(),
                },
            )]
            .into(),
        ),
    };
    op!(
        "create content failing the lint",
        admin.create_broadcast(&bad)
    );
    let mut bad = create("bad 6");
    bad.topic = Some("no such".into());
    op!("create bad id", admin.create_broadcast(&bad));
    op!("broadcasts after create", admin.broadcasts());

    op!("show", admin.broadcast("contract-nl"));
    op!("show unknown", admin.broadcast("nope"));
    op!("show malformed", admin.broadcast("not an id!"));
    op!(
        "approve before a dry run",
        admin.move_broadcast("contract-nl", Move::Approve, &by("bob"))
    );
    op!(
        "dry run before an edit",
        admin.move_broadcast("contract-nl", Move::DryRun, &by("bob"))
    );
    let edit = EditBroadcast {
        name: Some("December (fixed)".into()),
        by: Some("alice".into()),
        ..EditBroadcast::default()
    };
    op!("edit", admin.edit_broadcast("contract-nl", &edit));
    op!(
        "approve after an edit",
        admin.move_broadcast("contract-nl", Move::Approve, &by("bob"))
    );
    let bad_edit = EditBroadcast {
        local: Some(true),
        by: Some("alice".into()),
        ..EditBroadcast::default()
    };
    op!(
        "edit local without at",
        admin.edit_broadcast("contract-nl", &bad_edit)
    );
    op!("edit unknown", admin.edit_broadcast("nope", &edit));
    for mv in [
        Move::DryRun,
        Move::Approve,
        Move::Schedule,
        Move::Pause,
        Move::Resume,
        Move::Confirm,
    ] {
        op!(
            format!("{mv:?}"),
            admin.move_broadcast("contract-nl", mv, &by("bob"))
        );
    }
    op!(
        "move without actor",
        admin.move_broadcast("contract-nl", Move::Pause, &Actor::default())
    );
    op!(
        "move unknown",
        admin.move_broadcast("nope", Move::Pause, &by("bob"))
    );

    let v = outcome(mail(admin.preview_broadcast("contract-nl", LEAD).await));
    out.push(("preview".into(), v));
    let v = outcome(mail(
        admin
            .preview_broadcast("contract-nl", "someone@else.example")
            .await,
    ));
    out.push(("preview sample".into(), v));
    op!(
        "preview bad address",
        admin.preview_broadcast("contract-nl", "nobody")
    );
    let test = |to: &[&str], as_lead: Option<&str>| TestBroadcast {
        to: to.iter().map(|s| (*s).to_owned()).collect(),
        as_lead: as_lead.map(str::to_owned),
        by: Some("alice".into()),
    };
    op!(
        "test send",
        admin.test_broadcast("contract-nl", &test(&[], None))
    );
    op!(
        "test send as a lead",
        admin.test_broadcast("contract-nl", &test(&["review@example.jp"], Some(LEAD)))
    );
    op!(
        "test send outside the list",
        admin.test_broadcast("contract-nl", &test(&["outsider@example.jp"], None))
    );
    op!(
        "test send as nobody",
        admin.test_broadcast("contract-nl", &test(&[], Some("nobody@example.jp")))
    );
    op!(
        "cancel",
        admin.move_broadcast("contract-nl", Move::Cancel, &by("bob"))
    );
    op!(
        "cancel again",
        admin.move_broadcast("contract-nl", Move::Cancel, &by("bob"))
    );
    op!("broadcasts at the end", admin.broadcasts());
    out
}

/// Where two runs of the contract differ, by label.
fn differences(a: &[(String, Value)], b: &[(String, Value)]) -> Vec<String> {
    let mut out = Vec::new();
    if a.len() != b.len() {
        out.push(format!("{} outcomes against {}", a.len(), b.len()));
    }
    for ((label, x), (_, y)) in a.iter().zip(b) {
        if x != y {
            out.push(format!("{label}:\n  in process: {x}\n  over HTTP:  {y}"));
        }
    }
    out
}

/// Two copies of the demo's store: one in process, one served; both at the same instant.
async fn twins() -> (tempfile::TempDir, LocalApp, HttpAdmin) {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    demo_store(&demo).await;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    copy_dir(&demo, &a);
    copy_dir(&demo, &b);
    let at = "2026-11-20T01:00:00Z".parse().unwrap();
    let url = serve(open(&b, Some(at))).await;
    let http = HttpAdmin::connect(&url, Some(TOKEN.into())).await.unwrap();
    (tmp, open(&a, Some(at)), http)
}

fn find<'a>(outcomes: &'a [(String, Value)], label: &str) -> &'a Value {
    &outcomes.iter().find(|(l, _)| l == label).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_operation_answers_the_same_in_process_and_over_http() {
    let (_tmp, local, http) = twins().await;
    let here = contract(&InProcess::new(&local.kindling), Some(&local)).await;
    let there = contract(&http, None).await;
    let diff = differences(&here, &there);
    assert!(diff.is_empty(), "{}", diff.join("\n"));

    // And the answers are the right ones.
    let kind = |label: &str| {
        let v = find(&here, label);
        v["err"].as_str().unwrap_or("ok").to_owned()
    };
    for (label, want) in [
        ("segments", "ok"),
        ("segment page 2", "ok"),
        ("segment unknown", "not_found"),
        ("segment bad cursor", "invalid"),
        ("segment limit 0", "invalid"),
        ("segment limit 501", "invalid"),
        ("lead", "ok"),
        ("lead unknown", "not_found"),
        ("lead malformed", "invalid"),
        ("mark", "ok"),
        ("mark again", "ok"),
        ("mark bad status", "invalid"),
        ("mark long note", "invalid"),
        ("mark unknown", "not_found"),
        ("mark opportunity with an amount", "ok"),
        ("mark won with an amount and currency", "ok"),
        ("mark working with an amount", "invalid"),
        ("mark won with three decimals", "invalid"),
        ("mark won with a bad currency", "invalid"),
        ("kpis", "ok"),
        ("diagnose", "ok"),
        ("report", "ok"),
        ("report bad period", "invalid"),
        ("kpis by month with breakdowns", "ok"),
        ("kpis bad day", "invalid"),
        ("kpis since after until", "invalid"),
        ("kpis bad period", "invalid"),
        ("kpis bad breakdown", "invalid"),
        ("kpis too long", "invalid"),
        ("resume", "ok"),
        ("resume long note", "invalid"),
        ("create", "ok"),
        ("create again", "refused"),
        ("create bad time", "invalid"),
        ("create unknown segment", "invalid"),
        ("create without actor", "invalid"),
        ("create unknown template", "invalid"),
        ("create content failing the lint", "invalid"),
        ("create bad id", "invalid"),
        ("show unknown", "not_found"),
        ("show malformed", "invalid"),
        ("approve before a dry run", "refused"),
        ("dry run before an edit", "ok"),
        ("edit", "ok"),
        ("approve after an edit", "refused"),
        ("edit local without at", "invalid"),
        ("edit unknown", "not_found"),
        ("DryRun", "ok"),
        ("Approve", "ok"),
        ("Schedule", "ok"),
        ("Pause", "ok"),
        ("Resume", "ok"),
        ("Confirm", "refused"),
        ("move without actor", "invalid"),
        ("move unknown", "not_found"),
        ("preview", "ok"),
        ("preview sample", "ok"),
        ("preview bad address", "invalid"),
        ("test send", "ok"),
        ("test send as a lead", "ok"),
        ("test send outside the list", "invalid"),
        ("test send as nobody", "not_found"),
        ("cancel", "ok"),
        ("cancel again", "refused"),
    ] {
        assert_eq!(kind(label), want, "{label}: {}", find(&here, label));
    }
    let pages = [find(&here, "segment page 1"), find(&here, "segment page 2")];
    assert_ne!(
        pages[0]["ok"]["members"], pages[1]["ok"]["members"],
        "the cursor moves on"
    );
    let page = find(&here, "report")["ok"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("id=\"kpis\""),
        "the report page, with its data: {:.200}",
        page
    );
    let sales = &find(&here, "lead after mark")["ok"]["lead"]["sales"];
    assert_eq!(sales["status"], "won");
    assert_eq!(
        sales["amount"],
        json!({"currency": "USD", "hundredths": 123450})
    );
    let lint = find(&here, "create content failing the lint")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        lint.contains("is not tracked") && lint.contains("does not render"),
        "the lint names both problems: {lint}"
    );
    let test = &find(&here, "test send")["ok"];
    assert_eq!(
        test["sent"],
        json!(["marketing@example.jp", "review@example.jp"])
    );
    let rows = find(&here, "broadcasts at the end")["ok"]
        .as_array()
        .unwrap();
    assert!(rows
        .iter()
        .any(|r| r["id"] == "contract-nl" && r["state"] == "cancelled"));
}

/// A backend whose answer to one operation is changed: the HTTP one, with one segment's count
/// off by one.
struct Changed<'a>(&'a dyn Admin);

#[async_trait::async_trait]
impl Admin for Changed<'_> {
    async fn lead(&self, lead: &str) -> kindling::Result<LeadReport> {
        self.0.lead(lead).await
    }
    async fn mark_lead(&self, lead: &str, mark: &MarkLead) -> kindling::Result<Marked> {
        self.0.mark_lead(lead, mark).await
    }
    async fn sending(&self) -> kindling::Result<SendingStatus> {
        self.0.sending().await
    }
    async fn kpis(&self, q: &KpiQuery) -> kindling::Result<KpiReport> {
        self.0.kpis(q).await
    }
    async fn diagnose(&self) -> kindling::Result<kindling::admin::diagnose::Diagnosis> {
        self.0.diagnose().await
    }
    async fn report(&self, q: &KpiQuery) -> kindling::Result<String> {
        self.0.report(q).await
    }
    async fn resume_sending(&self, r: &ResumeSending) -> kindling::Result<Resumed> {
        self.0.resume_sending(r).await
    }
    async fn segments(&self) -> kindling::Result<Vec<SegmentSummary>> {
        let mut list = self.0.segments().await?;
        if let Some(first) = list.first_mut() {
            first.count += 1;
        }
        Ok(list)
    }
    async fn segment(&self, s: &str, p: &SegmentPage) -> kindling::Result<SegmentView> {
        self.0.segment(s, p).await
    }
    async fn broadcasts(&self) -> kindling::Result<Vec<BroadcastRow>> {
        self.0.broadcasts().await
    }
    async fn broadcast(&self, b: &str) -> kindling::Result<Status> {
        self.0.broadcast(b).await
    }
    async fn create_broadcast(&self, c: &CreateBroadcast) -> kindling::Result<Created> {
        self.0.create_broadcast(c).await
    }
    async fn edit_broadcast(&self, b: &str, e: &EditBroadcast) -> kindling::Result<Status> {
        self.0.edit_broadcast(b, e).await
    }
    async fn move_broadcast(&self, b: &str, mv: Move, by: &Actor) -> kindling::Result<Status> {
        self.0.move_broadcast(b, mv, by).await
    }
    async fn preview_broadcast(&self, b: &str, lead: &str) -> kindling::Result<Vec<u8>> {
        self.0.preview_broadcast(b, lead).await
    }
    async fn test_broadcast(&self, b: &str, t: &TestBroadcast) -> kindling::Result<TestReport> {
        self.0.test_broadcast(b, t).await
    }
    async fn sync_status(&self) -> kindling::Result<kindling::crm::ports::SyncStatus> {
        self.0.sync_status().await
    }
    async fn replay_sync(
        &self,
        r: &kindling::admin::interface::ReplaySync,
    ) -> kindling::Result<kindling::admin::interface::Replayed> {
        self.0.replay_sync(r).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_backend_is_caught() {
    let (_tmp, local, http) = twins().await;
    let here = contract(&InProcess::new(&local.kindling), Some(&local)).await;
    let there = contract(&Changed(&http), None).await;
    let diff = differences(&here, &there);
    assert_eq!(diff.len(), 1, "{}", diff.join("\n"));
    assert!(diff[0].starts_with("segments:"), "{}", diff[0]);
}

/// Output with its times masked: two runs a moment apart print different instants.
fn masked(text: &str) -> String {
    static TIME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = TIME.get_or_init(|| {
        regex::Regex::new(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?( [A-Z]{2,5})?",
        )
        .unwrap()
    });
    re.replace_all(text, "<time>")
        .lines()
        // A mail's Date, Message-ID and MIME boundaries are made at each build.
        .filter(|l| !l.starts_with("Date:") && !l.contains("boundary") && !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn cli(args: &[&str], data: Option<&Path>, api: Option<&str>) -> Ran {
    let mut c = kindling();
    c.arg("--config")
        .arg(shipped())
        .args(args)
        .env("KINDLING_USER", "alice");
    if let Some(d) = data {
        c.arg("--data-dir").arg(d);
    }
    if let Some(url) = api {
        c.arg("--api").arg(url).env("KINDLING_ADMIN_TOKEN", TOKEN);
    }
    let mut r = ran(&mut c);
    r.stdout = masked(&r.stdout);
    r.stderr = masked(&r.stderr);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_command_prints_and_exits_the_same_locally_and_with_api() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    demo_store(&demo).await;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    copy_dir(&demo, &a);
    copy_dir(&demo, &b);
    let url = serve(open(&b, None)).await;
    let content = tmp.path().join("content");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::write(
        content.join("ja.txt"),
        "Subject: {{ lead.name or \"皆様\" }}へ\n\n本文",
    )
    .unwrap();
    std::fs::write(
        content.join("ja.html"),
        "<p>本文 <a href=\"https://example.com/\">x</a></p>",
    )
    .unwrap();
    let content = content.to_str().unwrap().to_owned();
    let report = tmp.path().join("report.html");
    let report = report.to_str().unwrap().to_owned();
    let create = [
        "broadcast",
        "create",
        "--id",
        "cli-nl",
        "--name",
        "December",
        "--segment",
        "it_decision_makers",
        "--template",
        "it_newsletter",
        "--at",
        "2030-12-08 10:00",
        "--local",
        "--topic",
        "newsletter",
        "--ab-subject",
        "B: 12月号のお知らせ",
    ];
    let commands: Vec<(Vec<&str>, i32)> = vec![
        (vec!["lead", "show", LEAD], 0),
        (vec!["lead", "show", LEAD, "--json"], 0),
        (vec!["lead", "show", "nobody@example.jp"], 3),
        (vec!["lead", "show", "not a lead!"], 2),
        (vec!["lead", "mark", LEAD, "won", "--note", "signed"], 0),
        (vec!["lead", "mark", LEAD, "hot"], 2),
        (vec!["lead", "mark", "nobody@example.jp", "won"], 3),
        (vec!["lead", "mark", LEAD, "won", "--amount", "1500000"], 0),
        (vec!["lead", "mark", LEAD, "lost", "--amount", "10"], 2),
        (vec!["kpis"], 0),
        (vec!["kpis", "--json"], 0),
        (
            vec![
                "kpis",
                "--since",
                "2026-01-01",
                "--period",
                "month",
                "--by",
                "sequence,form",
            ],
            0,
        ),
        (vec!["kpis", "--since", "2026-02-30"], 2),
        (vec!["kpis", "--by", "colour"], 2),
        (vec!["diagnose"], 0),
        (vec!["report", "--out", &report, "--since", "2026-10-01"], 0),
        (vec!["report", "--out", &report, "--period", "day"], 2),
        (vec!["diagnose", "--json"], 0),
        (vec!["sending"], 0),
        (vec!["sending", "--json"], 0),
        (vec!["sending", "resume", "--note", "list cleaned"], 0),
        (vec!["sending", "resume", "--json"], 0),
        (vec!["segment", "list"], 0),
        (vec!["segment", "list", "--json"], 0),
        (vec!["segment", "show", "it_decision_makers"], 0),
        (vec!["segment", "show", "it_decision_makers", "--json"], 0),
        (vec!["segment", "members", "it_decision_makers"], 0),
        (
            vec!["segment", "members", "it_decision_makers", "--json"],
            0,
        ),
        (vec!["segment", "show", "nope"], 3),
        (vec!["broadcast", "list"], 0),
        (create.to_vec(), 0),
        (create.to_vec(), 4),
        (
            vec![
                "broadcast",
                "create",
                "--id",
                "dir-nl",
                "--name",
                "x",
                "--all",
                "--template",
                &content,
                "--at",
                "2030-12-08 10:00",
                "--topic",
                "newsletter",
            ],
            2,
        ),
        (
            vec![
                "broadcast",
                "create",
                "--name",
                "x",
                "--all",
                "--template",
                "it_newsletter",
                "--at",
                "tomorrow",
                "--topic",
                "newsletter",
            ],
            2,
        ),
        (vec!["broadcast", "list"], 0),
        (vec!["broadcast", "list", "--json"], 0),
        (vec!["broadcast", "show", "cli-nl"], 0),
        (vec!["broadcast", "show", "cli-nl", "--json"], 0),
        (vec!["broadcast", "show", "nope"], 3),
        (vec!["broadcast", "approve", "cli-nl"], 4),
        (
            vec!["broadcast", "edit", "cli-nl", "--name", "December (fixed)"],
            0,
        ),
        (vec!["broadcast", "edit", "cli-nl", "--no-ab", "--json"], 0),
        (vec!["broadcast", "dry-run", "cli-nl"], 0),
        (vec!["broadcast", "approve", "cli-nl", "--by", "bob"], 0),
        (vec!["broadcast", "schedule", "cli-nl"], 0),
        (vec!["broadcast", "pause", "cli-nl"], 0),
        (vec!["broadcast", "resume", "cli-nl", "--json"], 0),
        (vec!["broadcast", "confirm", "cli-nl"], 4),
        (vec!["broadcast", "preview", "cli-nl", "--lead", LEAD], 0),
        (
            vec!["broadcast", "preview", "cli-nl", "--lead", "nobody"],
            2,
        ),
        (vec!["broadcast", "test", "cli-nl"], 0),
        (
            vec!["broadcast", "test", "cli-nl", "--json", "--as", LEAD],
            0,
        ),
        (
            vec!["broadcast", "test", "cli-nl", "--to", "outsider@example.jp"],
            2,
        ),
        (vec!["broadcast", "cancel", "cli-nl"], 0),
        (vec!["broadcast", "cancel", "cli-nl"], 4),
    ];
    for (args, code) in &commands {
        let here = cli(args, Some(&a), None);
        let there = cli(args, Some(&b), Some(&url));
        assert_eq!(here, there, "{args:?}");
        assert_eq!(here.code, *code, "{args:?}: {here:?}");
        if *code != 0 {
            assert!(
                here.stderr.starts_with("error: ") && !here.stderr.contains("stack backtrace"),
                "{args:?}: an error is a message: {}",
                here.stderr
            );
        }
    }
}

#[test]
fn local_commands_refuse_api_and_say_why() {
    for args in [
        vec!["check"],
        vec!["scenario"],
        vec!["demo"],
        vec!["rescore", "--dry-run"],
        vec!["ab"],
        vec!["preview", "document_followup", "0", "--lead", LEAD],
        vec!["segment", "rebuild", "--dry-run"],
        vec!["broadcast", "run"],
        vec!["serve"],
    ] {
        let r = cli(&args, None, Some("http://127.0.0.1:9"));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("does not run over --api"),
            "{args:?}: {}",
            r.stderr
        );
    }
}
