//! Store contract cases for broadcasts and their recipients (see [`crate::contract`]).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use kindling::app::Store;
use kindling::broadcasts::content::{Content, Part};
use kindling::broadcasts::{
    Audience, Broadcast, Freeze, Recipient, RecipientState, Schedule, State,
};
use kindling::ids::{BroadcastId, LeadId};
use kindling::ports::{Cas, Put};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 8, 1, 0, 0).unwrap()
}

fn broadcast(id: &str, created: DateTime<Utc>) -> Broadcast {
    Broadcast {
        id: BroadcastId::new(id),
        name: format!("broadcast {id}"),
        audience: Audience::All,
        topic: Some(kindling::ids::TopicId::new("newsletter")),
        ab: None,
        decision: None,
        content: Content {
            source: "test".into(),
            parts: [(
                "ja".to_owned(),
                Part {
                    txt: "Subject: 件名\n\n本文".into(),
                    html: "<p>本文</p>".into(),
                },
            )]
            .into(),
        },
        schedule: Schedule {
            at: NaiveDate::from_ymd_opt(2026, 12, 8)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
            local: true,
        },
        state: State::Draft,
        hold: None,
        created_by: "m".into(),
        created_at: created,
        approval: None,
        dry_run: None,
        freeze: Freeze::default(),
        started_at: None,
        finished_at: None,
        confirmed_late: false,
        confirmed_size: false,
        history: vec![],
        version: 0,
    }
}

fn recipient(b: &str, lead: &str, due: DateTime<Utc>) -> Recipient {
    Recipient {
        broadcast_id: BroadcastId::new(b),
        lead_id: LeadId::new(lead),
        due_at: due,
        state: RecipientState::Queued,
        reason: None,
        at: None,
    }
}

pub async fn broadcasts_are_created_once_updated_optimistically_and_active_when_due(s: &dyn Store) {
    let b1 = broadcast("B1", t0());
    assert_eq!(s.create_broadcast(&b1).await.unwrap(), Put::Created);
    assert_eq!(s.create_broadcast(&b1).await.unwrap(), Put::Existed);
    s.create_broadcast(&broadcast("B2", t0() + Duration::hours(1)))
        .await
        .unwrap();
    let mut got = s.get_broadcast(&b1.id).await.unwrap().unwrap();
    assert_eq!(got, b1);
    got.state = State::Approved;
    assert_eq!(s.update_broadcast(&got).await.unwrap(), Cas::Updated);
    // The same version again lost the race.
    assert_eq!(s.update_broadcast(&got).await.unwrap(), Cas::Stale);
    let stored = s.get_broadcast(&b1.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.version), (State::Approved, 1));
    let ids: Vec<String> = s
        .list_broadcasts()
        .await
        .unwrap()
        .iter()
        .map(|b| b.id.to_string())
        .collect();
    assert_eq!(ids, ["B2", "B1"], "newest first");
    // Only scheduled and sending ones are active, oldest first.
    assert!(s.active_broadcasts().await.unwrap().is_empty());
    let mut b2 = s
        .get_broadcast(&BroadcastId::new("B2"))
        .await
        .unwrap()
        .unwrap();
    b2.state = State::Scheduled;
    s.update_broadcast(&b2).await.unwrap();
    let mut b1 = s.get_broadcast(&b1.id).await.unwrap().unwrap();
    b1.state = State::Sending;
    s.update_broadcast(&b1).await.unwrap();
    let active = |bs: Vec<Broadcast>| bs.iter().map(|b| b.id.to_string()).collect::<Vec<_>>();
    assert_eq!(active(s.active_broadcasts().await.unwrap()), ["B1", "B2"]);
    let mut b1 = s.get_broadcast(&b1.id).await.unwrap().unwrap();
    b1.state = State::Sent;
    s.update_broadcast(&b1).await.unwrap();
    assert_eq!(active(s.active_broadcasts().await.unwrap()), ["B2"]);
    assert!(s
        .get_broadcast(&BroadcastId::new("none"))
        .await
        .unwrap()
        .is_none());
}

pub async fn recipients_are_added_once_and_come_due_in_order(s: &dyn Store) {
    let b = BroadcastId::new("B1");
    let rs = [
        recipient("B1", "L3", t0() + Duration::hours(14)),
        recipient("B1", "L1", t0()),
        recipient("B1", "L2", t0() + Duration::minutes(5)),
    ];
    s.add_recipients(&rs).await.unwrap();
    // A retried freeze page leaves one record per lead, as it was.
    s.add_recipients(&rs).await.unwrap();
    let all = s.recipients(&b, None, 10).await.unwrap();
    assert_eq!(all.len(), 3, "no duplicate");
    // Above one batched write's 25 items (DynamoDB), every recipient is written.
    let many: Vec<Recipient> = (0..60)
        .map(|i| recipient("B9", &format!("M{i:02}"), t0()))
        .collect();
    s.add_recipients(&many).await.unwrap();
    assert_eq!(
        s.recipients(&BroadcastId::new("B9"), None, 100)
            .await
            .unwrap()
            .len(),
        60
    );
    let due: Vec<String> = s
        .due_recipients(&b, t0() + Duration::minutes(5), 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.lead_id.to_string())
        .collect();
    assert_eq!(due, ["L1", "L2"], "due ones, earliest first");
    assert_eq!(
        s.due_recipients(&b, t0() + Duration::days(1), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.next_due(&b).await.unwrap(), Some(t0()));
    // Handled ones leave the queue; a deferred one moves.
    let mut sent = rs[1].clone();
    sent.state = RecipientState::Sent;
    sent.at = Some(t0());
    s.update_recipient(&sent).await.unwrap();
    let mut later = rs[2].clone();
    later.due_at = t0() + Duration::hours(20);
    s.update_recipient(&later).await.unwrap();
    assert!(s
        .due_recipients(&b, t0() + Duration::hours(1), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.next_due(&b).await.unwrap(),
        Some(t0() + Duration::hours(14))
    );
    let mut skipped = rs[0].clone();
    skipped.state = RecipientState::Skipped;
    skipped.reason = Some("unsubscribed".into());
    s.update_recipient(&skipped).await.unwrap();
    let p = s.progress(&b).await.unwrap();
    assert_eq!((p.queued, p.sent, p.total()), (1, 1, 3));
    assert_eq!(p.skipped.get("unsubscribed"), Some(&1));
    assert_eq!(
        s.get_recipient(&b, &LeadId::new("L1")).await.unwrap(),
        Some(sent)
    );
    // Another broadcast's recipients are apart.
    assert!(s
        .due_recipients(&BroadcastId::new("B2"), t0() + Duration::days(9), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.next_due(&BroadcastId::new("B2")).await.unwrap(), None);
}

pub async fn recipients_page_in_lead_order(s: &dyn Store) {
    let b = BroadcastId::new("B1");
    let rs: Vec<Recipient> = (0..7)
        .map(|i| recipient("B1", &format!("L{i}"), t0()))
        .collect();
    s.add_recipients(&rs).await.unwrap();
    s.add_recipients(&[recipient("B2", "L0", t0())])
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after: Option<LeadId> = None;
    loop {
        let page = s.recipients(&b, after.as_ref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.lead_id.clone());
        seen.extend(page.into_iter().map(|r| r.lead_id.to_string()));
    }
    assert_eq!(seen, ["L0", "L1", "L2", "L3", "L4", "L5", "L6"]);
}

/// A broadcast's A/B test, its freeze's phases and its decision are read back as written.
pub async fn an_ab_test_and_its_decision_round_trip(s: &dyn Store) {
    use kindling::broadcasts::ab::{Decision, Plan, Variant};
    use kindling::sending::ab::{Metric, VariantResult, Verdict};
    let mut b = broadcast("AB", t0());
    let cell = |l: &str, sent, opened, clicked| VariantResult {
        template: kindling::ids::TemplateId::new(l),
        sent,
        opened,
        clicked,
    };
    b.ab = Some(Plan {
        variants: vec![Variant {
            subject: Some([("ja".to_owned(), "件名 B".to_owned())].into()),
            at: Some(t0().naive_utc() + Duration::hours(4)),
        }],
        cell_percent: 10,
        metric: Metric::Open,
        wait_hours: 4,
        sample: 100,
        confidence: 0.95,
    });
    s.create_broadcast(&b).await.unwrap();
    assert_eq!(s.get_broadcast(&b.id).await.unwrap().unwrap(), b);
    b.freeze.cells_done = true;
    b.freeze.cells_due = Some(t0() + Duration::hours(1));
    b.freeze.decide_at = Some(t0() + Duration::hours(5));
    b.decision = Some(Decision {
        at: t0() + Duration::hours(5),
        winner: 1,
        verdict: Verdict::Winner {
            template: kindling::ids::TemplateId::new("B"),
            p_value: 0.25,
        },
        cells: vec![cell("A", 100, 20, 5), cell("B", 100, 40, 9)],
    });
    assert_eq!(s.update_broadcast(&b).await.unwrap(), Cas::Updated);
    b.version += 1;
    assert_eq!(s.get_broadcast(&b.id).await.unwrap().unwrap(), b);
}

/// A page's outcomes written together (more than one batch of 25): each read back, and the
/// settled ones no longer due.
pub async fn a_pages_outcomes_are_written_together(s: &dyn Store) {
    let rs: Vec<Recipient> = (0..30)
        .map(|i| recipient("BP", &format!("L{i:02}"), t0()))
        .collect();
    s.add_recipients(&rs).await.unwrap();
    let settled: Vec<Recipient> = rs
        .iter()
        .enumerate()
        .map(|(i, r)| Recipient {
            state: if i % 3 == 0 {
                RecipientState::Queued
            } else {
                RecipientState::Sent
            },
            due_at: t0() + Duration::hours(1),
            at: Some(t0()),
            ..r.clone()
        })
        .collect();
    s.update_recipients(&settled).await.unwrap();
    for r in &settled {
        assert_eq!(
            s.get_recipient(&r.broadcast_id, &r.lead_id)
                .await
                .unwrap()
                .as_ref(),
            Some(r)
        );
    }
    let b = BroadcastId::new("BP");
    assert!(s.due_recipients(&b, t0(), 100).await.unwrap().is_empty());
    let due = s
        .due_recipients(&b, t0() + Duration::hours(1), 100)
        .await
        .unwrap();
    assert_eq!(due.len(), 10, "the deferred ones, due later");
    let p = s.progress(&b).await.unwrap();
    assert_eq!((p.queued, p.sent), (10, 20));
}
