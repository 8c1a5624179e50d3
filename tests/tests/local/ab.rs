//! A/B tests of a step: each lead gets its stable variant until both variants reached the sample
//! and the z-test passes; then every later lead gets the winner. People's clicks come through the
//! real tracking endpoint; scanner clicks do not count.

use chrono::Duration;
use kindling::sending::ab::{self, Verdict};
use kindling::sending::ledger::SendState;
use kindling::sequences::ab_report;
use kindling_tests::harness::{config_with, lead_fields, monday_10_jst, TestApp};
use mail_parser::MessageParser;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The whitepaper follow-up's first step tests `doc_thanks` against `doc_related`, 40 per variant.
fn ab_config() -> kindling::config::Config {
    let mut c = config_with(|t| {
        let step = r#"{ at = "0d", template = "doc_thanks" }"#;
        assert!(t.contains(step));
        t.replacen(
            step,
            r#"{ at = "0d", template = "doc_thanks", ab = { with = ["doc_related"], sample = 40 } }"#,
            1,
        )
    });
    c.triggers.clear();
    c
}

fn email(i: usize) -> String {
    format!("lead{i:03}@example.jp")
}

/// The first tracked link of the mail sent to `to`.
fn link_of(t: &TestApp, to: &str) -> String {
    for raw in t.outbox() {
        let m = MessageParser::default().parse(&raw).unwrap();
        let addr = m
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_owned();
        if addr != to {
            continue;
        }
        let html = m.body_html(0).unwrap().into_owned();
        let i = html.find("https://t.example.jp/t/c/").unwrap();
        return html[i..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect::<String>()
            .trim_start_matches("https://t.example.jp")
            .to_owned();
    }
    panic!("no mail to {to}");
}

async fn click(t: &TestApp, path: &str, ua: &str, ip: &str) {
    t.click_as(path, ua, ip).await;
}

/// The template the lead's step-0 mail used.
async fn template_of(t: &TestApp, to: &str) -> String {
    let sends = t.sends(to).await;
    let first = sends
        .iter()
        .find(|s| s.key.as_step().is_some_and(|(_, step)| step == 0))
        .unwrap();
    assert_eq!(first.state, SendState::Sent);
    first.template.to_string()
}

/// Leads `range` download the whitepaper, get the step mail, and those who got `doc_related`
/// click it an hour later (people, from their own addresses); `doc_thanks` readers click 1 in 10.
async fn round(t: &TestApp, range: std::ops::Range<usize>) -> Vec<(usize, String)> {
    // Each round on its own day at 10:00 in Tokyo, well outside quiet hours.
    t.clock
        .set(monday_10_jst() + Duration::days(range.start as i64));
    for i in range.clone() {
        let res = t
            .submit("whitepaper", &lead_fields(&email(i), "Asia/Tokyo"))
            .await;
        assert_eq!(res.status(), 303);
        // One submission a minute: the local per-address rate limit stays out of the way.
        t.clock.advance(Duration::minutes(1));
    }
    // Earlier leads' later steps are due too: run until everything due went.
    let mut first_steps = 0;
    loop {
        let report = t.tick().await;
        first_steps += report
            .steps
            .sent
            .iter()
            .filter(|m| m.key.as_step().is_some_and(|(_, step)| step == 0))
            .count();
        if report.steps.sent.is_empty() {
            break;
        }
    }
    assert_eq!(first_steps, range.len());
    t.clock.advance(Duration::hours(1));
    let mut got = Vec::new();
    for i in range {
        let template = template_of(t, &email(i)).await;
        if template == "doc_related" || i % 10 == 0 {
            let ip = format!("198.51.{}.{}", 100 + i / 200, i % 200 + 1);
            click(t, &link_of(t, &email(i)), CHROME, &ip).await;
        }
        got.push((i, template));
    }
    t.clock.advance(Duration::minutes(10));
    got
}

#[tokio::test]
async fn a_winner_is_chosen_only_after_the_sample_and_the_significance_test() {
    let t = TestApp::with_config(ab_config(), monday_10_jst());
    let k = &t.app.kindling;
    let test = k.config.sequence("document_followup").unwrap().steps[0]
        .ab
        .clone()
        .unwrap();
    let assigned = |i: usize, lead: &kindling::ids::LeadId| {
        let v = ab::assign(lead, "document_followup", 0, 2);
        (i, test.variants[v].clone())
    };

    // One lead at a time, so the counts before each send are known. Before the decision, every lead gets its own stable variant, whatever
    // the results say (doc_related is clicked far more from the first round on).
    let mut i = 0;
    let mut decided_at = None;
    while decided_at.is_none() {
        assert!(i < 300, "never decided");
        let report = ab_report(&k.sequences()).await.unwrap();
        let before = report[0].clone();
        let got = round(&t, i..i + 1).await;
        for (n, template) in &got {
            let lead = t.lead(&email(*n)).await.id;
            if before.winner.is_none() && template != &assigned(*n, &lead).1 {
                // Only the send that decided may differ from its assignment: it got the winner.
                decided_at = Some(*n);
            }
        }
        let after = ab_report(&k.sequences()).await.unwrap()[0].clone();
        if after.winner.is_some() {
            decided_at.get_or_insert(i);
            eprintln!("decided at lead {i} from {before:?}");
            // Decided at this send, from the counts before it: the sample was reached by every
            // variant and the test passed on those counts.
            assert!(
                before.variants.iter().all(|v| v.sent >= 40),
                "decided before the sample: {before:?}"
            );
            assert!(
                matches!(before.verdict, Verdict::Winner { .. }),
                "decided without a significant result: {before:?}"
            );
        } else if before.variants.iter().any(|v| v.sent < 40) {
            assert!(
                matches!(before.verdict, Verdict::NeedsSample { .. }),
                "{before:?}"
            );
        }
        i += 1;
    }
    let report = ab_report(&k.sequences()).await.unwrap();
    assert_eq!(report[0].winner.as_deref(), Some("doc_related"));
    // People's clicks were counted once per send: every doc_related send was clicked.
    let related = report[0]
        .variants
        .iter()
        .find(|v| v.template == "doc_related")
        .unwrap();
    assert_eq!(related.clicked, related.sent, "{report:?}");
    assert_eq!(related.opened, related.clicked, "a click counts as an open");

    // After the decision every new lead gets the winner, whatever its assignment.
    let got = round(&t, i..i + 20).await;
    assert!(got.iter().all(|(_, tpl)| tpl == "doc_related"), "{got:?}");
    let mut assigned_control = 0;
    for (n, _) in &got {
        let lead = t.lead(&email(*n)).await.id;
        if ab::assign(&lead, "document_followup", 0, 2) == 0 {
            assigned_control += 1;
        }
    }
    assert!(
        assigned_control > 0,
        "some of them were assigned doc_thanks"
    );
}

#[tokio::test]
async fn scanner_clicks_and_repeated_clicks_do_not_count() {
    let t = TestApp::with_config(ab_config(), monday_10_jst());
    t.submit("whitepaper", &lead_fields(&email(1), "Asia/Tokyo"))
        .await;
    t.tick().await;
    let link = link_of(&t, &email(1));
    // A security scanner at delivery (a Microsoft address, seconds after the send).
    t.clock.advance(Duration::seconds(2));
    click(&t, &link, CHROME, "40.93.40.10").await;
    let template = template_of(&t, &email(1)).await;
    let counted = |r: &[kindling::sequences::AbReport]| {
        let v = r[0]
            .variants
            .iter()
            .find(|v| v.template == template)
            .unwrap()
            .clone();
        (v.sent, v.opened, v.clicked)
    };
    let k = &t.app.kindling;
    assert_eq!(
        counted(&ab_report(&k.sequences()).await.unwrap()),
        (1, 0, 0)
    );
    // The person, later, twice.
    t.clock.advance(Duration::hours(2));
    click(&t, &link, CHROME, "198.51.100.7").await;
    t.clock.advance(Duration::minutes(5));
    click(&t, &link, CHROME, "198.51.100.7").await;
    assert_eq!(
        counted(&ab_report(&k.sequences()).await.unwrap()),
        (1, 1, 1)
    );
}
