//! A broadcast on the embedded store: `make bench-broadcast` (release build). Fills a SQLite
//! store with consenting leads, creates a newsletter to all of them, and times the dry run,
//! the freeze of the audience into recipients and the sender's runs that hand every recipient
//! to an in-memory mailer. Prints recipients per minute for each.
#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use kindling::broadcasts::content::Content;
use kindling::broadcasts::lifecycle::{self, NewBroadcast};
use kindling::broadcasts::{send_due_broadcasts, Audience, Schedule};
use kindling::ids::{FormId, LeadId};
use kindling::leads::{Consent, Lead, Profile};
use kindling::sending::ports::{MailError, Mailer, OutgoingMail};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Accepts every mail and keeps only a count.
#[derive(Default)]
struct Counting(AtomicUsize);

#[async_trait]
impl Mailer for Counting {
    async fn send(&self, _: &OutgoingMail) -> Result<String, MailError> {
        Ok(format!("m{}", self.0.fetch_add(1, Ordering::Relaxed)))
    }
}

mod support;

fn main() {
    support::block_on(run(support::count("KINDLING_BENCH_RECIPIENTS", 20_000)));
}

async fn run(n: usize) {
    // Monday 2026-12-07 09:00 JST: the broadcast is due at 10:00 in the program's zone.
    let start = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
    let support::Bench {
        _dir, app, clock, ..
    } = support::open(start);
    let k = &app.kindling;
    for i in 0..n {
        let mut lead = Lead::new(
            LeadId::new(format!("lead-{i:06}")),
            support::email(i),
            start,
        );
        lead.profile = Profile {
            name: (i % 3 != 0).then(|| format!("リード {i}")),
            time_zone: Some("Asia/Tokyo".into()),
            ..Profile::default()
        };
        lead.consent = Some(Consent {
            at: start,
            form_id: FormId::new("whitepaper"),
            text_version: "v1".into(),
            source_ip: None,
            user_agent: None,
        });
        k.stores.leads.insert_lead(&lead).await.unwrap();
    }
    let b = k.broadcasts();
    let content = Content::from_template(&k.config.templates, "doc_case_study").unwrap();
    let (created, _) = lifecycle::create(
        &b,
        NewBroadcast {
            id: Some("bench".into()),
            name: "bench".into(),
            audience: Audience::All,
            content,
            schedule: Schedule {
                at: chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
                local: false,
            },
            topic: Some(kindling::ids::TopicId::new("newsletter")),
            ab: None,
            by: "m".into(),
        },
    )
    .await
    .unwrap();
    let per_min = |count: usize, secs: f64| count as f64 / secs * 60.0;
    let t = Instant::now();
    let dry = kindling::broadcasts::dry_run::dry_run(&b, &created.id, "m")
        .await
        .unwrap()
        .dry_run
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "dry run (render every recipient)  {:>7} recipients {secs:>6.2} s {:>9.0} /min",
        dry.recipients,
        per_min(dry.recipients as usize, secs)
    );
    lifecycle::approve(&b, &created.id, "boss").await.unwrap();
    lifecycle::schedule(&b, &created.id, "boss").await.unwrap();
    clock.set(start + chrono::Duration::hours(1));
    let mailer = Counting::default();
    // The first run freezes the audience (and sends what its budget leaves).
    let t = Instant::now();
    let mut runs = 0;
    let mut frozen = 0;
    let mut freeze_secs = 0.0;
    loop {
        let r = send_due_broadcasts(&b, &mailer, 5_000).await.unwrap();
        if runs == 0 {
            frozen = r.frozen;
            freeze_secs = t.elapsed().as_secs_f64();
        }
        runs += 1;
        if !r.finished.is_empty() || (r.sent.is_empty() && runs > 1) {
            break;
        }
    }
    let total = t.elapsed().as_secs_f64();
    let sent = mailer.0.load(Ordering::Relaxed);
    println!("freeze + first run               {frozen:>7} recipients {freeze_secs:>6.2} s");
    println!(
        "handed to the mailer             {sent:>7} recipients {total:>6.2} s {:>9.0} /min  ({runs} runs of 5,000)",
        per_min(sent, total)
    );
    assert_eq!(sent, n, "every recipient once");
}
