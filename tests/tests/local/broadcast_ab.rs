//! A/B tests of a broadcast on the local pipeline: the cells get their variants (a subject, a
//! local send time), people's clicks come through the real tracking endpoint (scanner clicks
//! do not count), the decision is made once after the wait, and the rest gets the winner at its
//! local hour, or A when no variant is significantly better. Each lead gets exactly one mail.

use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use kindling::broadcasts::ab::{Spec, SubjectSpec, VariantSpec};
use kindling::broadcasts::cells;
use kindling::broadcasts::content::Content;
use kindling::broadcasts::dry_run::dry_run;
use kindling::broadcasts::lifecycle::{self, Edit, NewBroadcast};
use kindling::broadcasts::{Audience, Broadcast, Schedule, State};
use kindling::error::Error;
use kindling::ids::{LeadId, TopicId};
use kindling::sending::ab::Verdict;
use kindling_tests::harness::{config_with, monday_10_jst, TestApp};
use mail_parser::MessageParser;
use std::collections::BTreeMap;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn app() -> TestApp {
    TestApp::with_config(
        config_with(|t| {
            t.replace(
                "cap = { max = 1, window_hours = 24 }",
                "cap = { max = 10, window_hours = 24 }",
            )
        }),
        monday_10_jst(),
    )
}

fn email(i: usize) -> String {
    format!("lead{i:03}@example.jp")
}

/// `n` consenting leads in Tokyo, one submission a minute from Monday 10:00 (at most a day).
async fn leads(t: &TestApp, n: usize) {
    for i in 0..n {
        let e = email(i);
        let res = t
            .submit(
                "whitepaper",
                &[
                    ("email", e.as_str()),
                    ("title", "営業"),
                    ("time_zone", "Asia/Tokyo"),
                    ("consent", "on"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        t.clock.advance(Duration::minutes(1));
    }
    // The scheduler's runs fall on the quarter hours from here on.
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap());
}

fn content() -> Content {
    kindling_tests::harness::broadcast_content()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn spec(variants: Vec<VariantSpec>, cell: u8, sample: u64) -> Spec {
    Spec {
        variants,
        cell_percent: cell,
        metric: Some("click".into()),
        wait_hours: 4,
        sample,
        confidence: 0.95,
    }
}

fn subject(s: &str) -> VariantSpec {
    VariantSpec {
        subject: Some(SubjectSpec::All(s.into())),
        at: None,
    }
}

fn new(id: &str, ab: Option<Spec>, audience: Audience) -> NewBroadcast {
    NewBroadcast {
        id: Some(id.into()),
        name: format!("broadcast {id}"),
        audience,
        content: content(),
        schedule: Schedule {
            at: at("2026-11-04 10:00"),
            local: true,
        },
        topic: Some(TopicId::new("newsletter")),
        ab,
        by: "marketer".into(),
    }
}

/// Creates, dry-runs, approves and schedules a broadcast to everyone at 10:00 local time.
async fn scheduled(t: &TestApp, id: &str, ab: Spec) -> Broadcast {
    let k = t.app.kindling.broadcasts();
    let (b, _) = lifecycle::create(&k, new(id, Some(ab), Audience::All))
        .await
        .unwrap();
    dry_run(&k, &b.id, "marketer").await.unwrap();
    lifecycle::approve(&k, &b.id, "manager").await.unwrap();
    lifecycle::schedule(&k, &b.id, "marketer").await.unwrap()
}

/// A broadcast mail in the outbox.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    date: String,
    link: String,
}

fn broadcast_mails(t: &TestApp) -> Vec<Mail> {
    t.mailer
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.id.contains("_b_"))
        .map(|m| {
            let p = MessageParser::default().parse(&m.raw).unwrap();
            let html = p.body_html(0).unwrap().into_owned();
            let i = html.find("https://t.example.jp/t/c/").unwrap();
            let link = html[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"')
                .collect::<String>()
                .trim_start_matches("https://t.example.jp")
                .to_owned();
            let raw = String::from_utf8_lossy(&m.raw).to_string();
            Mail {
                to: m.to.to_string(),
                subject: p.subject().unwrap_or_default().to_owned(),
                date: raw
                    .lines()
                    .find(|l| l.starts_with("Date:"))
                    .unwrap_or("")
                    .to_owned(),
                link,
            }
        })
        .collect()
}

async fn click(t: &TestApp, path: &str, ip: &str) {
    t.click_as(path, CHROME, ip).await;
}

/// The cell of the lead with this address in `b`.
async fn cell(t: &TestApp, b: &Broadcast, to: &str) -> Option<usize> {
    let lead: LeadId = t.lead(to).await.id;
    cells::cell_of(b.ab.as_ref().unwrap(), &b.id, &lead)
}

#[tokio::test]
async fn the_cells_get_their_subjects_and_the_rest_gets_the_winner_at_its_local_hour() {
    let t = app();
    leads(&t, 200).await;
    let b = scheduled(&t, "nl-ab", spec(vec![subject("B: 今月の新機能")], 20, 20)).await;
    // The dry run counts the cells and renders every variant for the rest.
    let dry = b.dry_run.clone().unwrap();
    assert_eq!(dry.recipients, 200);
    let (a_n, b_n, rest_n) = (dry.cells["A"], dry.cells["B"], dry.cells["rest"]);
    assert_eq!(a_n + b_n + rest_n, 200, "{dry:?}");
    assert!(a_n >= 25 && b_n >= 25 && rest_n >= 100, "{dry:?}");
    // The cells go at 10:00 in Tokyo (01:00 UTC); nothing else goes before the decision.
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 4, 2, 0, 0).unwrap(),
        Duration::minutes(15),
    )
    .await;
    let cells = broadcast_mails(&t);
    assert_eq!(cells.len() as u64, a_n + b_n, "only the cells so far");
    let frozen = t.broadcast(&b.id).await;
    assert_eq!(frozen.freeze.count, 200);
    // Judged four hours after the last cell was due.
    assert_eq!(
        frozen.freeze.decide_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 4, 5, 0, 0).unwrap())
    );
    for (i, m) in cells.iter().enumerate() {
        let c = cell(&t, &frozen, &m.to).await.expect("a cell recipient");
        let want = if c == 1 {
            "B: 今月の新機能"
        } else {
            "12月のお知らせ"
        };
        assert_eq!(m.subject, want, "{m:?}");
        assert!(m.date.contains("04 Nov 2026 01:00"), "{m:?}");
        // People click every B mail and one A mail in ten; a mail scanner clicks every A mail.
        if c == 1 || i % 10 == 0 {
            click(&t, &m.link, &format!("198.51.100.{}", i % 200 + 1)).await;
        }
        if c == 0 {
            click(&t, &m.link, "40.93.40.10").await;
        }
    }
    let so_far = kindling::broadcasts::status::status(&t.app.kindling.broadcasts(), &b.id)
        .await
        .unwrap()
        .ab
        .unwrap();
    let (ra, rb) = (&so_far.cells[0], &so_far.cells[1]);
    assert_eq!((ra.sent, rb.sent), (a_n, b_n));
    assert_eq!(rb.clicked, b_n, "every person's click counted once");
    assert!(ra.clicked < a_n / 5, "scanner clicks never count: {ra:?}");
    // After the decision the rest gets B, at 10:00 in Tokyo on the next day.
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 5, 2, 0, 0).unwrap(),
        Duration::minutes(15),
    )
    .await;
    let done = t.broadcast(&b.id).await;
    let d = done.decision.clone().unwrap();
    assert_eq!(d.winner, 1);
    assert!(matches!(d.verdict, Verdict::Winner { .. }), "{d:?}");
    assert_eq!(d.at, Utc.with_ymd_and_hms(2026, 11, 4, 5, 0, 0).unwrap());
    let decided: Vec<_> = done
        .history
        .iter()
        .filter(|c| c.what.starts_with("A/B"))
        .collect();
    assert_eq!(decided.len(), 1, "one decision: {decided:?}");
    assert_eq!(done.state, State::Sent);
    let all = broadcast_mails(&t);
    assert_eq!(all.len(), 200, "each lead once");
    let mut to: Vec<&str> = all.iter().map(|m| m.to.as_str()).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(to.len(), 200, "no lead twice");
    for m in &all[cells.len()..] {
        assert_eq!(cell(&t, &done, &m.to).await, None);
        assert_eq!(m.subject, "B: 今月の新機能", "{m:?}");
        assert!(m.date.contains("05 Nov 2026 01:00"), "{m:?}");
    }
}

#[tokio::test]
async fn without_a_significant_winner_the_rest_gets_a_and_a_time_variant_goes_at_its_hour() {
    let t = app();
    leads(&t, 60).await;
    let later = VariantSpec {
        subject: None,
        at: Some("2026-11-04 14:00".into()),
    };
    let b = scheduled(&t, "nl-time", spec(vec![later], 20, 1)).await;
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 5, 2, 0, 0).unwrap(),
        Duration::minutes(15),
    )
    .await;
    let done = t.broadcast(&b.id).await;
    // B's cell was due at 14:00 Tokyo (05:00 UTC): judged at 09:00 UTC, nobody clicked.
    let d = done.decision.clone().unwrap();
    assert_eq!(d.at, Utc.with_ymd_and_hms(2026, 11, 4, 9, 0, 0).unwrap());
    assert_eq!(d.winner, 0);
    assert!(matches!(d.verdict, Verdict::NotSignificant { .. }), "{d:?}");
    let all = broadcast_mails(&t);
    assert_eq!(all.len(), 60);
    for m in &all {
        let want = match cell(&t, &done, &m.to).await {
            Some(1) => "04 Nov 2026 05:00",
            Some(_) => "04 Nov 2026 01:00",
            // The rest gets A's 10:00 on the first day after the decision.
            None => "05 Nov 2026 01:00",
        };
        assert!(m.date.contains(want), "{m:?}");
        assert_eq!(m.subject, "12月のお知らせ");
    }
    assert_eq!(done.state, State::Sent);
}

#[tokio::test]
async fn a_second_sender_at_the_decision_reads_it_and_decides_nothing() {
    let t = app();
    leads(&t, 30).await;
    let b = scheduled(&t, "nl-race", spec(vec![subject("B")], 20, 1)).await;
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 4, 5, 0, 0).unwrap(),
        Duration::minutes(30),
    )
    .await;
    let k = t.app.kindling.broadcasts();
    for _ in 0..3 {
        kindling::broadcasts::send_due_broadcasts(&k, &*t.mailer, 1)
            .await
            .unwrap();
    }
    let s = t.broadcast(&b.id).await;
    assert!(s.decision.is_some());
    assert_eq!(
        s.history
            .iter()
            .filter(|c| c.what.starts_with("A/B"))
            .count(),
        1
    );
}

#[tokio::test]
async fn bad_tests_are_refused_and_write_nothing() {
    let t = app();
    leads(&t, 3).await;
    let k = t.app.kindling.broadcasts();
    let before = t.counts();
    let by_lang = |m: &[(&str, &str)]| VariantSpec {
        subject: Some(SubjectSpec::ByLanguage(
            m.iter()
                .map(|(l, s)| ((*l).to_owned(), (*s).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        )),
        at: None,
    };
    let bad: Vec<(&str, Spec)> = vec![
        ("no variant", spec(vec![], 10, 10)),
        (
            "5 variants",
            spec((0..5).map(|i| subject(&format!("S{i}"))).collect(), 10, 10),
        ),
        ("cells leave no rest", spec(vec![subject("B")], 46, 10)),
        ("zero cell", spec(vec![subject("B")], 0, 10)),
        ("same as A", spec(vec![subject("12月のお知らせ")], 10, 10)),
        (
            "two the same",
            spec(vec![subject("B"), subject("B")], 10, 10),
        ),
        (
            "empty variant",
            spec(
                vec![VariantSpec {
                    subject: None,
                    at: None,
                }],
                10,
                10,
            ),
        ),
        (
            "a bad time",
            spec(
                vec![VariantSpec {
                    subject: None,
                    at: Some("14時".into()),
                }],
                10,
                10,
            ),
        ),
        (
            "a missing language",
            spec(vec![by_lang(&[("en", "B")])], 10, 10),
        ),
        (
            "a field without fallback",
            spec(vec![subject("{{ lead.name }} 様")], 10, 10),
        ),
        (
            "a two-line subject",
            spec(vec![subject("B\nBcc: x@example.com")], 10, 10),
        ),
        ("no sample", spec(vec![subject("B")], 10, 0)),
        (
            "a bad metric",
            Spec {
                metric: Some("revenue".into()),
                ..spec(vec![subject("B")], 10, 10)
            },
        ),
        (
            "no wait",
            Spec {
                wait_hours: 0,
                ..spec(vec![subject("B")], 10, 10)
            },
        ),
        (
            "a confidence of 1",
            Spec {
                confidence: 1.0,
                ..spec(vec![subject("B")], 10, 10)
            },
        ),
    ];
    for (why, s) in bad {
        let got = lifecycle::create(
            &k,
            new(&format!("bad-{}", why.len()), Some(s), Audience::All),
        )
        .await;
        assert!(matches!(got, Err(Error::Invalid(_))), "{why}: {got:?}");
    }
    // A correction goes to exactly the original recipients: no test.
    let (first, _) = lifecycle::create(&k, new("orig", None, Audience::All))
        .await
        .unwrap();
    t.app
        .kindling
        .stores
        .broadcasts
        .update_broadcast(&Broadcast {
            started_at: Some(t.now()),
            ..first.clone()
        })
        .await
        .unwrap();
    let before = {
        let mut c = before;
        for (table, n) in &mut c {
            if table == "broadcasts" {
                *n += 1;
            }
        }
        c
    };
    let correction = lifecycle::create(
        &k,
        new(
            "fix",
            Some(spec(vec![subject("B")], 10, 10)),
            Audience::RecipientsOf {
                broadcast: first.id.clone(),
            },
        ),
    )
    .await;
    assert!(
        matches!(correction, Err(Error::Invalid(_))),
        "{correction:?}"
    );
    assert_eq!(t.counts(), before);
}

#[tokio::test]
async fn an_edit_of_the_test_voids_the_approval_and_preview_shows_the_leads_variant() {
    let t = app();
    leads(&t, 40).await;
    let b = scheduled(&t, "nl-edit", spec(vec![subject("B: 件名")], 20, 10)).await;
    assert!(b.approved());
    let k = t.app.kindling.broadcasts();
    // The preview of a B lead is B's mail; of a rest lead A's (nothing is decided).
    let mut seen = [false; 3];
    for i in 0..40 {
        let e = email(i);
        let c = cell(&t, &b, &e).await;
        let mail = kindling::broadcasts::compose::preview(
            &k,
            &b.id,
            &kindling::email::EmailAddress::parse(&e).unwrap(),
        )
        .await
        .unwrap();
        let want = if c == Some(1) {
            "B: 件名"
        } else {
            "12月のお知らせ"
        };
        assert_eq!(mail.subject, want);
        seen[c.map_or(2, |c| c)] = true;
    }
    assert_eq!(seen, [true; 3], "every kind of lead previewed");
    let edited = lifecycle::edit(
        &k,
        &b.id,
        Edit {
            ab: Some(Some(spec(vec![subject("B: 別の件名")], 20, 10))),
            ..Edit::default()
        },
        "marketer",
    )
    .await
    .unwrap();
    assert_eq!(edited.state, State::Draft);
    assert!(!edited.approved());
    let removed = lifecycle::edit(
        &k,
        &b.id,
        Edit {
            ab: Some(None),
            ..Edit::default()
        },
        "marketer",
    )
    .await
    .unwrap();
    assert!(removed.ab.is_none());
    assert_ne!(removed.hash(), edited.hash());
}

#[tokio::test]
async fn a_test_send_mails_every_variant_to_each_reviewer() {
    // The shipped config lists two reviewers; ask for one.
    let t = TestApp::new();
    let k = t.app.kindling.broadcasts();
    let (b, _) = lifecycle::create(
        &k,
        new(
            "nl-test",
            Some(spec(vec![subject("B: 件名"), subject("C: 件名")], 10, 10)),
            Audience::All,
        ),
    )
    .await
    .unwrap();
    let report = kindling::broadcasts::test_send::test_send(
        &k,
        &*t.mailer,
        &b.id,
        &kindling::broadcasts::test_send::TestRequest {
            to: vec![kindling::email::EmailAddress::parse("review@example.jp").unwrap()],
            as_lead: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.sent, vec!["review@example.jp".to_owned()]);
    assert_eq!(report.variant_subjects.len(), 2, "{report:?}");
    let subjects: Vec<String> = t
        .mailer
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(&m.raw)
                .unwrap()
                .subject()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects.iter().all(|s| s.starts_with("[TEST]")),
        "{subjects:?}"
    );
    assert!(subjects.iter().any(|s| s.contains("C: 件名")));
}
