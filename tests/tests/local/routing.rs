//! Owner routing: a lead handed to sales (hot with an alert, an MQL, a sales trigger) gets an
//! owner from the first `[[routing]]` rule it meets, once; a team's members take turns; a rule
//! without a condition is the fallback; the alert and its event carry the owner.

use chrono::{TimeZone, Utc};
use kindling::config::Config;
use kindling::ports::Tallies;
use kindling_tests::harness::{config_with, lead_fields, without_shipped_routing, TestApp};

const REPS: &str = r#"
[[reps]]
id = "tanaka"
name = "田中"
email = "tanaka@example.jp"
team = "enterprise"

[[reps]]
id = "suzuki"
email = "suzuki@example.jp"
team = "enterprise"

[[reps]]
id = "takahashi"
email = "takahashi@example.jp"
team = "enterprise"

[[reps]]
id = "sato"
email = "sato@example.jp"

[[routing]]
id = "kabushiki"
when = { company = { contains_any = ["株式会社"] } }
team = "enterprise"

[[routing]]
id = "everyone_else"
rep = "sato"
"#;

fn config() -> Config {
    config_with(|toml| format!("{}\n{REPS}", without_shipped_routing(&toml)))
}

fn app() -> TestApp {
    TestApp::with_config(
        config(),
        Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap(),
    )
}

/// A lead from `company` that turns hot (seminar 20 + consultation 30).
async fn hot(t: &TestApp, email: &str, company: &str) -> kindling::leads::Lead {
    let mut fields = lead_fields(email, "Asia/Tokyo");
    for f in &mut fields {
        if f.0 == "company" {
            f.1 = company;
        }
    }
    for form in ["seminar", "consultation"] {
        assert_eq!(t.submit(form, &fields).await.status(), 303);
    }
    t.tick().await;
    t.lead(email).await
}

#[tokio::test]
async fn a_lead_handed_to_sales_gets_the_owner_of_the_first_rule_it_meets() {
    let t = app();
    let a = hot(&t, "a@example.co.jp", "株式会社A").await;
    let owner = a.owner.clone().expect("an owner");
    assert_eq!(
        (
            owner.rep.as_str(),
            owner.rule.as_str(),
            owner.team.as_deref()
        ),
        ("tanaka", "kabushiki", Some("enterprise"))
    );
    // The next ones of the team take their turns; another company falls to the fallback.
    let b = hot(&t, "b@example.co.jp", "株式会社B").await;
    let c = hot(&t, "c@example.co.jp", "株式会社C").await;
    let d = hot(&t, "d@example.co.jp", "株式会社D").await;
    let other = hot(&t, "e@example.com", "Example Inc.").await;
    let reps: Vec<String> = [&b, &c, &d, &other]
        .iter()
        .map(|l| l.owner.as_ref().unwrap().rep.clone())
        .collect();
    assert_eq!(reps, ["suzuki", "takahashi", "tanaka", "sato"]);
    assert_eq!(other.owner.as_ref().unwrap().team, None);

    // Each alert is the owner's, by name and address.
    let alerts = t.notifier.alerts.lock().unwrap().clone();
    let of = |l: &kindling::leads::Lead| {
        alerts
            .iter()
            .find(|x| x.lead_id == l.id && x.trigger.is_none())
            .and_then(|x| x.owner.clone())
            .map(|o| (o.id, o.email.to_string()))
    };
    assert_eq!(of(&a), Some(("tanaka".into(), "tanaka@example.jp".into())));
    assert_eq!(of(&other), Some(("sato".into(), "sato@example.jp".into())));
    assert!(alerts
        .iter()
        .find(|x| x.lead_id == a.id)
        .unwrap()
        .body()
        .contains("For: 田中 <tanaka@example.jp>"));
    // `lead show` names the owner and why.
    use kindling::admin::interface::Admin;
    let report = kindling::admin::InProcess::new(&t.app.kindling)
        .lead("a@example.co.jp")
        .await
        .unwrap();
    let text = kindling_local::inspect::lead_text(&report, chrono_tz::Asia::Tokyo);
    assert!(
        text.contains("owner tanaka (rule kabushiki, team enterprise) since 2026-12-07"),
        "{text}"
    );
}

#[tokio::test]
async fn a_lead_not_handed_to_sales_has_no_owner_and_an_owner_is_kept() {
    let t = app();
    // A download alone makes a warm lead at most: nobody owns it.
    assert_eq!(
        t.submit("whitepaper", &lead_fields("w@example.co.jp", "Asia/Tokyo"))
            .await
            .status(),
        303
    );
    t.tick().await;
    assert!(t.lead("w@example.co.jp").await.owner.is_none());
    // Handed to sales once; more activity and a rescore do not route it again.
    let a = hot(&t, "a@example.co.jp", "株式会社A").await;
    let first = a.owner.clone().unwrap();
    assert_eq!(
        t.submit("seminar", &lead_fields("a@example.co.jp", "Asia/Tokyo"))
            .await
            .status(),
        303
    );
    t.tick().await;
    assert_eq!(t.lead("a@example.co.jp").await.owner, Some(first));
}

#[tokio::test]
async fn a_teams_turns_are_fair_over_a_thousand_leads() {
    let t = app();
    let config = config();
    let rule = &config.routing.rules[0];
    let tallies: &dyn Tallies = &*t.app.kindling.stores.tallies;
    let mut counts = std::collections::BTreeMap::<String, u32>::new();
    for i in 0..1000 {
        let lead = kindling::ids::LeadId::new(format!("L{i:04}"));
        let owner = kindling::routing::assign(&config.routing, tallies, rule, &lead, t.now())
            .await
            .unwrap()
            .unwrap();
        *counts.entry(owner.rep).or_default() += 1;
        // A retry for the same lead counts nothing twice.
        kindling::routing::assign(&config.routing, tallies, rule, &lead, t.now())
            .await
            .unwrap();
    }
    let n: Vec<u32> = counts.values().copied().collect();
    assert_eq!(n.iter().sum::<u32>(), 1000);
    assert!(
        n.iter().max().unwrap() - n.iter().min().unwrap() <= 1,
        "{counts:?}"
    );
}

#[test]
fn routing_rules_name_reps_teams_and_segments_that_exist() {
    let cases = [
        (
            "[[routing]]\nid = \"r\"\nrep = \"nobody\"\n",
            "is not a [[reps]] id",
        ),
        (
            "[[routing]]\nid = \"r\"\nteam = \"ghosts\"\n",
            "no [[reps]] has team",
        ),
        ("[[routing]]\nid = \"r\"\n", "give one of rep or team"),
        (
            "[[routing]]\nid = \"r\"\nrep = \"sato\"\nsegment = \"nope\"\n",
            "is not a [[segments]] id",
        ),
        (
            "[[reps]]\nid = \"sato\"\nemail = \"not an address\"\n",
            "is not a valid email address",
        ),
    ];
    for (extra, want) in cases {
        let dir = kindling_tests::harness::config_dir();
        let toml = format!(
            "{}\n[[reps]]\nid = \"sato\"\nemail = \"sato@example.jp\"\n{extra}",
            without_shipped_routing(&std::fs::read_to_string(dir.join("kindling.toml")).unwrap())
        );
        let err = Config::from_sources("kindling.toml", &toml, "templates", Vec::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{extra}: {err}");
        assert!(err.contains("kindling.toml:"), "with its line: {err}");
    }
}

#[tokio::test]
async fn the_owner_is_a_segment_condition() {
    let config = config_with(|toml| {
        format!(
            "{}\n{REPS}\n[[segments]]\nid = \"sato_s_leads\"\nwhen = {{ owner = [\"sato\"] }}\n\n[[segments]]\nid = \"unowned\"\nwhen = {{ owner = [\"none\"] }}\n",
            without_shipped_routing(&toml)
        )
    });
    let t = TestApp::with_config(config, Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap());
    let other = hot(&t, "e@example.com", "Example Inc.").await;
    assert_eq!(other.owner.as_ref().unwrap().rep, "sato");
    // The rescore that hands the lead over evaluated its segments before the owner was chosen;
    // the next one (here its next activity) sees the owner.
    assert_eq!(
        t.submit("seminar", &lead_fields("e@example.com", "Asia/Tokyo"))
            .await
            .status(),
        303
    );
    t.tick().await;
    let l = t.lead("e@example.com").await;
    let segments: Vec<&str> = l.segments.keys().map(|s| s.as_str()).collect();
    assert!(segments.contains(&"sato_s_leads"), "{segments:?}");
    assert!(!segments.contains(&"unowned"), "{segments:?}");
    // A bad owner is refused with its line.
    let dir = kindling_tests::harness::config_dir();
    let toml = format!(
        "{}\n{REPS}\n[[segments]]\nid = \"x\"\nwhen = {{ owner = [\"ghost\"] }}\n",
        without_shipped_routing(&std::fs::read_to_string(dir.join("kindling.toml")).unwrap())
    );
    let err = Config::from_sources("kindling.toml", &toml, "templates", Vec::new())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("segments.owner: \"ghost\" is not a [[reps]] id"),
        "{err}"
    );
}
