//! Rescoring a lead from its whole log: 1,000 activities (page views, opens, clicks, forms) under
//! the shipped rules. `rescore` is the score alone; `plan` is everything a rescore computes
//! (score, transitions, the shipped triggers, the next recheck) from the raw log; `segments`
//! evaluates ten segments over the log a rescore has already cleaned (what segments add to it).
//! `cargo bench -p kindling --bench score` (BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kindling::activities::log::clean_log;
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::config::Config;
use kindling::email::EmailAddress;
use kindling::ids::{ActivityId, EnrollmentId, LeadId};
use kindling::leads::Lead;
use kindling::scoring::score;
use kindling::scoring::state::ScoreState;
use kindling::scoring::{plan, plan_scored};
use std::path::PathBuf;

fn log(n: usize) -> Vec<Activity> {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let kind = match i % 10 {
                0..=4 => ActivityKind::PageView,
                5 | 6 => ActivityKind::EmailOpen,
                7 => ActivityKind::EmailClick,
                8 => ActivityKind::PageLeave,
                _ => ActivityKind::DocumentDownload,
            };
            let mail = matches!(kind, ActivityKind::EmailOpen | ActivityKind::EmailClick);
            Activity {
                // 32 characters, like the ids Kindling makes (UUIDv7 without dashes).
                id: ActivityId::new(format!(
                    "{:016x}{:016x}",
                    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    i
                )),
                subject: Subject::Lead(LeadId::new("L1")),
                kind,
                at: t0 + Duration::minutes(i as i64 * 37),
                attrs: Attrs {
                    url: Some(format!("https://example.jp/page{}.html", i % 17)),
                    page_category: (i % 3 == 0).then(|| "pricing".to_owned()),
                    enrollment_id: mail.then(|| EnrollmentId::new(format!("E{}", i % 13))),
                    step: mail.then_some((i % 4) as u32),
                    link: (kind == ActivityKind::EmailClick).then_some((i % 3) as u16),
                    ..Attrs::default()
                },
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config =
        Config::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")).unwrap();
    // Every activity is in the past (37 minutes apart from 2026-01-05): all of them count.
    let now_for = |n: usize| {
        Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap() + Duration::minutes(n as i64 * 37 + 60)
    };
    let mut g = c.benchmark_group("rescore");
    for n in [100usize, 1_000, 10_000] {
        let activities = log(n);
        let now = now_for(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("activities", n), &activities, |b, a| {
            b.iter(|| score(a, &config.scoring.rules, config.scoring.thresholds, now))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("plan");
    let n = 1_000usize;
    let activities = log(n);
    let now = now_for(n);
    let lead = Lead::new(
        LeadId::new("L1"),
        EmailAddress::parse("a@example.jp").unwrap(),
        now,
    );
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(BenchmarkId::new("activities", n), &activities, |b, a| {
        b.iter(|| plan(&config.for_scoring(), &lead, &clean_log(a, now), now))
    });
    g.bench_with_input(BenchmarkId::new("clean_log", n), &activities, |b, a| {
        b.iter(|| clean_log(a, now).len())
    });
    // The incremental path: the lead's score state after 1,000 activities, then one new
    // activity placed, the horizon moved, the view made, scored and planned (what a rescore
    // does when the lead holds a usable state; the JSON decode of the lead is not included).
    let sections = config.for_scoring();
    let state = ScoreState::build(
        &sections,
        sections.fingerprint,
        Vec::new(),
        &activities,
        now,
    );
    let settled_lead = plan(&sections, &lead, &clean_log(&activities, now), now).lead;
    let next = {
        let mut a = log(n + 1).pop().unwrap();
        a.at = now;
        a
    };
    eprintln!(
        "score state after {n} activities: {} kept, {} bytes as JSON",
        state.kept.len(),
        serde_json::to_string(&state).unwrap().len()
    );
    g.bench_with_input(BenchmarkId::new("incremental", n), &next, |b, a| {
        b.iter(|| {
            let mut s = state.clone();
            s.place(a, false);
            s.advance(&sections, now);
            let view = s.view(now);
            let card = kindling::scoring::with_fit(
                s.card(&sections, &view, now),
                &settled_lead,
                &sections.scoring.fit_rules,
                sections.scoring.thresholds,
            );
            plan_scored(&sections, &settled_lead, &view, card, now)
        })
    });
    // The rescore plan without segments and stages, and with ten segments and the four
    // shipped stages: the difference is what membership and stages add to every rescore.
    let mut bare = config.clone();
    bare.segments.clear();
    bare.stages.clear();
    let mut ten = config.clone();
    ten.segments = ten_segments(&config);
    assert_eq!(ten.stages.len(), 4);
    // Each measured on the lead as its previous rescore left it (stage reached, segments
    // stored): the steady state of a lead's next activity.
    let settled =
        |c: &Config| plan(&c.for_scoring(), &lead, &clean_log(&activities, now), now).lead;
    let (bare_lead, ten_lead) = (settled(&bare), settled(&ten));
    assert!(!ten_lead.segments.is_empty() && ten_lead.stage().is_some());
    g.bench_with_input(BenchmarkId::new("bare", n), &activities, |b, a| {
        b.iter(|| plan(&bare.for_scoring(), &bare_lead, &clean_log(a, now), now))
    });
    g.bench_with_input(
        BenchmarkId::new("ten_segments_four_stages", n),
        &activities,
        |b, a| b.iter(|| plan(&ten.for_scoring(), &ten_lead, &clean_log(a, now), now)),
    );
    g.finish();
    let mut g = c.benchmark_group("segments");
    let segments = ten_segments(&config);
    let clean = clean_log(&activities, now);
    let facts = kindling::segments::Facts {
        lead: &lead,
        total: 60,
        fit: 10,
        engagement: 50,
        temperature: kindling::leads::Temperature::Hot,
        mql: true,
        stage: None,
    };
    g.throughput(Throughput::Elements(segments.len() as u64));
    g.bench_function(BenchmarkId::new("ten_segments", n), |b| {
        b.iter(|| {
            kindling::segments::evaluate_all(&segments, &facts, &clean, now)
                .iter()
                .filter(|(_, v)| v.member)
                .count()
        })
    });
    g.bench_function(BenchmarkId::new("four_stages", n), |b| {
        b.iter(|| {
            kindling::segments::stages::next_stage(&config.stages, None, &facts, &clean, now)
                .is_some()
        })
    });
    g.finish();
}

/// The three shipped segments and seven more of the kinds programs write: windowed counts,
/// mail reactions, score bounds, combinations.
fn ten_segments(config: &Config) -> Vec<kindling::segments::Segment> {
    use kindling::activities::Matcher;
    use kindling::segments::{Cond, Measure, Recent, Segment};
    let did = |kind, page_category: Option<&str>, at_least, days: Option<i64>| Cond::Did {
        matcher: Matcher {
            kind,
            page_category: page_category.map(str::to_owned),
            form_id: None,
            url: None,
        },
        at_least,
        within: days.map(Duration::days),
    };
    let mut out = config.segments.clone();
    let more = [
        did(ActivityKind::PageView, Some("pricing"), 5, Some(14)),
        did(ActivityKind::DocumentDownload, None, 2, None),
        Cond::Engaged {
            clicks: false,
            recent: Recent::Within(Duration::days(30)),
        },
        Cond::Engaged {
            clicks: true,
            recent: Recent::LastMails(5),
        },
        Cond::Unopened(5),
        Cond::All(vec![
            Cond::Score {
                of: Measure::Engagement,
                at_least: Some(30),
                below: None,
            },
            Cond::Not(Box::new(did(
                ActivityKind::PageView,
                Some("case_study"),
                1,
                Some(30),
            ))),
        ]),
        Cond::Any(vec![
            Cond::Temperature(vec![kindling::leads::Temperature::Hot]),
            did(ActivityKind::PageLeave, None, 10, Some(7)),
        ]),
    ];
    for (i, when) in more.into_iter().enumerate() {
        out.push(Segment {
            id: format!("bench_{i}").into(),
            label: None,
            when,
            definition: serde_json::Value::Null,
        });
    }
    assert_eq!(out.len(), 10);
    out
}

criterion_group!(benches, bench);
criterion_main!(benches);
