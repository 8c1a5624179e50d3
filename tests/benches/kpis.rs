//! The KPIs on the embedded store (SQLite file, WAL): counting one fact (an open with its
//! mail's breakdowns: one transaction), and reading a year by week from the buckets a year of a
//! 100,000-lead program leaves (every day: sends, opens, clicks, bounces, unsubscribes, new
//! leads, MQLs and wins, broken down by 5 sequences of 4 steps with 2 templates each, 3 topics,
//! 4 stages, 3 forms and 10 campaigns, plus a broadcast a week). The read does not depend on the
//! number of leads, only on the days and the breakdowns' values.
//! `cargo bench -p kindling-tests --bench kpis` (BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use kindling::activities::classify::Agent;
use kindling::activities::{ActivityKind, Attrs};
use kindling::ids::{ActivityId, EnrollmentId, LeadId, SequenceId, TemplateId};
use kindling::kpis::count::{m, KEEP_DAYS, TOTALS};
use kindling::kpis::period::bucket_of;
use kindling::kpis::{Dim, KpiQuery};
use kindling::ports::{Add, Once};
use kindling::tracking::events::ActivityRecorded;
use kindling_tests::harness::{shipped_config, TestApp};
use std::sync::atomic::{AtomicU64, Ordering};

/// A day's counts of a 100,000-lead program (about 3,000 mails a day).
const DAY: [(&str, u64); 10] = [
    (m::SENT, 3_000),
    (m::OPENED, 700),
    (m::OPEN_HITS, 1_400),
    (m::MACHINE_OPENS, 500),
    (m::CLICKED, 90),
    (m::CLICK_HITS, 150),
    (m::BOUNCED_HARD, 10),
    (m::UNSUBSCRIBED, 6),
    (m::NEW_LEADS, 270),
    (m::MQL, 20),
];

fn year_of_buckets(end: chrono::NaiveDate) -> Vec<Once> {
    let mut values: Vec<(Dim, String)> = Vec::new();
    for s in 0..5 {
        values.push((Dim::Sequence, format!("seq{s}")));
        for step in 1..=4 {
            values.push((Dim::Step, format!("seq{s}/{step}")));
            for t in 0..2 {
                values.push((Dim::Template, format!("seq{s}_{step}_{t}")));
            }
        }
    }
    for t in 0..3 {
        values.push((Dim::Topic, format!("topic{t}")));
    }
    for st in ["awareness", "interest", "consideration", "decision"] {
        values.push((Dim::Stage, st.to_owned()));
    }
    for f in 0..3 {
        values.push((Dim::Form, format!("form{f}")));
    }
    for c in 0..10 {
        values.push((Dim::Campaign, format!("campaign{c}")));
    }
    (0..365)
        .map(|d| {
            let day = end - chrono::Days::new(d);
            let b = bucket_of(day);
            let mut adds = Vec::new();
            let mut add = |series: String, bucket: String| {
                for (c, by) in DAY {
                    adds.push(Add {
                        series: series.clone(),
                        bucket: bucket.clone(),
                        counter: c.to_owned(),
                        by,
                    });
                }
            };
            add(TOTALS.to_owned(), b.clone());
            for (dim, v) in &values {
                add(dim.series(), format!("{b}|{v}"));
            }
            add(Dim::Broadcast.series(), format!("{b}|weekly{}", d / 7));
            Once {
                unit: format!("bench/{b}"),
                adds,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 1, 0, 0).unwrap();
    let t = TestApp::with_config(shipped_config(), now);
    let k = t.app.kindling.clone();
    let today = now.date_naive();
    rt.block_on(async {
        for group in year_of_buckets(today) {
            k.stores
                .tallies
                .tally_each_once(TOTALS, &[group], KEEP_DAYS, now)
                .await
                .unwrap();
        }
    });

    let mut g = c.benchmark_group("kpis on the embedded store");
    let year = |by: &[&str]| KpiQuery {
        since: Some((today - chrono::Days::new(364)).to_string()),
        until: Some(today.to_string()),
        period: Some("week".into()),
        by: by.iter().map(|s| s.to_string()).collect(),
    };
    for (name, q) in [
        ("a year by week", year(&[])),
        (
            "a year by week, by sequence, step and form",
            year(&["sequence", "step", "form"]),
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(kindling::kpis::kpis(&k.kpis(), &q)).unwrap())
        });
    }

    // Counting one person's open of a step mail: the lead read, one transaction.
    let n = AtomicU64::new(0);
    g.bench_function("count an open", |b| {
        b.iter(|| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let e = ActivityRecorded {
                duplicate: false,
                activity_id: ActivityId::new(format!("open{i}")),
                lead_id: Some(LeadId::new(format!("lead{}", i % 1000))),
                visitor_id: None,
                kind: ActivityKind::EmailOpen,
                at: now,
                broadcast_id: None,
                attrs: Attrs {
                    sequence_id: Some(SequenceId::new("document_followup")),
                    enrollment_id: Some(EnrollmentId::new(format!("e{i}"))),
                    step: Some(1),
                    template: Some(TemplateId::new("doc_day3")),
                    agent: Some(Agent::Human),
                    sent_at: Some(now - Duration::hours(2)),
                    ..Attrs::default()
                },
            };
            rt.block_on(kindling::kpis::count_activity(&k.kpis(), &e))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
