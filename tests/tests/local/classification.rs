//! The labelled fixture of opens and clicks (`tests/fixtures/tracking/`): at least 95 % of the
//! non-human hits are caught and no human hit is lost.

use chrono::{Duration, TimeZone, Utc};
use kindling::activities::classify::{classify_click, classify_open, machine_hits, ClickHit, Hit};
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::ids::{ActivityId, EnrollmentId, LeadId};
use kindling::message::HIDDEN_LINK;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Labelled {
    mail: String,
    kind: String,
    at_s: i64,
    ua: Option<String>,
    ip: Option<String>,
    label: String,
    note: String,
    link: Option<i32>,
}

#[test]
fn the_labelled_fixture_is_classified_with_no_human_hit_lost() {
    let hits: Vec<Labelled> = include_str!("../../fixtures/tracking/hits.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sent = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
    // Replay each mail's hits in order, as the track handler sees them.
    let mut by_mail: BTreeMap<&str, Vec<(usize, &Labelled)>> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        by_mail.entry(&h.mail).or_default().push((i, h));
    }
    let mut activities = Vec::new();
    for (mail, mut list) in by_mail {
        list.sort_by_key(|(i, h)| (h.at_s, *i));
        let mut recorded: Vec<Activity> = Vec::new();
        for (i, h) in list {
            let at = sent + Duration::seconds(h.at_s);
            let hit = Hit {
                user_agent: h.ua.as_deref(),
                ip: h.ip.as_deref().map(|ip| ip.parse().unwrap()),
                since_send: Some(at - sent),
            };
            let link = h.link.map(|l| if l < 0 { HIDDEN_LINK } else { l as u16 });
            let (kind, verdict) = if h.kind == "open" {
                (ActivityKind::EmailOpen, classify_open(&hit))
            } else {
                let click = ClickHit {
                    hit,
                    honeypot: link == Some(HIDDEN_LINK),
                };
                (ActivityKind::EmailClick, classify_click(&click))
            };
            recorded.push(Activity {
                id: ActivityId::new(format!("hit{i:03}")),
                subject: Subject::Lead(LeadId::new(mail)),
                kind,
                at,
                attrs: Attrs {
                    enrollment_id: Some(EnrollmentId::new(mail)),
                    step: Some(0),
                    link,
                    agent: Some(verdict.agent),
                    reason: Some(verdict.reason.to_owned()),
                    ..Attrs::default()
                },
            });
        }
        activities.extend(recorded);
    }
    // The mail-wide pass scoring applies.
    let log: Vec<&Activity> = activities.iter().collect();
    let machine = machine_hits(&log);

    let (mut humans, mut humans_kept, mut machines, mut machines_caught) = (0, 0, 0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for a in &activities {
        let i: usize = a.id.as_str()[3..].parse().unwrap();
        let h = &hits[i];
        let caught = machine.get(&a.id);
        if h.label == "human" {
            humans += 1;
            assert!(
                caught.is_none(),
                "human hit lost: {} ({}), {caught:?}",
                h.note,
                h.mail
            );
            humans_kept += 1;
        } else {
            machines += 1;
            if let Some(reason) = caught {
                machines_caught += 1;
                *reasons.entry((*reason).to_owned()).or_default() += 1;
            } else {
                eprintln!("missed: {} ({}), {:?}", h.note, h.mail, a.attrs.reason);
            }
        }
    }
    let rate = f64::from(machines_caught) / f64::from(machines);
    eprintln!(
        "fixture: {machines_caught}/{machines} non-human hits caught ({:.1} %), {humans_kept}/{humans} human hits kept; by reason: {reasons:?}",
        rate * 100.0
    );
    assert!(rate >= 0.95, "caught {:.1} %", rate * 100.0);
    assert_eq!(humans_kept, humans);
}
