//! The weekly digest: at its hour in the program's zone, once per week and address however
//! often the schedule runs, again after a failed send, never a day late; it says the week's
//! figures against the week before, the breaker's state and the leads that turned hot.

use chrono::{Duration, TimeZone, Utc};
use kindling::sending::ports::MailError;
use kindling_tests::harness::{config_with, lead_fields, TestApp};
use mail_parser::MessageParser;

const TEAM: [&str; 2] = ["marketing@example.jp", "sales-lead@example.jp"];

fn app() -> TestApp {
    let config = config_with(|toml| {
        format!(
            "{toml}\n[digest]\nto = [\"{}\", \"{}\"]\n",
            TEAM[0], TEAM[1]
        )
    });
    // Tuesday 2026-11-03 10:00 in Tokyo (a day after Monday's digest time).
    TestApp::with_config(config, Utc.with_ymd_and_hms(2026, 11, 3, 1, 0, 0).unwrap())
}

/// The digest mails in the outbox: (to, subject, text).
fn digests(t: &TestApp) -> Vec<(String, String, String)> {
    let dir = t.dir.path().join("outbox");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("_digest_"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = MessageParser::default().parse(&raw).unwrap();
            let to = m
                .to()
                .unwrap()
                .first()
                .unwrap()
                .address()
                .unwrap()
                .to_owned();
            (
                to,
                m.subject().unwrap().to_owned(),
                m.body_text(0).unwrap().into_owned(),
            )
        })
        .collect()
}

/// A week with a lead, its mail, and a lead that turns hot (seminar 20 + consultation 30).
async fn a_week(t: &TestApp) {
    assert_eq!(
        t.submit(
            "whitepaper",
            &lead_fields("week@example.co.jp", "Asia/Tokyo")
        )
        .await
        .status(),
        303
    );
    t.tick().await;
    for form in ["seminar", "consultation"] {
        let status = t
            .submit(form, &lead_fields("hot@example.co.jp", "Asia/Tokyo"))
            .await
            .status();
        assert_eq!(status, 303);
    }
    t.tick().await;
    assert_eq!(t.lead("hot@example.co.jp").await.score.total, 50);
}

/// Sets the clock to `h:m` in Tokyo on the day `days` after Monday 2026-11-02, and runs.
async fn at(
    t: &TestApp,
    days: i64,
    h: u32,
    m: u32,
) -> Option<kindling::kpis::digest::DigestReport> {
    let target = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap() + Duration::days(days)
        - Duration::hours(9)
        + Duration::hours(i64::from(h))
        + Duration::minutes(i64::from(m));
    t.clock.advance(target - t.now());
    t.tick().await.digest
}

#[tokio::test]
async fn the_digest_goes_once_a_week_at_its_hour_however_often_the_schedule_runs() {
    let t = app();
    a_week(&t).await;
    // Monday 08:59 in Tokyo: not yet.
    assert_eq!(at(&t, 7, 8, 59).await, None);
    assert!(digests(&t).is_empty());
    // 09:00: to each address.
    let first = at(&t, 7, 9, 0).await.unwrap();
    assert_eq!(first.sent, TEAM);
    assert!(first.linked, "the week's report was kept and linked");
    // The schedule runs again, twice at once (a duplicate event), and all day: nothing to send,
    // so no report is built either.
    let (a, b) = tokio::join!(t.tick(), t.tick());
    for r in [a, b] {
        let d = r.digest.unwrap();
        assert!(d.sent.is_empty() && !d.linked);
    }
    assert!(at(&t, 7, 18, 0).await.unwrap().sent.is_empty());
    // A day after its time it is no longer due.
    assert_eq!(at(&t, 8, 9, 0).await, None);
    assert_eq!(digests(&t).len(), 2);
    // The next Monday: the next week's.
    assert_eq!(at(&t, 14, 9, 30).await.unwrap().sent, TEAM);
    let all = digests(&t);
    assert_eq!(all.len(), 4);

    let (to, subject, text) = &all[0];
    assert_eq!(to, TEAM[0]);
    assert_eq!(subject, "【Kindling】週次KPI 2026-11-02〜2026-11-08");
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {text}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("配信数"), ["0", "2", "+2"], "{text}");
    assert_eq!(line("新規リード"), ["0", "2", "+2"], "{text}");
    assert_eq!(line("ホットリード"), ["0", "1", "+1"], "{text}");
    assert!(text.contains("配信状態: 配信中"), "{text}");
    assert!(text.contains("ホットになったリード (1)"), "{text}");
    assert!(text.contains("<hot@example.co.jp>"), "{text}");
    // The link to the full report: the page of the twelve weeks to the digest's week's end,
    // with the week's figures in its data.
    let link = text
        .lines()
        .find(|l| l.starts_with("file:///"))
        .unwrap_or_else(|| panic!("a report link in {text}"));
    assert!(link.ends_with("/reports/2026-11-09.html"), "{link}");
    let page = std::fs::read_to_string(t.dir.path().join("reports/2026-11-09.html")).unwrap();
    let data = page
        .split("<script id=\"kpis\" type=\"application/json\">")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap();
    let kpis: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(kpis["until"], "2026-11-08");
    assert_eq!(kpis["totals"]["delivery"]["sent"], 2, "{}", kpis["totals"]);
    // The second week had nothing new: its changes are against the first.
    let (_, subject, text) = &all[2];
    assert_eq!(subject, "【Kindling】週次KPI 2026-11-09〜2026-11-15");
    assert!(text.contains("ホットになったリード (0)"), "{text}");
}

#[tokio::test]
async fn a_digest_that_failed_to_send_goes_on_the_next_run_once() {
    let t = app();
    t.mailer
        .fail_next(1, MailError::Retryable("throttled".into()));
    let first = at(&t, 7, 9, 0).await.unwrap();
    assert_eq!(first.failed, [TEAM[0]]);
    assert_eq!(first.sent, [TEAM[1]]);
    let second = at(&t, 7, 9, 1).await.unwrap();
    assert_eq!(second.sent, [TEAM[0]]);
    assert!(at(&t, 7, 9, 2).await.unwrap().sent.is_empty());
    let to: Vec<String> = digests(&t).into_iter().map(|d| d.0).collect();
    assert_eq!(to, [TEAM[1], TEAM[0]]);
}

#[tokio::test]
async fn a_claim_whose_send_was_interrupted_is_not_sent_again() {
    let t = app();
    // A run claimed the first address's digest, then died during the send.
    t.app
        .kindling
        .stores
        .tallies
        .set_mark(
            "digest:2026-11-09",
            &format!("{}#1", TEAM[0]),
            "claimed",
            true,
        )
        .await
        .unwrap();
    assert_eq!(at(&t, 7, 9, 0).await.unwrap().sent, [TEAM[1]]);
    assert!(at(&t, 7, 9, 1).await.unwrap().sent.is_empty());
    assert_eq!(digests(&t).len(), 1);
}

#[tokio::test]
async fn without_a_digest_section_nothing_is_sent() {
    let t = TestApp::new();
    assert_eq!(at(&t, 7, 9, 0).await, None);
    assert!(digests(&t).is_empty());
}

/// A report archive that cannot write.
struct Broken;

#[async_trait::async_trait]
impl kindling::kpis::archive::ReportArchive for Broken {
    async fn keep(&self, _: &str, _: &str) -> Result<Option<String>, kindling::error::PortError> {
        Err(kindling::error::PortError::new("reports", "disk full"))
    }
}

#[tokio::test]
async fn a_report_that_cannot_be_kept_leaves_the_digest_without_its_link() {
    let t = app();
    a_week(&t).await;
    let k = kindling::app::Kindling {
        reports: Some(std::sync::Arc::new(kindling::admin::page::Weekly(
            std::sync::Arc::new(Broken),
        ))),
        ..t.app.kindling.clone()
    };
    let monday = Utc.with_ymd_and_hms(2026, 11, 9, 0, 0, 0).unwrap();
    t.clock.advance(monday - t.now());
    let r = kindling::app::run_schedule(&k, t.mailer.as_ref(), 100)
        .await
        .unwrap();
    let d = r.digest.unwrap();
    assert_eq!(d.sent, TEAM);
    assert!(!d.linked);
    let all = digests(&t);
    assert_eq!(all.len(), 2);
    assert!(!all[0].2.contains("file://"), "{}", all[0].2);
    assert!(all[0].2.contains("kindling kpis --since 2026-11-02"));
}
