//! Full segment rebuild on the embedded store: `make bench-rebuild` (release build). Fills a
//! SQLite store with leads and their activities (no segment stored yet), then times three
//! walks over every lead: a dry run, the rebuild that stores every entry (index and lead), and
//! a second rebuild that finds nothing to move. Prints leads per minute for each.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::ids::{ActivityId, LeadId};
use kindling::leads::{Lead, Profile};
use std::time::Instant;

mod support;

fn main() {
    support::block_on(run(support::count("KINDLING_BENCH_LEADS", 20_000)));
}

async fn run(n: usize) {
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
    let support::Bench { _dir, app, .. } = support::open(start);
    let k = &app.kindling;
    let fill = Instant::now();
    for i in 0..n {
        let id = LeadId::new(format!("lead-{i:06}"));
        let mut lead = Lead::new(id.clone(), support::email(i), start - Duration::days(20));
        // Every fourth lead a manufacturing 部長, every seventh in information systems.
        lead.profile = Profile {
            industry: (i % 4 == 0).then(|| "製造業".into()),
            title: Some(match i % 7 {
                0 => "情報システム部 部長".into(),
                _ if i % 4 == 0 => "製造本部 部長".into(),
                _ => "担当".into(),
            }),
            ..Profile::default()
        };
        k.stores.leads.insert_lead(&lead).await.unwrap();
        for j in 0..8 {
            let (kind, url, category) = match j {
                0 => (ActivityKind::FormSubmitted, None, None),
                1..=3 => (
                    ActivityKind::PageView,
                    Some("/pricing.html"),
                    Some("pricing"),
                ),
                _ => (
                    ActivityKind::PageView,
                    Some("/case-study.html"),
                    Some("case_study"),
                ),
            };
            let a = Activity {
                id: ActivityId::new(format!("a-{i}-{j}")),
                subject: Subject::Lead(id.clone()),
                kind,
                at: start - Duration::days(10) + Duration::hours(j),
                attrs: Attrs {
                    url: url.map(Into::into),
                    page_category: category.map(Into::into),
                    form_id: (j == 0).then(|| "whitepaper".into()),
                    ..Attrs::default()
                },
            };
            k.stores.activities.record(&a).await.unwrap();
        }
    }
    println!(
        "filled {n} leads × 8 activities in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let per_min = |secs: f64| n as f64 / secs * 60.0;
    for (what, apply) in [
        ("dry run", false),
        ("rebuild (every entry stored)", true),
        ("rebuild again (nothing moves)", true),
    ] {
        let t = Instant::now();
        let r = kindling::scoring::rebuild_segments(&k.scoring(), apply)
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{what:<32} {:>7} moves  {secs:>6.2} s  {:>9.0} leads/min",
            r.moves.len(),
            per_min(secs)
        );
    }
    for s in &k.config.segments {
        println!(
            "  {:<32} {} members",
            s.id.as_str(),
            k.stores.segments.member_count(&s.id).await.unwrap()
        );
    }
}
