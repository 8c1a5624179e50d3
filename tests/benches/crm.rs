//! What the CRM sync costs locally, in one run: a form submission through the bus with and
//! without `[crm]` (the difference is the upsert: reading the lead, publishing, the signed POST
//! to a CRM on loopback, recording it), and one upsert alone from the bus to the receiver's 2xx.
//! `make bench-crm` (BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use kindling::events::EventBus;
use kindling_tests::harness::{lead_fields, monday_10_jst, shipped_config, TestApp};
use std::sync::atomic::{AtomicU64, Ordering};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let plain = TestApp::with_config(shipped_config(), monday_10_jst());
    let (synced, crm) = rt.block_on(TestApp::with_crm(shipped_config(), monday_10_jst()));
    let seq = AtomicU64::new(0);
    let mut g = c.benchmark_group("crm");
    for (name, t) in [
        ("form submission, no CRM", &plain),
        ("form submission, synced to the CRM", &synced),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                let email = format!("bench{i}@example.co.jp");
                // Past the per-address form limit (1 per 5 s after a burst of 10).
                t.clock.advance(chrono::Duration::seconds(5));
                let res = rt.block_on(t.submit("whitepaper", &lead_fields(&email, "Asia/Tokyo")));
                assert_eq!(res.status(), 303);
            });
        });
    }
    let sample = rt.block_on(async {
        let d = crm.deliveries();
        serde_json::from_slice::<kindling::crm::events::CrmUpsert>(&d[0].body).unwrap()
    });
    g.bench_function("one upsert: bus to the receiver's 2xx, recorded", |b| {
        b.iter(|| {
            let i = seq.fetch_add(1, Ordering::Relaxed);
            let mut u = sample.clone();
            u.id = format!("crm_bench{i}");
            let e = kindling::app::Event::CrmUpsert(Box::new(u)).envelope();
            rt.block_on(async {
                synced
                    .app
                    .bus
                    .publish(std::slice::from_ref(&e))
                    .await
                    .unwrap();
                let d = synced.app.pump().await.unwrap();
                assert_eq!(d.delivered, 1);
            });
        });
    });
    g.finish();
    assert!(crm.deliveries().iter().all(|d| d.verified));
}

criterion_group!(benches, bench);
criterion_main!(benches);
