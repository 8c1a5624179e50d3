use super::*;
use crate::events::Audience;
use crate::program::check_public_url;
use crate::scoring::{Mql, Thresholds};
use crate::sending::calendar::Holidays;
use crate::sending::schedule::{FrequencyCap, Offset, SendWindow, WindowDays};
use crate::sequences::config::{ExitGoal, Reentry};
use chrono::NaiveTime;
use std::path::PathBuf;

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// The configuration shipped in `config/`.
pub(crate) fn shipped() -> Config {
    Config::load(&config_dir()).unwrap_or_else(|e| panic!("shipped config is invalid:\n{e}"))
}

pub(crate) fn shipped_toml() -> String {
    std::fs::read_to_string(config_dir().join("kindling.toml")).unwrap()
}

fn shipped_templates() -> Vec<(String, String)> {
    std::fs::read_dir(config_dir().join("templates"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

pub(crate) fn errors_of(toml: &str) -> Vec<String> {
    match Config::from_sources("kindling.toml", toml, "templates", shipped_templates()) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn shipped_config_has_the_seed_defaults() {
    let c = shipped();
    let points = |id: &str| {
        c.scoring
            .rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.points)
    };
    assert_eq!(points("email_open"), Some(5));
    assert_eq!(points("email_click"), Some(10));
    assert_eq!(points("document_download"), Some(10));
    assert_eq!(points("pricing_page_view"), Some(15));
    assert_eq!(points("seminar_signup"), Some(20));
    assert_eq!(points("consultation_request"), Some(30));
    assert_eq!(c.scoring.thresholds, Thresholds { hot: 50, warm: 30 });
    assert_eq!(c.program.default_zone, chrono_tz::Asia::Tokyo);
    assert_eq!(
        c.sending.quiet_hours.start,
        NaiveTime::from_hms_opt(22, 0, 0).unwrap()
    );
    assert_eq!(
        c.sending.quiet_hours.end,
        NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    );
    assert_eq!(
        c.sending.cap,
        FrequencyCap {
            max: 1,
            window: chrono::Duration::hours(24)
        }
    );
    let seq = c.sequence("document_followup").unwrap();
    let days: Vec<_> = seq.steps.iter().map(|s| s.at).collect();
    assert_eq!(
        days,
        vec![
            Offset::Days(0),
            Offset::Days(3),
            Offset::Days(7),
            Offset::Days(14)
        ]
    );
    assert_eq!(c.alerts.follow_up, chrono::Duration::hours(48));
    assert!(c.templates.has("doc_thanks", "ja") && c.templates.has("doc_thanks", "en"));
}

#[test]
fn page_categories_match_paths() {
    let c = shipped();
    assert_eq!(
        c.page_category("https://example.jp/pricing"),
        Some("pricing")
    );
    assert_eq!(
        c.page_category("https://example.jp/pricing/"),
        Some("pricing")
    );
    assert_eq!(
        c.page_category("https://example.jp/pricing/enterprise?x=1"),
        Some("pricing")
    );
    assert_eq!(
        c.page_category("https://example.jp/cases/acme"),
        Some("case_study")
    );
    assert_eq!(c.page_category("https://example.jp/pricingfoo"), None);
    assert_eq!(c.page_category("https://example.jp/"), None);
}

#[test]
fn syntax_errors_name_the_line() {
    let errs = errors_of("[program]\nname = \"x\"\npublic_url = \n");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("kindling.toml:3:"), "{errs:?}");
}

#[test]
fn unknown_keys_are_errors() {
    let toml = shipped_toml().replace("[alerts]\n", "[alerts]\nfollow_up_hourz = 3\n");
    let errs = errors_of(&toml);
    assert!(
        errs.iter().any(|e| e.contains("follow_up_hourz")),
        "{errs:?}"
    );
}

#[test]
fn semantic_errors_are_all_reported_with_lines() {
    let toml = shipped_toml()
        .replace(
            "default_time_zone = \"Asia/Tokyo\"",
            "default_time_zone = \"Mars/Olympus\"",
        )
        .replace(
            "sequences = [\"document_followup\"]",
            "sequences = [\"nope\"]",
        )
        .replace("template = \"doc_related\"", "template = \"missing\"")
        .replace("warm = 30", "warm = 60")
        .replace("page_category = \"pricing\"", "page_category = \"pricey\"")
        .replace(
            "from_address = \"news@example.jp\"",
            "from_address = \"not an address\"",
        )
        .replace(
            "public_url = \"https://t.example.jp\"",
            "public_url = \"http://t.example.jp\"",
        );
    let errs = errors_of(&toml);
    let line_of = |needle: &str| toml.lines().position(|l| l.contains(needle)).unwrap() + 1;
    for (needle, what) in [
        ("Mars/Olympus", "unknown time zone"),
        ("sequences = [\"nope\"]", "unknown sequence"),
        ("template = \"missing\"", "no template"),
        ("warm = 60", "must be below"),
        ("pricey", "no [[pages]] entry"),
        ("not an address", "not a valid email"),
        ("http://t.example.jp", "must be https"),
    ] {
        let prefix = format!("kindling.toml:{}:", line_of(needle));
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&prefix) && e.contains(what)),
            "expected {what:?} at {prefix} in {errs:#?}"
        );
    }
}

#[test]
fn template_problems_are_reported_per_file() {
    let mut templates = shipped_templates();
    templates.retain(|(n, _)| n != "doc_thanks.en.html");
    templates.push(("broken.ja.txt".into(), "Subject: x\n\n{% if %}\n".into()));
    templates.push(("broken.ja.html".into(), "<p>ok</p>".into()));
    templates.push(("nosubject.ja.txt".into(), "Hello\n\nbody".into()));
    templates.push(("nosubject.ja.html".into(), "<p>ok</p>".into()));
    let errs = match Config::from_sources("kindling.toml", &shipped_toml(), "templates", templates)
    {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    assert!(
        errs.iter()
            .any(|e| e.starts_with("templates/doc_thanks.en.html:1:1:") && e.contains("missing")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("templates/broken.ja.txt:3:") && e.contains("syntax")),
        "{errs:#?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("templates/nosubject.ja.txt:1:1:") && e.contains("Subject")),
        "{errs:#?}"
    );
}

#[test]
fn html_templates_escape_lead_fields_and_text_templates_do_not() {
    let c = shipped();
    #[derive(serde::Serialize)]
    struct Ctx {
        lead: std::collections::BTreeMap<&'static str, &'static str>,
        program: std::collections::BTreeMap<&'static str, &'static str>,
    }
    let ctx = Ctx {
        lead: [("name", "<script>alert(1)</script>"), ("company", "A&B")]
            .into_iter()
            .collect(),
        program: [("name", "Kindling")].into_iter().collect(),
    };
    let r = c.templates.render("doc_thanks", "en", "ja", &ctx).unwrap();
    assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
    assert!(!r.html.contains("<script>"));
    assert!(r.text.contains("Hi <script>alert(1)</script>,"));
    assert_eq!(r.subject, "Thanks for downloading our guide - Kindling");
}

#[test]
fn missing_fields_fall_back_and_missing_language_uses_the_default() {
    let c = shipped();
    let ctx = serde_json::json!({ "lead": {}, "program": { "name": "Kindling" } });
    let r = c.templates.render("doc_thanks", "fr", "ja", &ctx).unwrap();
    assert!(r.text.contains("ご担当者 様"), "{}", r.text);
    assert!(r.subject.starts_with("【資料ダウンロード】"));
}

#[test]
fn rule_limits_and_conditions_are_checked_with_lines() {
    let toml = shipped_toml().replace(
        "page_category = \"pricing\"\npoints = 15\n",
        "page_category = \"pricing\"\npoints = 15\nmax_per_day = 0\nmax_points = -5\nhalf_life_days = 0\nurl = \"pricing\"\nsequence = \"nope\"\n",
    );
    let errs = errors_of(&toml);
    for key in [
        "max_per_day",
        "max_points",
        "half_life_days",
        "scoring.rules.url",
        "unknown sequence \"nope\"",
    ] {
        assert!(
            errs.iter()
                .any(|e| e.contains(key) && e.starts_with("kindling.toml:")),
            "{key}: {errs:?}"
        );
    }
    let ok = shipped_toml().replace(
        "page_category = \"pricing\"\npoints = 15\n",
        "page_category = \"pricing\"\npoints = 15\nmax_per_week = 3\nmax_points = 45\nhalf_life_days = 30\nurl = \"/pricing*\"\n",
    );
    assert_eq!(errors_of(&ok), Vec::<String>::new());
}

#[test]
fn fit_rules_parse_and_bad_ones_name_their_line() {
    let fit = "\n[[scoring.fit]]\nid = \"decision_maker\"\nfield = \"title\"\ncontains_any = [\"VP\", \"部長\"]\npoints = 15\n\n[[scoring.fit]]\nid = \"mid\"\nfield = \"company_size\"\nbetween = [100, 999]\npoints = 10\n";
    let toml = shipped_toml().replacen("\n[[pages]]", &format!("{fit}\n[[pages]]"), 1);
    let c = Config::from_sources("kindling.toml", &toml, "templates", shipped_templates()).unwrap();
    assert_eq!(c.scoring.fit_rules.len(), 2);
    let bad = shipped_toml().replacen(
        "\n[[pages]]",
        "\n[[scoring.fit]]\nid = \"x\"\nfield = \"shoe_size\"\nany_of = []\npoints = 1\n\n[[pages]]",
        1,
    );
    let errs = errors_of(&bad);
    assert!(errs.iter().any(|e| e.contains("shoe_size")), "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("exactly one of")),
        "{errs:?}"
    );
}

#[test]
fn shipped_triggers_mql_and_realert_cooldown() {
    use crate::triggers::Condition;
    let c = shipped();
    let ids: Vec<&str> = c.triggers.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pricing_interest",
            "application_abandoned",
            "cancellation_risk",
            "not_opening"
        ]
    );
    let pricing = &c.triggers[0];
    assert!(matches!(
        &pricing.condition,
        Condition::Count { at_least: 3, within, matcher }
            if *within == chrono::Duration::days(7) && matcher.page_category.as_deref() == Some("pricing")
    ));
    assert_eq!(pricing.enroll.as_deref(), Some("consultation_invite"));
    assert_eq!(pricing.alert, Some(Audience::Sales));
    assert_eq!(pricing.cooldown, None);
    assert!(matches!(
        &c.triggers[1].condition,
        Condition::FormAbandoned { form_id, after } if form_id == "consultation" && *after == chrono::Duration::hours(1)
    ));
    assert_eq!(c.triggers[2].alert, Some(Audience::Support));
    assert_eq!(c.triggers[2].cooldown, Some(chrono::Duration::days(30)));
    assert!(matches!(
        &c.triggers[3].condition,
        Condition::Unopened { mails: 3, .. }
    ));
    assert_eq!(
        c.scoring.mql,
        Mql {
            min_total: 50,
            min_fit: None,
            min_engagement: None
        }
    );
    assert_eq!(c.alerts.realert_cooldown, chrono::Duration::days(7));
}

#[test]
fn bad_triggers_are_reported_with_lines() {
    let cases = [
        (
            "enroll = \"consultation_invite\"\nalert = \"sales\"\n",
            "enroll = \"nope\"\nalert = \"marketing\"\n",
            &["unknown sequence \"nope\"", "\"marketing\" is not one of sales or support"][..],
        ),
        (
            "when = { form_abandoned = \"consultation\", after = \"1h\" }",
            "when = { form_abandoned = \"contact\" }",
            &["unknown form \"contact\"", "form_abandoned needs `after`"][..],
        ),
        (
            "when = { unopened_mails = 3, after = \"3d\" }",
            "when = { unopened_mails = 0, after = \"3 days\" }",
            &["unopened_mails must be at least 1", "after: \"3 days\""][..],
        ),
        (
            "when = { kind = \"page_view\", page_category = \"pricing\", count = 3, within = \"7d\" }",
            "when = { kind = \"page_vue\", page_category = \"pricnig\", count = 0, within = \"7w\" }",
            &[
                "unknown activity kind \"page_vue\"",
                "no [[pages]] entry has category \"pricnig\"",
                "count must be at least 1",
                "within: \"7w\"",
            ][..],
        ),
        (
            "when = { kind = \"page_view\", page_category = \"cancellation\" }",
            "when = { kind = \"page_view\", form_abandoned = \"consultation\" }",
            &["give exactly one of kind"][..],
        ),
        (
            "alert = \"support\"\ncooldown = \"30d\"\n",
            "cooldown = \"soon\"\n",
            &["give enroll, alert or both", "triggers.cooldown"][..],
        ),
        (
            "realert_cooldown = \"7d\"",
            "realert_cooldown = \"a week\"",
            &["alerts.realert_cooldown"][..],
        ),
        (
            "mql = { min_total = 50 }",
            "mql = { }",
            &["scoring.mql: give at least one of"][..],
        ),
    ];
    for (from, to, wants) in cases {
        let toml = shipped_toml().replacen(from, to, 1);
        assert_ne!(toml, shipped_toml(), "{from:?} not found");
        let errs = errors_of(&toml);
        for want in wants {
            assert!(
                errs.iter()
                    .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
                "{want}: {errs:?}"
            );
        }
    }
}

#[test]
fn step_windows_and_the_holiday_calendar_are_checked_with_lines() {
    let c = shipped();
    assert_eq!(c.sending.holidays, Holidays::Japan);
    let invite = &c.sequence("consultation_invite").unwrap().steps[0];
    assert_eq!(
        invite.window,
        Some(SendWindow {
            start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            days: WindowDays::BusinessDays,
        })
    );
    let window = |w: &str| {
        shipped_toml().replacen(
            r#"window = { start = "10:00", end = "17:00", days = "business_days" }"#,
            w,
            1,
        )
    };
    for (toml, want) in [
        (
            window(r#"window = { start = "17:00", end = "10:00" }"#),
            "start must be before end",
        ),
        (
            window(r#"window = { start = "10:00", end = "17:00", days = "mondays" }"#),
            "\"mondays\" is not one of every, weekdays or business_days",
        ),
        (
            window(r#"window = { start = "23:00", end = "23:30" }"#),
            "inside the quiet hours",
        ),
        (
            window(r#"window = { start = "10", end = "17:00" }"#),
            "window.start",
        ),
        (
            shipped_toml().replacen("holidays = \"jp\"", "holidays = \"us\"", 1),
            "\"us\" is not one of none or jp",
        ),
        (
            shipped_toml().replacen("{ at = \"3d\"", "{ at = \"3x\"", 1),
            "\"5bd\"",
        ),
    ] {
        let errs = errors_of(&toml);
        assert!(
            errs.iter()
                .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
            "{want}: {errs:?}"
        );
    }
}

#[test]
fn exit_goals_parse_and_unknown_ones_name_their_line() {
    let c = shipped();
    assert_eq!(
        c.sequence("document_followup").unwrap().exit_when,
        [
            ExitGoal::BecameHot,
            ExitGoal::ConsultationBooked,
            ExitGoal::SalesMarked
        ]
    );
    assert_eq!(
        c.sequence("application_followup").unwrap().exit_when[0],
        ExitGoal::Submitted("consultation".into())
    );
    for (goal, want) in [
        ("\"submitted:nope\"", "unknown form \"nope\""),
        ("\"got_bored\"", "unknown goal \"got_bored\""),
    ] {
        let toml = shipped_toml().replacen(
            "exit_when = [\"became_hot\", \"consultation_booked\", \"sales_marked\"]",
            &format!("exit_when = [{goal}]"),
            1,
        );
        let errs = errors_of(&toml);
        assert!(
            errs.iter()
                .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
            "{want}: {errs:?}"
        );
    }
}

#[test]
fn priorities_and_reentry_parse_and_a_short_interval_names_its_line() {
    let c = shipped();
    let seq = |id: &str| c.sequence(id).unwrap();
    assert!(seq("consultation_invite").priority > seq("document_followup").priority);
    assert!(seq("application_followup").priority > seq("document_followup").priority);
    assert_eq!(seq("different_angle").priority, 0, "the default");
    assert_eq!(
        seq("document_followup").reentry,
        Reentry::After(chrono::Duration::days(90))
    );
    assert_eq!(seq("consultation_invite").reentry, Reentry::Never);
    for (value, want) in [
        ("\"2h\"", "sequences.reentry: at least 24h"),
        ("\"soon\"", "sequences.reentry:"),
    ] {
        let toml = shipped_toml().replacen(
            "id = \"seminar_followup\"\n",
            &format!("id = \"seminar_followup\"\nreentry = {value}\n"),
            1,
        );
        let errs = errors_of(&toml);
        assert!(
            errs.iter()
                .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
            "{want}: {errs:?}"
        );
    }
}

#[test]
fn the_breaker_parses_defaults_and_refuses_rates_at_review_levels_with_lines() {
    let b = shipped().deliverability.breaker;
    assert_eq!(b, crate::deliverability::Breaker::default());
    assert_eq!((b.bounce_rate, b.min_sends), (0.02, 500));
    assert!((b.complaint_rate - 0.0008).abs() < 1e-12);
    let line = "breaker = { bounce_rate = \"2%\", complaint_rate = \"0.08%\", window = \"7d\", min_sends = 500 }";
    assert!(shipped_toml().contains(line));
    let without = shipped_toml().replacen(line, "", 1);
    let c =
        Config::from_sources("kindling.toml", &without, "templates", shipped_templates()).unwrap();
    assert_eq!(
        c.deliverability.breaker,
        crate::deliverability::Breaker::default()
    );
    let custom = shipped_toml().replacen(
        line,
        "breaker = { bounce_rate = \"1.5 %\", window = \"24h\", min_sends = 200 }",
        1,
    );
    let c =
        Config::from_sources("kindling.toml", &custom, "templates", shipped_templates()).unwrap();
    assert_eq!(c.deliverability.breaker.bounce_rate, 0.015);
    assert_eq!(c.deliverability.breaker.window, chrono::Duration::hours(24));
    assert_eq!(c.deliverability.breaker.min_sends, 200);
    assert!(
        (c.deliverability.breaker.complaint_rate - 0.0008).abs() < 1e-12,
        "the default"
    );
    for (value, want) in [
        (
            "bounce_rate = \"5%\"",
            "sending.breaker.bounce_rate: above 0 and below 5%",
        ),
        (
            "bounce_rate = \"0%\"",
            "sending.breaker.bounce_rate: above 0",
        ),
        (
            "bounce_rate = \"2\"",
            "sending.breaker.bounce_rate: a percentage",
        ),
        (
            "complaint_rate = \"0.1%\"",
            "sending.breaker.complaint_rate: above 0 and below 0.1%",
        ),
        ("window = \"30m\"", "sending.breaker.window: from 1h to 30d"),
        ("window = \"60d\"", "sending.breaker.window: from 1h to 30d"),
        ("window = \"soon\"", "sending.breaker.window:"),
        ("min_sends = 10", "sending.breaker.min_sends: at least 100"),
        ("pause = true", "unknown field"),
    ] {
        let toml = shipped_toml().replacen(line, &format!("breaker = {{ {value} }}"), 1);
        let errs = errors_of(&toml);
        assert!(
            errs.iter()
                .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
            "{want}: {errs:?}"
        );
    }
}

#[test]
fn ab_tests_parse_and_bad_ones_name_their_line() {
    let c = shipped();
    let test = c.sequence("different_angle").unwrap().steps[0]
        .ab
        .clone()
        .unwrap();
    assert_eq!(
        test.variants,
        ["different_angle", "different_angle_question"]
    );
    assert_eq!(test.metric, crate::sending::ab::Metric::Open);
    assert_eq!((test.sample, test.confidence), (200, 0.95));
    let shipped_ab = "ab = { with = [\"different_angle_question\"], metric = \"open\", sample = 200, confidence = 0.95 }";
    assert!(shipped_toml().contains(shipped_ab));
    for (ab, want) in [
        (
            "ab = { with = [\"nope\"], sample = 200 }",
            "no template \"nope\"",
        ),
        (
            "ab = { with = [\"different_angle\"], sample = 200 }",
            "already a variant",
        ),
        (
            "ab = { with = [], sample = 200 }",
            "at least one other template",
        ),
        (
            "ab = { with = [\"doc_related\"], sample = 5 }",
            "at least 30 sends",
        ),
        (
            "ab = { with = [\"doc_related\"], sample = 200, metric = \"reply\" }",
            "not one of click or open",
        ),
        (
            "ab = { with = [\"doc_related\"], sample = 200, confidence = 1.5 }",
            "between 0.5 and 1",
        ),
    ] {
        let errs = errors_of(&shipped_toml().replacen(shipped_ab, ab, 1));
        assert!(
            errs.iter()
                .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
            "{want}: {errs:?}"
        );
    }
}

#[test]
fn the_list_id_namespace_defaults_to_the_senders_domain_and_is_checked() {
    assert_eq!(shipped().program.list_id, "kindling.example.jp");
    let set = shipped_toml().replace(
        "respect_gpc = true\n",
        "respect_gpc = true\nlist_id = \"news.example.jp\"\n",
    );
    let c = Config::from_sources("kindling.toml", &set, "templates", shipped_templates())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.program.list_id, "news.example.jp");
    let bad = shipped_toml().replace(
        "respect_gpc = true\n",
        "respect_gpc = true\nlist_id = \"News Letter\"\n",
    );
    let errs = errors_of(&bad);
    let line = bad.lines().position(|l| l.contains("list_id")).unwrap() + 1;
    assert!(
        errs.iter()
            .any(|e| e.starts_with(&format!("kindling.toml:{line}:")) && e.contains("RFC 2919")),
        "{errs:?}"
    );
}

#[test]
fn public_urls_are_https_or_plain_http_on_loopback_only() {
    for ok in [
        "https://t.example.jp",
        "http://127.0.0.1:8787",
        "http://localhost:8787",
        "http://[::1]:8787",
        "http://127.0.0.2",
    ] {
        assert_eq!(check_public_url(ok), Ok(()), "{ok}");
    }
    for bad in [
        "http://t.example.jp",
        "http://192.168.1.10:8787",
        "http://localhost.example.jp",
        "ftp://t.example.jp",
        "t.example.jp",
    ] {
        assert!(check_public_url(bad).is_err(), "{bad}");
    }
    assert!(check_public_url("http://t.example.jp")
        .unwrap_err()
        .contains("RFC 8058"));
}

#[test]
fn soft_bounce_suppression_defaults_and_limits() {
    let d = shipped().deliverability.soft_bounces;
    assert_eq!((d.count, d.within), (3, chrono::Duration::days(7)));
    let custom = shipped_toml().replace(
        "soft_bounces = { count = 3, within = \"7d\" }",
        "soft_bounces = { count = 5, within = \"14d\" }",
    );
    let c = Config::from_sources("kindling.toml", &custom, "templates", shipped_templates())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            c.deliverability.soft_bounces.count,
            c.deliverability.soft_bounces.within
        ),
        (5, chrono::Duration::days(14))
    );
    for (bad, why) in [
        ("{ count = 1 }", "from 2 to 20"),
        ("{ count = 21 }", "from 2 to 20"),
        ("{ within = \"12h\" }", "from 1d to 30d"),
        ("{ within = \"40d\" }", "from 1d to 30d"),
        ("{ within = \"soon\" }", "soft_bounces.within"),
        ("{ cnt = 3 }", "cnt"),
    ] {
        let toml = shipped_toml().replace(
            "soft_bounces = { count = 3, within = \"7d\" }",
            &format!("soft_bounces = {bad}"),
        );
        let line = toml
            .lines()
            .position(|l| l.starts_with("soft_bounces"))
            .unwrap()
            + 1;
        let errs = errors_of(&toml);
        assert!(
            errs.iter()
                .any(|e| e.starts_with(&format!("kindling.toml:{line}:")) && e.contains(why)),
            "{bad}: {errs:?}"
        );
    }
}

#[test]
fn every_bad_name_is_reported_at_once_with_what_it_may_be() {
    let toml = shipped_toml()
        .replacen("kind = \"email_open\"", "kind = \"email_opened\"", 1)
        .replacen("repeat = \"once_per_message\"", "repeat = \"twice\"", 1)
        .replace("holidays = \"jp\"", "holidays = \"us\"");
    let errs = errors_of(&toml);
    for want in [
        "scoring.rules.kind: \"email_opened\" is not one of page_view, page_leave,",
        "scoring.rules.repeat: \"twice\" is not one of every, once_per_message or once",
        "sending.holidays: \"us\" is not one of none or jp",
    ] {
        assert!(errs.iter().any(|e| e.contains(want)), "{want}: {errs:?}");
    }
}

#[test]
fn topics_parse_and_every_sequence_names_a_known_one() {
    use crate::deliverability::topics::OneClick;
    let c = shipped();
    let ids: Vec<&str> = c
        .deliverability
        .topics
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(ids, ["newsletter", "events", "product_updates"]);
    assert_eq!(c.deliverability.one_click, OneClick::Topic);
    assert_eq!(
        c.sequence("seminar_followup").unwrap().topic.as_deref(),
        Some("events")
    );
    let toml = shipped_toml();
    for (edited, want) in [
        (
            toml.replacen("topic = \"events\"\n", "", 1),
            "sequences: name its topic",
        ),
        (
            toml.replacen("topic = \"events\"\n", "topic = \"webinars\"\n", 1),
            "sequences.topic: \"webinars\" is not a [[topics]] id",
        ),
        (
            toml.replacen("id = \"events\"", "id = \"newsletter\"", 1),
            "topics: duplicate topic id \"newsletter\"",
        ),
        (
            toml.replacen("one_click = \"topic\"", "one_click = \"sometimes\"", 1),
            "unsubscribe.one_click: \"sometimes\" is not one of",
        ),
    ] {
        let errs = errors_of(&edited);
        assert!(
            errs.iter()
                .any(|e| e.contains(want) && e.starts_with("kindling.toml:")),
            "{want}: {errs:?}"
        );
    }
    // A program without topics needs none on its sequences.
    let mut bare = String::new();
    let mut skip = false;
    for line in toml.lines() {
        if line == "[[topics]]" {
            skip = true;
        } else if line.starts_with('[') {
            skip = false;
        }
        if !skip && !line.starts_with("topic = ") {
            bare.push_str(line);
            bare.push('\n');
        }
    }
    assert_eq!(errors_of(&bare), Vec::<String>::new());
}

#[test]
fn a_broadcast_cap_policy_parses_and_a_contradiction_names_its_line() {
    assert!(shipped().broadcasts.counts_toward_cap, "the default");
    let toml = shipped_toml() + "\n[broadcasts]\ncounts_toward_cap = false\n";
    assert_eq!(errors_of(&toml), Vec::<String>::new());
    let errs = errors_of(&(toml + "when_capped = \"skip\"\n"));
    assert!(
        errs.iter().any(|e| e.starts_with("kindling.toml:")
            && e.contains("broadcasts.when_capped: a broadcast that does not count")),
        "{errs:?}"
    );
}

#[test]
fn a_local_head_start_parses_and_more_than_a_day_names_its_line() {
    assert_eq!(
        shipped().broadcasts.local_head_start,
        chrono::Duration::minutes(60),
        "the default"
    );
    let toml = shipped_toml() + "\n[broadcasts]\nlocal_head_start_minutes = 0\n";
    assert_eq!(errors_of(&toml), Vec::<String>::new());
    let errs = errors_of(&(shipped_toml() + "\n[broadcasts]\nlocal_head_start_minutes = 1441\n"));
    assert!(
        errs.iter().any(|e| e.starts_with("kindling.toml:")
            && e.contains("broadcasts.local_head_start_minutes: at most 1440")),
        "{errs:?}"
    );
}

#[test]
fn test_send_addresses_parse_and_a_bad_or_repeated_one_names_its_line() {
    let addresses: Vec<String> = shipped()
        .broadcasts
        .test_addresses
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(addresses, ["marketing@example.jp", "review@example.jp"]);
    let with = |list: &str| {
        shipped_toml().replace(
            "addresses = [\"marketing@example.jp\", \"review@example.jp\"]",
            &format!("addresses = [{list}]"),
        )
    };
    let errs = errors_of(&with("\"marketing@example.jp\", \"not an address\""));
    assert!(
        errs.iter().any(|e| e.starts_with("kindling.toml:")
            && e.contains("broadcasts.test_send.addresses: \"not an address\" is not a valid")),
        "{errs:?}"
    );
    let errs = errors_of(&with("\"a@example.jp\", \"A@Example.jp\""));
    assert!(
        errs.iter().any(|e| e.contains("is listed twice")),
        "{errs:?}"
    );
    let many: Vec<String> = (0..21).map(|i| format!("\"r{i}@example.jp\"")).collect();
    let errs = errors_of(&with(&many.join(", ")));
    assert!(errs.iter().any(|e| e.contains("at most 20")), "{errs:?}");
}

#[test]
fn api_limits_parse_and_a_bad_one_names_its_line() {
    use crate::web::routes::RouteId;
    let c = shipped();
    assert_eq!(c.api.send_rate, 100);
    assert_eq!(c.api.of(RouteId::Click).unwrap().rate, 400);
    let toml = shipped_toml().replace(
        "send_rate = 100",
        "send_rate = 50\nstage = { rate = 300 }\nlimits.click = { rate = 150, burst = 300 }\nlimits.one_click = { rate = 40 }",
    );
    assert_eq!(errors_of(&toml), Vec::<String>::new());
    let c = Config::from_sources("kindling.toml", &toml, "templates", shipped_templates()).unwrap();
    assert_eq!((c.api.stage.rate, c.api.stage.burst), (300, 600));
    assert_eq!(c.api.of(RouteId::OneClick).unwrap().burst, 80);
    // 150 clicks a second at 2 a mail with 2x headroom carries 37.5 mails a second.
    assert!((c.api.max_send_rate() - 37.5).abs() < 1e-9);
    for (bad, message) in [
        (
            "limits.clicks = { rate = 5 }",
            "api.limits: \"clicks\" is not a route",
        ),
        (
            "limits.click = { rate = 0 }",
            "api.limits.click: rate must be at least 1",
        ),
        (
            "limits.click = { rate = 10, burst = 5 }",
            "burst at least the rate",
        ),
        ("send_rate = 0", "api.send_rate: mails a second"),
    ] {
        let toml = shipped_toml().replace("send_rate = 100", bad);
        let errs = errors_of(&toml);
        assert!(
            errs.iter()
                .any(|e| e.starts_with("kindling.toml:") && e.contains(message)),
            "{bad}: {errs:?}"
        );
    }
}
