//! Due steps processed per minute by one run of the schedule (`run_schedule`), with an in-memory mailer
//! and bus, on the embedded store (SQLite file, WAL) and, when `KINDLING_TEST_AWS_ENDPOINT` is set
//! (`scripts/with-moto cargo bench -p kindling-tests --bench send`), on the DynamoDB store on
//! moto. Each step is the whole path: due query, lead, suppression, consent, exit goals, quiet
//! hours, template rendering, MIME with signed links, the claim with the frequency cap, the
//! provider call, the record, the `email_sent` activity and its event, the next step's schedule.
//! BENCHMARKS.md has the figures.
#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kindling::app::run_schedule;
use kindling::app::Kindling;
use kindling::app::{Store, Stores};
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::events::Envelope;
use kindling::events::EventBus;
use kindling::ids::{EnrollmentId, LeadId};
use kindling::leads::{Consent, Lead};
use kindling::sending::ports::{MailError, Mailer, OutgoingMail};
use kindling::sequences::{Enrollment, EnrollmentStatus};
use kindling::system::UuidIds;
use kindling::testing::ManualClock;
use kindling_tests::harness::{monday_10_jst, shipped_config, test_keys};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct CountingMailer(AtomicU64);

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, _mail: &OutgoingMail) -> Result<String, MailError> {
        Ok(format!("m{}", self.0.fetch_add(1, Ordering::Relaxed)))
    }
}

struct NullBus;

#[async_trait]
impl EventBus for NullBus {
    async fn publish(&self, _events: &[Envelope]) -> Result<(), PortError> {
        Ok(())
    }
}

fn kindling(store: Arc<dyn StoreArc>) -> Kindling {
    Kindling {
        config: Arc::new(shipped_config()),
        keys: Arc::new(test_keys()),
        stores: store.stores(),
        bus: Arc::new(NullBus),
        clock: Arc::new(ManualClock::new(monday_10_jst())),
        ids: Arc::new(UuidIds),
        test_mailer: None,
        reports: None,
        sync: None,
    }
}

/// Either store behind the same ports.
trait StoreArc: Send + Sync {
    fn stores(self: Arc<Self>) -> Stores;
}
impl<S: Store + 'static> StoreArc for S {
    fn stores(self: Arc<Self>) -> Stores {
        Stores::from_one(self)
    }
}

/// `n` consenting leads, each with the document follow-up's first step due now.
async fn seed(k: &Kindling, round: u64, n: u64) {
    let now = k.clock.now();
    for i in 0..n {
        let id = LeadId::new(format!("r{round}l{i}"));
        let mut lead = Lead::new(
            id.clone(),
            EmailAddress::parse(&format!("r{round}l{i}@example.jp")).unwrap(),
            now,
        );
        lead.profile.name = Some("佐藤 太郎".into());
        lead.consent = Some(Consent {
            at: now,
            form_id: "whitepaper".into(),
            text_version: "2026-04".into(),
            source_ip: None,
            user_agent: None,
        });
        k.stores.leads.insert_lead(&lead).await.unwrap();
        k.stores
            .enrollments
            .enroll(&Enrollment {
                id: EnrollmentId::new(format!("e{round}x{i}")),
                lead_id: id,
                sequence_id: "document_followup".into(),
                entry: 1,
                enrolled_at: now,
                next_step: 0,
                next_due_at: Some(now),
                status: EnrollmentStatus::Active,
                reason: None,
                version: 0,
            })
            .await
            .unwrap();
    }
}

fn run(c: &mut Criterion, name: &str, k: Kindling, per_run: u64, samples: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mailer = CountingMailer(AtomicU64::new(0));
    let round = AtomicU64::new(0);
    let mut g = c.benchmark_group("send-steps");
    g.sample_size(samples);
    g.throughput(Throughput::Elements(per_run));
    g.bench_function(format!("{name}, {per_run} due steps per run"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let r = round.fetch_add(1, Ordering::Relaxed);
                rt.block_on(seed(&k, r, per_run));
                let start = Instant::now();
                let report = rt
                    .block_on(run_schedule(&k, &mailer, per_run as usize))
                    .unwrap();
                total += start.elapsed();
                assert_eq!(report.steps.sent.len() as u64, per_run, "{report:?}");
            }
            total
        })
    });
    g.finish();
}

/// One count of a send for the bounce/complaint breaker (what each sent step adds), on the same
/// store, so its share of a step is a ratio from one run.
fn count(c: &mut Criterion, name: &str, k: &Kindling) {
    use kindling::deliverability::{bucket, SENT, SERIES};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = AtomicU64::new(0);
    let now = k.clock.now();
    let mut g = c.benchmark_group("send-steps");
    g.bench_function(format!("{name}, one breaker count"), |b| {
        b.iter(|| {
            let unit = format!("u{}", n.fetch_add(1, Ordering::Relaxed));
            rt.block_on(
                k.stores
                    .tallies
                    .tally_once(SERIES, &bucket(now), SENT, &unit, now),
            )
            .unwrap()
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = kindling_local::db::Db::open(&dir.path().join("bench.db")).unwrap();
    let sqlite = Arc::new(kindling_local::store::SqliteStore::new(db));
    let k = kindling(sqlite);
    run(c, "embedded (SQLite)", k.clone(), 1_000, 10);
    count(c, "embedded (SQLite)", &k);

    if std::env::var_os("KINDLING_TEST_AWS_ENDPOINT").is_some() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dynamo = rt
            .block_on(kindling_tests::aws::fresh_dynamo_store())
            .unwrap();
        run(c, "DynamoDB on moto", kindling(dynamo), 50, 10);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
