//! Activities per second through the score use case on the embedded store (SQLite file, WAL):
//! each new activity is recorded, then `activity.recorded.v1` is handled as the score function
//! does (read the lead, place the activity in its score state, plan: score, transitions,
//! triggers; store), and, beside it, rescored from the whole log as before the score state.
//! Leads have 50 or 1,000 activities of history. `cargo bench -p kindling-tests --bench score`
//! (BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::app::on_activity_recorded;
use kindling::email::EmailAddress;
use kindling::ids::{ActivityId, LeadId};
use kindling::leads::Lead;
use kindling::tracking::events::ActivityRecorded;
use kindling_tests::harness::TestApp;
use std::sync::atomic::{AtomicU64, Ordering};

const LEADS: u64 = 100;

fn activity(lead: &LeadId, id: String, i: u64, at: chrono::DateTime<chrono::Utc>) -> Activity {
    let pricing = i.is_multiple_of(5);
    Activity {
        id: ActivityId::new(id),
        subject: Subject::Lead(lead.clone()),
        kind: ActivityKind::PageView,
        at,
        attrs: Attrs {
            url: Some(
                if pricing {
                    "https://example.jp/pricing.html"
                } else {
                    "https://example.jp/blog/post.html"
                }
                .into(),
            ),
            page_category: pricing.then(|| "pricing".to_owned()),
            ..Attrs::default()
        },
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("score use case");
    for history in [50u64, 1_000] {
        let t = TestApp::new();
        let k = t.app.kindling.clone();
        let leads: Vec<LeadId> = rt.block_on(async {
            let mut ids = Vec::new();
            for l in 0..LEADS {
                let id = LeadId::new(format!("lead{l:04}"));
                let lead = Lead::new(
                    id.clone(),
                    EmailAddress::parse(&format!("l{l}@example.jp")).unwrap(),
                    t.now(),
                );
                k.stores.leads.insert_lead(&lead).await.unwrap();
                // History spread over the last 60 days.
                for i in 0..history {
                    let at = t.now() - Duration::minutes(((history - i) * 86_400 / history) as i64);
                    let a = activity(&id, format!("h{l}x{i}"), i, at);
                    k.stores.activities.record(&a).await.unwrap();
                }
                ids.push(id);
            }
            ids
        });
        let seq = AtomicU64::new(0);
        // The next lead in turn and a new page view of it, recorded.
        let recorded = |rt: &tokio::runtime::Runtime| {
            let i = seq.fetch_add(1, Ordering::Relaxed);
            let lead = &leads[(i % LEADS) as usize];
            let a = activity(lead, format!("n{i}"), i, k.clock.now());
            rt.block_on(k.stores.activities.record(&a)).unwrap();
            (lead, a)
        };
        g.throughput(Throughput::Elements(1));
        g.bench_function(
            format!("activity on a lead with {history} activities"),
            |b| {
                b.iter(|| {
                    let (lead, a) = recorded(&rt);
                    rt.block_on(async {
                        let e = ActivityRecorded {
                            duplicate: false,
                            activity_id: a.id.clone(),
                            lead_id: Some(lead.clone()),
                            visitor_id: None,
                            kind: a.kind,
                            at: a.at,
                            broadcast_id: None,
                            attrs: Default::default(),
                        };
                        on_activity_recorded(&k, &e).await.unwrap();
                    });
                })
            },
        );
        // The same, rescored from the whole log as every rescore was before the score state.
        g.bench_function(
            format!("activity on a lead with {history} activities, log read"),
            |b| {
                b.iter(|| {
                    let (lead, _) = recorded(&rt);
                    rt.block_on(async {
                        let rebuild = kindling::scoring::Fresh::Rebuild;
                        kindling::scoring::rescore_with(&k.scoring(), lead, rebuild)
                            .await
                            .unwrap();
                    });
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
