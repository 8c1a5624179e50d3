//! The rule language: limits per day and week, total caps, decay by half-life, and URL, sequence
//! and step conditions.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::ids::{ActivityId, LeadId};
use kindling::scoring::{score, Repeat, Rule, Thresholds};

const TH: Thresholds = Thresholds { hot: 50, warm: 30 };

/// Monday 2026-11-02 09:00 UTC.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn rule(points: i64) -> Rule {
    Rule {
        id: "pricing".into(),
        kind: ActivityKind::PageView,
        page_category: None,
        form_id: None,
        url: None,
        sequence_id: None,
        step: None,
        points,
        repeat: Repeat::Every,
        max_per_day: None,
        max_per_week: None,
        max_points: None,
        half_life_days: None,
    }
}

fn view(i: u32, at: DateTime<Utc>, url: &str) -> Activity {
    Activity {
        id: ActivityId::new(format!("v{i}")),
        subject: Subject::Lead(LeadId::new("L1")),
        kind: ActivityKind::PageView,
        at,
        attrs: Attrs {
            url: Some(url.into()),
            ..Attrs::default()
        },
    }
}

fn views(n: u32, every: Duration) -> Vec<Activity> {
    (0..n)
        .map(|i| view(i, monday() + every * i as i32, "https://example.jp/pricing"))
        .collect()
}

#[test]
fn at_most_n_per_day_and_per_week() {
    let log = views(14, Duration::hours(12)); // two a day for a week
    let per_day = Rule {
        max_per_day: Some(1),
        ..rule(15)
    };
    let card = score(&log, &[per_day], TH, monday() + Duration::days(8));
    assert_eq!((card.breakdown[0].count, card.total), (7, 105));
    let per_week = Rule {
        max_per_week: Some(3),
        ..rule(15)
    };
    let card = score(&log, &[per_week], TH, monday() + Duration::days(8));
    assert_eq!(
        (card.breakdown[0].count, card.total),
        (3, 45),
        "Monday's week only"
    );
    // The next Monday starts a new week.
    let mut two_weeks = log.clone();
    two_weeks.push(view(
        99,
        monday() + Duration::days(7),
        "https://example.jp/pricing",
    ));
    let card = score(
        &two_weeks,
        &[Rule {
            max_per_week: Some(3),
            ..rule(15)
        }],
        TH,
        monday() + Duration::days(8),
    );
    assert_eq!(card.breakdown[0].count, 4);
}

#[test]
fn a_total_cap_stops_the_rule_and_clamps_the_last_award() {
    let log = views(5, Duration::hours(1));
    let capped = Rule {
        max_points: Some(40),
        ..rule(15)
    };
    let card = score(&log, &[capped], TH, monday() + Duration::days(1));
    assert_eq!(
        (card.breakdown[0].count, card.total),
        (3, 40),
        "15 + 15 + 10"
    );
    let negative = Rule {
        max_points: Some(-20),
        ..rule(-15)
    };
    let card = score(&log, &[negative], TH, monday() + Duration::days(1));
    assert_eq!(card.total, -20);
}

#[test]
fn decay_halves_an_award_per_half_life_and_never_increases_a_score() {
    let log = vec![view(1, monday(), "https://example.jp/pricing")];
    let decaying = Rule {
        half_life_days: Some(30),
        ..rule(40)
    };
    for (days, expected) in [(0, 40), (30, 20), (60, 10), (90, 5)] {
        let card = score(
            &log,
            std::slice::from_ref(&decaying),
            TH,
            monday() + Duration::days(days),
        );
        assert_eq!(card.total, expected, "after {days} days");
        assert_eq!(card.breakdown[0].undecayed, 40);
    }
    let log = views(20, Duration::hours(7));
    let now = monday() + Duration::days(10);
    let plain = score(&log, &[rule(15)], TH, now).total;
    let decayed = score(
        &log,
        &[Rule {
            half_life_days: Some(7),
            ..rule(15)
        }],
        TH,
        now,
    )
    .total;
    assert!(decayed < plain && decayed > 0, "{decayed} vs {plain}");
}

#[test]
fn url_sequence_and_step_conditions() {
    let log = vec![
        view(1, monday(), "https://example.jp/docs/setup?utm_source=x"),
        view(2, monday(), "https://example.jp/docs"),
        view(3, monday(), "https://example.jp/pricing#plans"),
        view(4, monday(), "https://example.jp/documentation"),
    ];
    let docs = Rule {
        url: Some("/docs/*".into()),
        ..rule(5)
    };
    assert_eq!(score(&log, &[docs], TH, monday()).breakdown[0].count, 1);
    let exact = Rule {
        url: Some("/pricing".into()),
        ..rule(5)
    };
    assert_eq!(score(&log, &[exact], TH, monday()).breakdown[0].count, 1);
    let prefix = Rule {
        url: Some("/doc*".into()),
        ..rule(5)
    };
    assert_eq!(score(&log, &[prefix], TH, monday()).breakdown[0].count, 3);

    let mut click = view(5, monday(), "https://example.jp/case");
    click.kind = ActivityKind::EmailClick;
    click.attrs.sequence_id = Some("document_followup".into());
    click.attrs.step = Some(3);
    let invite = Rule {
        kind: ActivityKind::EmailClick,
        sequence_id: Some("document_followup".into()),
        step: Some(3),
        ..rule(25)
    };
    assert_eq!(
        score(
            std::slice::from_ref(&click),
            std::slice::from_ref(&invite),
            TH,
            monday()
        )
        .total,
        25
    );
    let other_step = Rule {
        step: Some(2),
        ..invite
    };
    assert_eq!(score(&[click], &[other_step], TH, monday()).total, 0);
}

fn lead(title: &str, industry: &str, size: &str, email: &str) -> kindling::leads::Lead {
    let mut l = kindling::leads::Lead::new(
        LeadId::new("L1"),
        kindling::email::EmailAddress::parse(email).unwrap(),
        monday(),
    );
    l.profile.title = Some(title.into());
    l.profile.industry = Some(industry.into());
    l.profile.company_size = Some(size.into());
    l
}

fn fit_rules() -> Vec<kindling::scoring::FitRule> {
    use kindling::scoring::{FitField, FitRule, FitTest};
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        FitRule {
            id: "decision_maker".into(),
            field: FitField::Title,
            test: FitTest::ContainsAny(words(&[
                "CEO",
                "VP",
                "Director",
                "部長",
                "取締役",
                "本部長",
            ])),
            points: 15,
        },
        FitRule {
            id: "target_industry".into(),
            field: FitField::Industry,
            test: FitTest::AnyOf(words(&["Manufacturing", "製造業"])),
            points: 10,
        },
        FitRule {
            id: "mid_market".into(),
            field: FitField::CompanySize,
            test: FitTest::Between(100, 999),
            points: 10,
        },
        FitRule {
            id: "free_mail".into(),
            field: FitField::EmailDomain,
            test: FitTest::AnyOf(words(&["gmail.com", "yahoo.co.jp"])),
            points: -10,
        },
        FitRule {
            id: "competitor".into(),
            field: FitField::EmailDomain,
            test: FitTest::AnyOf(words(&["rival.example"])),
            points: -50,
        },
    ]
}

#[test]
fn score_is_fit_plus_engagement_with_both_explained() {
    use kindling::scoring::score_lead;
    let log = views(2, Duration::hours(1));
    let rules = [rule(15)];
    let buyer = lead("営業本部長", "製造業", "250名", "sato@kaisha-a.co.jp");
    let card = score_lead(
        &buyer,
        &log,
        &rules,
        &fit_rules(),
        TH,
        monday() + Duration::days(1),
    );
    assert_eq!((card.fit, card.engagement, card.total), (35, 30, 65));
    assert_eq!(card.temperature, kindling::leads::Temperature::Hot);
    let fit: Vec<(&str, &str)> = card
        .fit_breakdown
        .iter()
        .map(|f| (f.rule.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        fit,
        vec![
            ("decision_maker", "営業本部長"),
            ("target_industry", "製造業"),
            ("mid_market", "250名")
        ]
    );

    let student = lead("Intern", "Education", "1,000+", "someone@gmail.com");
    let card = score_lead(
        &student,
        &log,
        &rules,
        &fit_rules(),
        TH,
        monday() + Duration::days(1),
    );
    assert_eq!((card.fit, card.total), (-10, 20));
    let rival = lead("VP Sales", "Manufacturing", "100-499", "spy@rival.example");
    let card = score_lead(
        &rival,
        &log,
        &rules,
        &fit_rules(),
        TH,
        monday() + Duration::days(1),
    );
    assert_eq!(card.fit, 15 + 10 + 10 - 50);
    assert_eq!(
        card.temperature,
        kindling::leads::Temperature::Cold,
        "competitors do not turn hot"
    );
}
