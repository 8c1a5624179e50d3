//! KPIs counted once as things happen, on the SQLite store: a random stream of facts delivered
//! with duplicates and in any order gives the figures a recount of the distinct facts gives,
//! and breakdowns sum to totals; machine opens stay out of the rates; won amounts add up and
//! conversions are attributed to the nurtures that touched them; bad queries write nothing.

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::classify::Agent;
use kindling::activities::{ActivityKind, Attrs};
use kindling::deliverability::{Feedback, FeedbackKind};
use kindling::ids::{
    ActivityId, BroadcastId, EnrollmentId, FormId, LeadId, SequenceId, TemplateId,
};
use kindling::kpis::count::m;
use kindling::kpis::figures::{Counters, Figures};
use kindling::kpis::period::{local_day, Period};
use kindling::kpis::{Dim, KpiQuery, KpiReport};
use kindling::tracking::events::ActivityRecorded;
use kindling_tests::harness::{config_with, lead_fields, TestApp};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const TOKEN: &str = "test-admin-token-0123456789";

async fn report(t: &TestApp, q: &KpiQuery) -> KpiReport {
    kindling::kpis::kpis(&t.app.kindling.kpis(), q)
        .await
        .unwrap()
}

fn query(since: &str, until: &str, by: &[&str]) -> KpiQuery {
    KpiQuery {
        since: Some(since.into()),
        until: Some(until.into()),
        period: None,
        by: by.iter().map(|s| s.to_string()).collect(),
    }
}

// --- The property: incremental counts equal a recount of the distinct facts. ---------------

/// The mails of the stream: 0..4 are steps of two sequences, 4..6 broadcasts; mail `i` goes to
/// lead `i % 3`, sent on day `4 i` at 03:00 UTC.
const MAILS: usize = 6;
const LEADS: usize = 3;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap()
}

fn sent_at(mail: usize) -> DateTime<Utc> {
    base() + Duration::days(4 * mail as i64)
}

fn lead_of(mail: usize) -> LeadId {
    LeadId::new(format!("L{}", mail % LEADS))
}

fn sequence_of(mail: usize) -> Option<&'static str> {
    (mail < 4).then_some(if mail.is_multiple_of(2) {
        "document_followup"
    } else {
        "seminar_followup"
    })
}

/// The mail's attributes as the send and the tracking routes record them.
fn mail_attrs(mail: usize) -> Attrs {
    match sequence_of(mail) {
        Some(seq) => Attrs {
            sequence_id: Some(SequenceId::new(seq)),
            enrollment_id: Some(EnrollmentId::new(format!("e{mail}"))),
            step: Some((mail % 3) as u32),
            template: Some(TemplateId::new(format!("t{}", mail % 2))),
            ..Attrs::default()
        },
        None => Attrs {
            broadcast_id: Some(BroadcastId::new(format!("b{mail}"))),
            ..Attrs::default()
        },
    }
}

/// The program, with an A/B test on the first step of `document_followup`.
fn config() -> kindling::config::Config {
    config_with(|toml| {
        toml.replace(
            r#"{ at = "0d", template = "doc_thanks" },"#,
            r#"{ at = "0d", template = "doc_thanks", ab = { with = ["doc_related"], metric = "open", sample = 100, confidence = 0.95 } },"#,
        )
    })
}

/// The breakdowns the mail's facts fall in (the store holds neither its leads nor its
/// broadcasts, so no stage and no broadcast topic).
fn mail_dims(mail: usize) -> Vec<(Dim, String)> {
    let mut dims = match sequence_of(mail) {
        Some(seq) => vec![
            (Dim::Sequence, seq.to_owned()),
            (Dim::Step, format!("{seq}/{}", mail % 3 + 1)),
            (Dim::Template, format!("t{}", mail % 2)),
            (
                Dim::Topic,
                if mail.is_multiple_of(2) {
                    "product_updates"
                } else {
                    "events"
                }
                .to_owned(),
            ),
        ],
        None => vec![(Dim::Broadcast, format!("b{mail}"))],
    };
    // Mail 0 is the tested step's.
    if mail == 0 {
        dims.push((Dim::Variant, "document_followup/1:t0".into()));
    }
    dims
}

#[derive(Debug, Clone)]
enum Fact {
    Open {
        mail: usize,
        human: bool,
        after_h: i64,
    },
    Click {
        mail: usize,
        human: bool,
        after_h: i64,
    },
    /// A lead unsubscribes once, ever (its activity id is the lead's).
    Unsubscribe {
        lead: usize,
    },
    Visit {
        campaign: usize,
        day: i64,
    },
    Form {
        form: usize,
        day: i64,
    },
    Bounce {
        mail: usize,
        hard: bool,
    },
}

fn fact() -> impl Strategy<Value = Fact> {
    let mail = 0..MAILS;
    prop_oneof![
        (mail.clone(), any::<bool>(), 0..200i64).prop_map(|(mail, human, after_h)| Fact::Open {
            mail,
            human,
            after_h
        }),
        (mail.clone(), any::<bool>(), 0..200i64).prop_map(|(mail, human, after_h)| Fact::Click {
            mail,
            human,
            after_h
        }),
        (0..LEADS).prop_map(|lead| Fact::Unsubscribe { lead }),
        (0..2usize, 0..30i64).prop_map(|(campaign, day)| Fact::Visit { campaign, day }),
        (0..2usize, 0..30i64).prop_map(|(form, day)| Fact::Form { form, day }),
        (mail, any::<bool>()).prop_map(|(mail, hard)| Fact::Bounce { mail, hard }),
    ]
}

/// One delivery of the stream: a mail's send, or fact `i`.
#[derive(Debug, Clone, Copy)]
enum Delivery {
    Sent(usize),
    Fact(usize),
}

fn unsubscribed_at(lead: usize) -> DateTime<Utc> {
    base() + Duration::days(3 + 5 * lead as i64)
}

fn activity(i: usize, f: &Fact) -> Option<ActivityRecorded> {
    let hit = |mail: usize, human: bool, after_h: i64, kind: ActivityKind| {
        let attrs = Attrs {
            agent: Some(if human {
                Agent::Human
            } else if kind == ActivityKind::EmailOpen {
                Agent::MachineOpen
            } else {
                Agent::ScannerClick
            }),
            sent_at: Some(sent_at(mail)),
            ..mail_attrs(mail)
        };
        (
            Some(lead_of(mail)),
            kind,
            sent_at(mail) + Duration::hours(after_h),
            attrs,
        )
    };
    let (lead, kind, at, attrs) = match *f {
        Fact::Open {
            mail,
            human,
            after_h,
        } => hit(mail, human, after_h, ActivityKind::EmailOpen),
        Fact::Click {
            mail,
            human,
            after_h,
        } => hit(mail, human, after_h, ActivityKind::EmailClick),
        Fact::Unsubscribe { lead } => {
            let l = LeadId::new(format!("L{lead}"));
            return Some(recorded(
                format!("unsub_{l}"),
                Some(l),
                ActivityKind::Unsubscribed,
                unsubscribed_at(lead),
                Attrs::default(),
            ));
        }
        Fact::Visit { campaign, day } => (
            None,
            ActivityKind::PageView,
            base() + Duration::days(day),
            Attrs {
                utm_campaign: Some(format!("c{campaign}")),
                ..Attrs::default()
            },
        ),
        // A form records the activity it is configured with.
        Fact::Form { form, day } => (
            None,
            if form == 0 {
                ActivityKind::FormSubmitted
            } else {
                ActivityKind::DocumentDownload
            },
            base() + Duration::days(day),
            Attrs {
                form_id: Some(FormId::new(format!("f{form}"))),
                ..Attrs::default()
            },
        ),
        Fact::Bounce { .. } => return None,
    };
    Some(recorded(format!("a{i}"), lead, kind, at, attrs))
}

fn recorded(
    id: String,
    lead: Option<LeadId>,
    kind: ActivityKind,
    at: DateTime<Utc>,
    attrs: Attrs,
) -> ActivityRecorded {
    ActivityRecorded {
        duplicate: false,
        activity_id: ActivityId::new(id),
        lead_id: lead,
        visitor_id: None,
        kind,
        at,
        broadcast_id: attrs.broadcast_id.clone(),
        attrs,
    }
}

fn sent(mail: usize) -> ActivityRecorded {
    recorded(
        format!("sent_{mail}"),
        Some(lead_of(mail)),
        ActivityKind::EmailSent,
        sent_at(mail),
        mail_attrs(mail),
    )
}

fn feedback(i: usize, mail: usize, hard: bool) -> Feedback {
    Feedback {
        id: format!("fb{i}"),
        kind: if hard {
            FeedbackKind::HardBounce
        } else {
            FeedbackKind::SoftBounce
        },
        recipients: vec![kindling::email::EmailAddress::parse(&format!(
            "l{}@example.jp",
            mail % LEADS
        ))
        .unwrap()],
        at: sent_at(mail) + Duration::minutes(1),
        counts_for_breaker: true,
    }
}

/// The recount: counters per (breakdown, value) and week, from the distinct facts. The
/// totals are the breakdown `None`.
type Recount = BTreeMap<(Option<(Dim, String)>, chrono::NaiveDate), Counters>;

fn recount(facts: &[Fact]) -> Recount {
    let zone = config().program.default_zone;
    let week = |at: DateTime<Utc>| Period::Week.start(local_day(at, zone));
    let mut out = Recount::new();
    let mut add = |dims: &[(Dim, String)], at: DateTime<Utc>, counter: &str| {
        let w = week(at);
        let keys = std::iter::once(None).chain(dims.iter().cloned().map(Some));
        for key in keys {
            *out.entry((key, w))
                .or_default()
                .entry(counter.to_owned())
                .or_default() += 1;
        }
    };
    for mail in 0..MAILS {
        add(&mail_dims(mail), sent_at(mail), m::SENT);
    }
    let (mut opened, mut clicked, mut unsubscribed) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for f in facts {
        match *f {
            Fact::Open { mail, human, .. } | Fact::Click { mail, human, .. } => {
                let click = matches!(f, Fact::Click { .. });
                let dims = mail_dims(mail);
                let (hits, machine) = if click {
                    (m::CLICK_HITS, m::SCANNER_CLICKS)
                } else {
                    (m::OPEN_HITS, m::MACHINE_OPENS)
                };
                add(&dims, sent_at(mail), hits);
                if !human {
                    add(&dims, sent_at(mail), machine);
                } else {
                    opened.insert(mail);
                    if click {
                        clicked.insert(mail);
                    }
                }
            }
            Fact::Unsubscribe { lead } => {
                unsubscribed.insert(lead);
            }
            Fact::Visit { campaign, day } => add(
                &[(Dim::Campaign, format!("c{campaign}"))],
                base() + Duration::days(day),
                m::CAMPAIGN_VISITS,
            ),
            Fact::Form { form, day } => add(
                &[(Dim::Form, format!("f{form}"))],
                base() + Duration::days(day),
                m::FORM_SUBMISSIONS,
            ),
            Fact::Bounce { mail, hard } => add(
                &[],
                sent_at(mail) + Duration::minutes(1),
                if hard {
                    m::BOUNCED_HARD
                } else {
                    m::BOUNCED_SOFT
                },
            ),
        }
    }
    for mail in opened {
        add(&mail_dims(mail), sent_at(mail), m::OPENED);
    }
    for mail in clicked {
        add(&mail_dims(mail), sent_at(mail), m::CLICKED);
    }
    for lead in unsubscribed {
        add(&[], unsubscribed_at(lead), m::UNSUBSCRIBED);
    }
    out
}

/// Sums figures' counts (rates are recomputed from the sums).
fn summed(rows: &[&Counters]) -> Counters {
    let mut c = Counters::new();
    for r in rows {
        kindling::kpis::figures::sum_into(&mut c, r);
    }
    c
}

const BREAKDOWNS: [&str; 8] = [
    "sequence",
    "step",
    "template",
    "variant",
    "topic",
    "broadcast",
    "form",
    "campaign",
];

async fn counted_and_recounted(facts: Vec<Fact>, order: Vec<Delivery>) {
    let t = TestApp::with_config(config(), base());
    let k = t.app.kindling.kpis();
    for d in &order {
        match *d {
            Delivery::Sent(mail) => kindling::kpis::count_activity(&k, &sent(mail)).await,
            Delivery::Fact(i) => match (&facts[i], activity(i, &facts[i])) {
                (_, Some(a)) => kindling::kpis::count_activity(&k, &a).await,
                (Fact::Bounce { mail, hard }, None) => {
                    kindling::kpis::count_feedback(&k, &feedback(i, *mail, *hard)).await
                }
                (f, None) => panic!("no activity for {f:?}"),
            },
        }
        .unwrap();
    }
    let got = report(&t, &query("2026-11-01", "2026-12-31", &BREAKDOWNS)).await;
    let want = recount(&facts);
    let of = |key: &Option<(Dim, String)>| -> BTreeMap<chrono::NaiveDate, &Counters> {
        want.iter()
            .filter(|((k, _), _)| k == key)
            .map(|((_, w), c)| (*w, c))
            .collect()
    };
    // Totals and every week.
    let totals = of(&None);
    assert_eq!(
        got.totals,
        Figures::of(&summed(&totals.values().copied().collect::<Vec<_>>()))
    );
    for row in &got.periods {
        let want = totals
            .get(&row.start)
            .map(|c| (*c).clone())
            .unwrap_or_default();
        assert_eq!(row.figures, Figures::of(&want), "week of {}", row.start);
    }
    // Every value of every breakdown.
    for name in BREAKDOWNS {
        let dim: Dim = kindling::names::Named::from_name(name).unwrap();
        let values: BTreeSet<String> = want
            .keys()
            .filter_map(|(k, _)| {
                k.as_ref()
                    .filter(|(d, _)| *d == dim)
                    .map(|(_, v)| v.clone())
            })
            .collect();
        let rows = &got.breakdowns[name];
        assert_eq!(
            rows.iter()
                .map(|r| r.value.clone())
                .collect::<BTreeSet<_>>(),
            values,
            "{name}"
        );
        for row in rows {
            let cells = of(&Some((dim, row.value.clone())));
            let want = Figures::of(&summed(&cells.values().copied().collect::<Vec<_>>()));
            assert_eq!(row.figures, want, "{name} {}", row.value);
        }
    }
    // Breakdowns sum to totals: sends and reactions over sequences and broadcasts, steps and
    // templates over sequences, forms and campaigns over theirs.
    let sum = |names: &[&str], f: fn(&Figures) -> u64| -> u64 {
        names
            .iter()
            .flat_map(|n| got.breakdowns[*n].iter())
            .map(|r| f(&r.figures))
            .sum()
    };
    let measures: [fn(&Figures) -> u64; 6] = [
        |f| f.delivery.sent,
        |f| f.reaction.opened,
        |f| f.reaction.clicked,
        |f| f.reaction.open_hits,
        |f| f.reaction.machine_opens,
        |f| f.reaction.scanner_clicks,
    ];
    for f in measures {
        assert_eq!(sum(&["sequence", "broadcast"], f), f(&got.totals));
        assert_eq!(sum(&["step"], f), sum(&["sequence"], f));
        assert_eq!(sum(&["template"], f), sum(&["sequence"], f));
    }
    assert_eq!(
        sum(&["form"], |f| f.conversion.form_submissions),
        got.totals.conversion.form_submissions
    );
    assert_eq!(
        sum(&["campaign"], |f| f.conversion.campaign_visits),
        got.totals.conversion.campaign_visits
    );
}

/// Facts, and an order of deliveries in which every send and fact comes one to three times.
fn stream() -> impl Strategy<Value = (Vec<Fact>, Vec<Delivery>)> {
    (
        prop::collection::vec(fact(), 0..24),
        prop::collection::vec(1..=3usize, MAILS + 24),
    )
        .prop_flat_map(|(facts, copies)| {
            let mut order = Vec::new();
            for (i, n) in copies.iter().enumerate() {
                let d = match i.checked_sub(MAILS) {
                    None => Delivery::Sent(i),
                    Some(f) if f < facts.len() => Delivery::Fact(f),
                    Some(_) => break,
                };
                order.extend(std::iter::repeat_n(d, *n));
            }
            (Just(facts), Just(order).prop_shuffle())
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_kpi_equals_a_recount_of_the_distinct_facts((facts, order) in stream()) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(counted_and_recounted(facts, order));
    }
}

// --- Through the product: tracking routes, sales marks, the admin route. --------------------

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const OUTLOOK: &str = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";

async fn get(t: &TestApp, path: &str, ua: &str, ip: &str) -> http::Response<Bytes> {
    t.get_as(path, Some(ua), ip).await
}

/// The open pixel of the `n`th mail in the outbox.
fn pixel(t: &TestApp, n: usize) -> String {
    let mails = t.outbox();
    let parsed = mail_parser::MessageParser::default()
        .parse(&mails[n])
        .unwrap();
    let html = parsed.body_html(0).unwrap().into_owned();
    let i = html.find("https://t.example.jp/t/o/").unwrap();
    html[i..]
        .chars()
        .take_while(|c| *c != '"')
        .collect::<String>()
        .trim_start_matches("https://t.example.jp")
        .to_owned()
}

/// A lead whose first mail is sent a minute after the previous one (the outbox's order).
async fn lead_with_mail(t: &TestApp, email: &str) {
    t.clock.advance(Duration::minutes(1));
    assert_eq!(
        t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
            .await
            .status(),
        303
    );
    assert_eq!(t.tick().await.steps.sent.len(), 1);
}

fn this_month(t: &TestApp) -> KpiQuery {
    this_month_by(t, &["sequence"])
}

/// Today's KPIs, broken down `by`.
fn this_month_by(t: &TestApp, by: &[&str]) -> KpiQuery {
    let day = t.now().date_naive();
    query(&day.to_string(), &day.to_string(), by)
}

#[tokio::test]
async fn machine_opens_are_left_out_of_the_open_rate_and_shown_raw() {
    let t = TestApp::new();
    lead_with_mail(&t, "person@example.co.jp").await;
    lead_with_mail(&t, "proxy@example.co.jp").await;
    let (person, proxy) = (pixel(&t, 0), pixel(&t, 1));
    t.clock.advance(Duration::seconds(40));
    // Apple's privacy proxy fetches both at delivery; only one person opens, twice.
    for p in [&person, &proxy] {
        assert_eq!(get(&t, p, "Mozilla/5.0", "17.58.101.3").await.status(), 200);
    }
    t.clock.advance(Duration::hours(2));
    assert_eq!(
        get(&t, &person, OUTLOOK, "203.0.113.10").await.status(),
        200
    );
    assert_eq!(get(&t, &person, CHROME, "203.0.113.10").await.status(), 200);

    let r = report(&t, &this_month(&t)).await;
    let (d, re) = (&r.totals.delivery, &r.totals.reaction);
    assert_eq!((d.sent, d.delivered), (2, 2));
    assert_eq!((re.open_hits, re.machine_opens), (4, 2), "raw beside");
    assert_eq!(re.opened, 1, "one mail opened by a person");
    assert_eq!(re.open_rate, Some(0.5));
    assert_eq!(r.totals.conversion.new_leads, 2);
    assert_eq!(r.totals.conversion.form_submissions, 2);
    let seq = &r.breakdowns["sequence"];
    assert_eq!(seq.len(), 1);
    assert_eq!(seq[0].value, "document_followup");
    assert_eq!(seq[0].figures.reaction, r.totals.reaction);
}

async fn mark(t: &TestApp, email: &str, body: Value) -> (u16, Value) {
    let uri = format!("/admin/leads/{}/sales", email.replace('@', "%40"));
    admin(t, "POST", &uri, body.to_string()).await
}

async fn admin(t: &TestApp, method: &str, uri: &str, body: String) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body))
        .unwrap();
    let res = t.app.http(req).await;
    t.app.pump().await.unwrap();
    let body = serde_json::from_slice(res.body()).unwrap_or(Value::Null);
    (res.status().as_u16(), body)
}

fn app() -> TestApp {
    let mut t = TestApp::new();
    t.app.admin_token = Arc::new(TOKEN.to_owned());
    t
}

#[tokio::test]
async fn won_amounts_add_up_and_conversions_go_to_the_nurtures_that_touched_them() {
    let t = app();
    // A opens its whitepaper mail, then the seminar's: the seminar is its last touch.
    lead_with_mail(&t, "a@example.co.jp").await;
    // A day later (the frequency cap allows one mail a day).
    t.clock.advance(Duration::days(1));
    assert_eq!(
        t.submit("seminar", &lead_fields("a@example.co.jp", "Asia/Tokyo"))
            .await
            .status(),
        303
    );
    assert_eq!(t.tick().await.steps.sent.len(), 1);
    // B's mail goes unopened; C opened its mail 31 days before winning: outside the window.
    lead_with_mail(&t, "b@example.co.jp").await;
    lead_with_mail(&t, "c@example.co.jp").await;
    t.clock.advance(Duration::hours(1));
    for n in [0, 1, 3] {
        assert_eq!(
            get(&t, &pixel(&t, n), OUTLOOK, "203.0.113.10")
                .await
                .status(),
            200
        );
        t.clock.advance(Duration::minutes(5));
    }
    t.clock.advance(Duration::days(1));
    let (s, body) = mark(
        &t,
        "a@example.co.jp",
        json!({"status": "opportunity", "amount": 2000000}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = mark(
        &t,
        "a@example.co.jp",
        json!({"status": "won", "amount": "1500000"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = mark(
        &t,
        "b@example.co.jp",
        json!({"status": "won", "amount": "500000.50"}),
    )
    .await;
    assert_eq!(s, 200);
    // A retried mark counts nothing twice.
    let (s, _) = mark(
        &t,
        "b@example.co.jp",
        json!({"status": "won", "amount": "500000.50"}),
    )
    .await;
    assert_eq!(s, 200);
    t.clock.advance(Duration::days(31));
    let (s, _) = mark(
        &t,
        "c@example.co.jp",
        json!({"status": "won", "amount": 1234.5, "currency": "USD"}),
    )
    .await;
    assert_eq!(s, 200);
    // Refused marks change nothing.
    for bad in [
        json!({"status": "lost", "amount": 10}),
        json!({"status": "won", "amount": "1.234"}),
        json!({"status": "won", "amount": -5}),
        json!({"status": "won", "amount": 10, "currency": "yen"}),
        json!({"status": "won", "currency": "USD"}),
    ] {
        assert_eq!(
            mark(&t, "a@example.co.jp", bad.clone()).await.0,
            400,
            "{bad}"
        );
    }

    let q = query("2026-11-01", "2026-12-31", &[]);
    let r = report(
        &t,
        &KpiQuery {
            period: Some("month".into()),
            ..q
        },
    )
    .await;
    let c = &r.totals.conversion;
    assert_eq!(r.totals.fin.won, 3);
    assert_eq!(
        r.totals.fin.won_amount,
        BTreeMap::from([
            ("JPY".into(), "2000000.50".into()),
            ("USD".into(), "1234.50".into())
        ])
    );
    assert_eq!(c.opportunities, 3, "a win was an opportunity");
    assert_eq!(c.sales_accepted, 3);
    assert_eq!(r.totals.fin.win_rate, Some(1.0));
    let influence: BTreeMap<&str, &kindling::kpis::query::Influence> = r
        .influence
        .iter()
        .map(|i| (i.nurture.as_str(), i))
        .collect();
    assert_eq!(
        influence.keys().copied().collect::<Vec<_>>(),
        ["sequence:document_followup", "sequence:seminar_followup"],
        "B was touched by nothing, C too long ago"
    );
    let doc = influence["sequence:document_followup"];
    assert_eq!((doc.any.opportunity, doc.any.won), (1, 1));
    assert_eq!(
        doc.any.won_amount,
        BTreeMap::from([("JPY".into(), "1500000".into())])
    );
    assert_eq!(
        (doc.last.opportunity, doc.last.won),
        (0, 0),
        "not A's last touch"
    );
    let sem = influence["sequence:seminar_followup"];
    assert_eq!((sem.any.won, sem.last.won), (1, 1));
    assert_eq!(
        sem.last.won_amount,
        BTreeMap::from([("JPY".into(), "1500000".into())])
    );
}

#[tokio::test]
async fn bad_kpi_queries_are_400_and_write_nothing() {
    let t = app();
    lead_with_mail(&t, "q@example.co.jp").await;
    let before = t.counts();
    for uri in [
        "/admin/kpis?period=day",
        "/admin/kpis?since=2026-13-01",
        "/admin/kpis?since=2026-12-01&until=2026-11-01",
        "/admin/kpis?since=2020-01-01&until=2026-12-01",
        "/admin/kpis?by=colour",
        "/admin/kpis?by=sequence,",
        "/admin/kpis?colour=red",
        "/admin/kpis?period=week&period=month",
        "/admin/kpis?since=%FF",
    ] {
        let (s, body) = admin(&t, "GET", uri, String::new()).await;
        assert_eq!(s, 400, "{uri}: {body}");
        assert!(
            body["error"].is_string() || body["message"].is_string(),
            "{uri}: {body}"
        );
    }
    assert_eq!(t.counts(), before);
    let (s, body) = admin(
        &t,
        "GET",
        "/admin/kpis?by=sequence,step&period=month",
        String::new(),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["totals"]["delivery"]["sent"], 1);
    assert_eq!(
        body["breakdowns"]["step"][0]["value"],
        "document_followup/1"
    );
    let direct = report(
        &t,
        &KpiQuery {
            by: vec!["sequence".into(), "step".into()],
            period: Some("month".into()),
            ..KpiQuery::default()
        },
    )
    .await;
    assert_eq!(
        body,
        serde_json::to_value(direct).unwrap(),
        "the route answers what the use case does"
    );
}

#[tokio::test]
async fn diagnose_scores_the_program_with_evidence_and_refuses_a_query() {
    let t = app();
    lead_with_mail(&t, "diag@example.co.jp").await;
    let before = t.counts();
    let (s, body) = admin(&t, "GET", "/admin/diagnose", String::new()).await;
    assert_eq!(s, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 15);
    let passed = items.iter().filter(|i| i["passed"] == true).count();
    assert_eq!(body["score"], passed);
    let item = |key: &str| items.iter().find(|i| i["key"] == key).unwrap().clone();
    // The lead came from a form with a company but no industry: 0 of 1 with all three.
    assert_eq!(item("attributes_captured")["passed"], false);
    assert!(item("attributes_captured")["next"].is_string());
    assert_eq!(
        item("opens_clicks_stored")["passed"],
        false,
        "nothing opened yet"
    );
    assert_eq!(item("scoring_rules")["passed"], true);
    assert!(item("scoring_rules")["next"].is_null());
    assert!(
        item("open_ctr_targets")["evidence"]
            .as_str()
            .unwrap()
            .contains("kpis.open_rate = 0.25 (kindling.toml:"),
        "{}",
        item("open_ctr_targets")
    );
    assert_eq!(item("kpis_monitored")["passed"], false, "no [digest]");
    let verdict = body["verdict"].as_str().unwrap();
    assert_eq!(verdict, kindling::admin::diagnose::verdict(passed));
    for uri in ["/admin/diagnose?json=1", "/admin/diagnose?x"] {
        assert_eq!(admin(&t, "GET", uri, String::new()).await.0, 400, "{uri}");
    }
    assert_eq!(t.counts(), before, "diagnosing writes nothing");
}

#[tokio::test]
async fn topics_left_count_per_topic_once_each() {
    use kindling::deliverability::preferences::{leave_topic, set_topics};
    use kindling::ids::TopicId;
    let t = app();
    lead_with_mail(&t, "topics@example.co.jp").await;
    let lead = t.lead("topics@example.co.jp").await;
    let d = t.app.kindling.deliverability();
    let updates = TopicId::new("product_updates");
    // One-click from the document mail (topic product_updates), then a retry of it.
    assert_eq!(
        leave_topic(&d, &lead.id, &updates, "one_click")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        leave_topic(&d, &lead.id, &updates, "one_click")
            .await
            .unwrap(),
        0
    );
    // The preference page then keeps only the newsletter: events left too, updates still out.
    let keep = [TopicId::new("newsletter")].into_iter().collect();
    assert_eq!(set_topics(&d, &lead.id, &keep, "page").await.unwrap(), 1);
    t.app.pump().await.unwrap();
    let r = report(&t, &this_month_by(&t, &["topic"])).await;
    assert_eq!(r.totals.reaction.topic_opt_outs, 2);
    assert_eq!(r.totals.reaction.unsubscribed, 0, "no lead left everything");
    let row = |topic: &str| {
        r.breakdowns["topic"]
            .iter()
            .find(|b| b.value == topic)
            .map(|b| b.figures.reaction.clone())
            .unwrap_or_else(|| panic!("{topic}: {:?}", r.breakdowns["topic"]))
    };
    let updates = row("product_updates");
    assert_eq!(updates.topic_opt_outs, 1);
    assert_eq!(
        updates.topic_opt_out_rate,
        Some(1.0),
        "1 of the 1 mail of the topic"
    );
    assert_eq!(row("events").topic_opt_outs, 1);
    assert_eq!(
        row("events").topic_opt_out_rate,
        None,
        "no mail of events was delivered"
    );
}
