//! The track handler per event on the embedded store: a beacon with one page view, a beacon with
//! twenty (per event), an open and a click with their classification. `cargo bench -p
//! kindling-tests --bench track` (BENCHMARKS.md).
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kindling::token::Claim;
use kindling_tests::harness::{lead_fields, test_keys, TestApp};
use std::sync::atomic::{AtomicU64, Ordering};

fn beacon(visitor: &str, first: u64, n: u64, now: chrono::DateTime<chrono::Utc>) -> Bytes {
    let events: Vec<_> = (first..first + n)
        .map(|i| serde_json::json!({ "id": format!("b{i}"), "type": "page_view", "url": "https://example.jp/pricing.html?utm_source=news", "at": now, "tz": "Asia/Tokyo" }))
        .collect();
    Bytes::from(serde_json::json!({ "visitor_id": visitor, "events": events }).to_string())
}

fn request(method: &str, uri: &str, body: Bytes) -> http::Request<Bytes> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "text/plain")
        .header(
            "user-agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36",
        )
        .body(body)
        .unwrap();
    req.extensions_mut().insert(kindling::web::ClientInfo {
        ip: Some("198.51.100.23".into()),
        ..Default::default()
    });
    req
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(async {
        let t = TestApp::new();
        t.submit("whitepaper", &lead_fields("bench@example.jp", "Asia/Tokyo"))
            .await;
        t.tick().await;
        t.clock.advance(Duration::hours(1));
        t
    });
    // No rate limit in the benchmark: it measures the handler, not the limiter.
    let k = t.app.kindling.clone();
    let seq = AtomicU64::new(0);
    let mut g = c.benchmark_group("track");
    for (events, visitor) in [(1u64, "v-bench-1"), (20, "v-bench-2")] {
        g.throughput(Throughput::Elements(events));
        g.bench_function(format!("page_view beacon, {events} event(s)"), |b| {
            b.iter(|| {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                let body = beacon(visitor, i * 100, events, k.clock.now());
                let req = request("POST", "/t/events", body);
                let res = rt.block_on(kindling::router::handle(
                    &k,
                    kindling::router::Routes::Track,
                    req,
                ));
                assert_eq!(res.status(), 202);
            })
        });
    }
    let lead = rt.block_on(t.lead("bench@example.jp")).id;
    let send = rt.block_on(async {
        k.stores.sends.sends_of_lead(&lead).await.unwrap()[0]
            .key
            .clone()
    });
    let keys = test_keys();
    let open = format!("/t/o/{}", keys.sign(&Claim::Open(send.clone())));
    let click = format!("/t/c/{}", keys.sign(&Claim::Click(send, 0)));
    g.throughput(Throughput::Elements(1));
    g.bench_function("open, classified", |b| {
        b.iter(|| {
            let res = rt.block_on(kindling::router::handle(
                &k,
                kindling::router::Routes::Track,
                request("GET", &open, Bytes::new()),
            ));
            assert_eq!(res.status(), 200);
        })
    });
    g.bench_function("click, classified", |b| {
        b.iter(|| {
            let res = rt.block_on(kindling::router::handle(
                &k,
                kindling::router::Routes::Track,
                request("GET", &click, Bytes::new()),
            ));
            assert_eq!(res.status(), 302);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
