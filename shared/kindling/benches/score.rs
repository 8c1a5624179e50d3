//! Rescoring a lead from its whole log: 1,000 activities (page views, opens, clicks, forms) under
//! the shipped rules. `cargo bench -p kindling --bench score` (BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kindling::activity::{Activity, ActivityKind, Attrs, Subject};
use kindling::config::Config;
use kindling::ids::{ActivityId, EnrollmentId, LeadId};
use kindling::score::score;
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
                id: ActivityId::new(format!("act{i:06}")),
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
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let mut g = c.benchmark_group("rescore");
    for n in [100usize, 1_000, 10_000] {
        let activities = log(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("activities", n), &activities, |b, a| {
            b.iter(|| score(a, &config.rules, config.thresholds, now))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
