//! Broadcasts end to end on the local pipeline: local-time delivery in Tokyo and New York,
//! quiet hours, a crash mid-broadcast and the resume, pause and cancel, approval voided by an
//! edit and the second-person rule, the size guard, the stale schedule, the dry run, a
//! correction to exactly the original recipients, and bad input that writes nothing.

use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use kindling::broadcasts::content::Content;
use kindling::broadcasts::dry_run::dry_run;
use kindling::broadcasts::lifecycle::{self, Edit, NewBroadcast};
use kindling::broadcasts::Recipient;
use kindling::broadcasts::{send_due_broadcasts, Audience, Hold, RecipientState, Schedule, State};
use kindling::error::Error;
use kindling::ids::{BroadcastId, SegmentId, TopicId};
use kindling::message::MessageKey;
use kindling::ports::{Cas, PortResult, Put};
use kindling::sending::ledger::{SendRecord, SendState};
use kindling_tests::harness::{config_with, monday_10_jst, TestApp};

const IT: &str = "it_decision_makers";

/// The shipped program with room in the cap (a step mail and a broadcast the same day) and
/// `extra` appended.
fn app(extra: &str) -> TestApp {
    let extra = extra.to_owned();
    TestApp::with_config(
        config_with(move |t| {
            t.replace(
                "cap = { max = 1, window_hours = 24 }",
                "cap = { max = 10, window_hours = 24 }",
            ) + &extra
        }),
        monday_10_jst(),
    )
}

/// A consenting lead in `zone`; an IT director (in [`IT`]) when `it`.
async fn lead(t: &TestApp, email: &str, zone: &str, it: bool) {
    let title = if it {
        "情報システム部長"
    } else {
        "営業"
    };
    let res = t
        .submit(
            "whitepaper",
            &[
                ("email", email),
                ("name", "佐藤 太郎"),
                ("company", "株式会社A"),
                ("title", title),
                ("time_zone", zone),
                ("consent", "on"),
            ],
        )
        .await;
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{res:?}"
    );
}

fn content() -> Content {
    kindling_tests::harness::broadcast_content()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

/// Creates, dry-runs, approves (by someone else) and schedules a broadcast.
async fn scheduled(
    t: &TestApp,
    id: &str,
    audience: Audience,
    when: &str,
    local: bool,
) -> BroadcastId {
    let k = t.app.kindling.broadcasts();
    let (b, _) = lifecycle::create(
        &k,
        NewBroadcast {
            id: Some(id.into()),
            name: format!("broadcast {id}"),
            audience,
            content: content(),
            schedule: Schedule {
                at: at(when),
                local,
            },
            topic: Some(kindling::ids::TopicId::new("newsletter")),
            ab: None,
            by: "marketer".into(),
        },
    )
    .await
    .unwrap();
    dry_run(&k, &b.id, "marketer").await.unwrap();
    lifecycle::approve(&k, &b.id, "manager").await.unwrap();
    lifecycle::schedule(&k, &b.id, "marketer").await.unwrap();
    b.id
}

fn segment() -> Audience {
    Audience::Segment {
        segment: SegmentId::new(IT),
    }
}

/// Broadcast mails in the outbox, as (to, sent at) pairs.
fn broadcast_mails(t: &TestApp) -> Vec<(String, String)> {
    t.mailer
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.id.contains("_b_"))
        .map(|m| {
            let raw = String::from_utf8_lossy(&m.raw).to_string();
            let date = raw
                .lines()
                .find(|l| l.starts_with("Date:"))
                .unwrap_or("")
                .to_owned();
            (m.to.to_string(), date)
        })
        .collect()
}

#[tokio::test]
async fn each_member_gets_it_at_ten_in_its_own_zone_and_others_get_nothing() {
    let t = app("");
    lead(&t, "tokyo@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "ny@example.com", "America/New_York", true).await;
    lead(&t, "sales@example.jp", "Asia/Tokyo", false).await;
    let id = scheduled(&t, "local10", segment(), "2026-11-04 10:00", true).await;
    assert_eq!(t.broadcast(&id).await.dry_run.unwrap().recipients, 2);
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap(),
        Duration::minutes(15),
    )
    .await;
    let mails = broadcast_mails(&t);
    assert_eq!(mails.len(), 2, "{mails:?}");
    // 10:00 JST is 01:00 UTC; 10:00 EST (DST ended on Nov 1) is 15:00 UTC.
    assert!(
        mails[0].0 == "tokyo@example.jp" && mails[0].1.contains("04 Nov 2026 01:00"),
        "{mails:?}"
    );
    assert!(
        mails[1].0 == "ny@example.com" && mails[1].1.contains("04 Nov 2026 15:00"),
        "{mails:?}"
    );
    let b = t.broadcast(&id).await;
    assert_eq!(b.state, State::Sent);
    let p = t
        .app
        .kindling
        .stores
        .broadcasts
        .progress(&id)
        .await
        .unwrap();
    assert_eq!((p.sent, p.queued, p.total()), (2, 0, 2));
}

#[tokio::test]
async fn a_local_broadcast_freezes_an_hour_before_its_first_hour_and_takes_who_joined_until_then() {
    let t = app("");
    lead(&t, "tokyo@example.jp", "Asia/Tokyo", true).await;
    let id = scheduled(&t, "late-joiner", segment(), "2026-11-04 10:00", true).await;
    let first = t.broadcast(&id).await.dry_run.unwrap().first_due;
    assert_eq!(
        first,
        Some(Utc.with_ymd_and_hms(2026, 11, 4, 1, 0, 0).unwrap())
    );
    // 08:30 JST on the day: not started (UTC+14's 10:00 has long passed), so a new member is in.
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 3, 23, 30, 0).unwrap(),
        Duration::minutes(30),
    )
    .await;
    assert_eq!(t.broadcast(&id).await.state, State::Scheduled);
    lead(&t, "joined@example.jp", "Asia/Tokyo", true).await;
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 4, 2, 0, 0).unwrap(),
        Duration::minutes(15),
    )
    .await;
    let b = t.broadcast(&id).await;
    assert_eq!(
        b.started_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap()),
        "an hour before 10:00 JST"
    );
    let mut mails = broadcast_mails(&t);
    mails.sort();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .all(|(_, date)| date.contains("04 Nov 2026 01:00")),
        "each at 10:00 JST: {mails:?}"
    );
    assert_eq!(mails[0].0, "joined@example.jp");
}

#[tokio::test]
async fn a_time_inside_quiet_hours_waits_for_their_end() {
    let t = app("");
    lead(&t, "tokyo@example.jp", "Asia/Tokyo", true).await;
    // 23:00 in the program's zone (Tokyo) is inside 22:00-09:00.
    let id = scheduled(&t, "late", segment(), "2026-11-04 23:00", false).await;
    let dry = t.broadcast(&id).await.dry_run.unwrap();
    assert_eq!(dry.deferred.get("quiet_hours"), Some(&1));
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 5, 1, 0, 0).unwrap(),
        Duration::minutes(15),
    )
    .await;
    let mails = broadcast_mails(&t);
    assert_eq!(mails.len(), 1);
    // 09:00 JST on the 5th is 00:00 UTC.
    assert!(mails[0].1.contains("05 Nov 2026 00:00"), "{mails:?}");
}

#[tokio::test]
async fn a_crash_mid_broadcast_then_a_resume_sends_each_once_and_misses_none() {
    let t = app("");
    for i in 0..6 {
        lead(&t, &format!("it{i}@example.jp"), "Asia/Tokyo", true).await;
    }
    let id = scheduled(&t, "crash", segment(), "2026-11-02 11:00", false).await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    let k = t.app.kindling.broadcasts();
    // A run handles two recipients, then the sender dies.
    let first = send_due_broadcasts(&k, &*t.mailer, 2).await.unwrap();
    assert_eq!(first.sent.len(), 2);
    let queued = t
        .app
        .kindling
        .stores
        .broadcasts
        .due_recipients(&id, t.now(), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 4);
    // It had claimed the third and called the provider (the claim stays `sending`), and had
    // recorded the fourth as sent but died before updating its recipient.
    let sends = &t.app.kindling.stores.sends;
    let claim = |lead: &kindling::ids::LeadId, state: SendState| SendRecord {
        key: MessageKey::Broadcast {
            lead_id: lead.clone(),
            broadcast_id: id.clone(),
        },
        sequence_id: None,
        template: kindling::ids::TemplateId::new("@crash"),
        state,
        claimed_at: t.now(),
        sent_at: (state == SendState::Sent).then(|| t.now()),
        provider_message_id: None,
        links: vec![],
        error: None,
    };
    let cap = Some(t.app.kindling.config.sending.cap);
    let r3 = claim(&queued[0].lead_id, SendState::Sending);
    sends.claim_send(&r3, cap, t.now()).await.unwrap();
    let r4 = claim(&queued[1].lead_id, SendState::Sent);
    sends.claim_send(&r4, cap, t.now()).await.unwrap();
    // A run within the claim's lease leaves the third alone (another sender may be on it).
    let during = send_due_broadcasts(&k, &*t.mailer, 100).await.unwrap();
    assert_eq!(during.sent.len(), 2, "the fifth and sixth");
    assert_eq!(t.broadcast(&id).await.state, State::Sending);
    // After the lease the resume records it as unknown: never resent.
    t.clock.advance(Duration::minutes(11));
    let resumed = send_due_broadcasts(&k, &*t.mailer, 100).await.unwrap();
    assert_eq!((resumed.sent.len(), resumed.unknown), (0, 1));
    assert_eq!(t.broadcast(&id).await.state, State::Sent);
    let mails = broadcast_mails(&t);
    let mut to: Vec<_> = mails.iter().map(|m| m.0.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!((mails.len(), to.len()), (4, 4), "no duplicate");
    let p = t
        .app
        .kindling
        .stores
        .broadcasts
        .progress(&id)
        .await
        .unwrap();
    assert_eq!(
        (p.sent, p.unknown, p.queued),
        (5, 1, 0),
        "none missing: {p:?}"
    );
    // The fourth's `email_sent` activity, which its sender died before recording, is there.
    let log = t
        .app
        .kindling
        .stores
        .activities
        .activities_of_lead(&queued[1].lead_id)
        .await
        .unwrap();
    let sent: Vec<_> = log
        .iter()
        .filter(|a| a.kind == kindling::activities::ActivityKind::EmailSent)
        .collect();
    assert_eq!(sent.len(), 1, "{log:?}");
}

#[tokio::test]
async fn a_freeze_page_written_again_after_a_crash_counts_each_recipient_once() {
    let t = app("");
    let mut ids = Vec::new();
    for i in 0..6 {
        lead(&t, &format!("it{i}@example.jp"), "Asia/Tokyo", true).await;
        ids.push(t.lead(&format!("it{i}@example.jp")).await.id);
    }
    let id = scheduled(&t, "fz", segment(), "2026-11-02 11:00", false).await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    // A run froze part of the page and died before moving the cursor: those recipients are
    // there, the broadcast's freeze count is not.
    let partial: Vec<_> = ids[..3]
        .iter()
        .map(|l| kindling::broadcasts::Recipient {
            broadcast_id: id.clone(),
            lead_id: l.clone(),
            due_at: t.now(),
            state: RecipientState::Queued,
            reason: None,
            at: None,
        })
        .collect();
    let store = &t.app.kindling.stores.broadcasts;
    store.add_recipients(&partial).await.unwrap();
    let k = t.app.kindling.broadcasts();
    let r = send_due_broadcasts(&k, &*t.mailer, 100).await.unwrap();
    assert_eq!(r.frozen, 6);
    let b = t.broadcast(&id).await;
    assert_eq!((b.freeze.count, b.freeze.done), (6, true));
    assert_eq!(b.hold, None, "the size guard sees 6, as the dry run did");
    assert_eq!(broadcast_mails(&t).len(), 6);
    let mut to: Vec<_> = broadcast_mails(&t).into_iter().map(|m| m.0).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 6, "each once");
}

#[tokio::test]
async fn pause_holds_within_the_run_resume_goes_on_and_cancel_stops_for_good() {
    let t = app("");
    for i in 0..4 {
        lead(&t, &format!("it{i}@example.jp"), "Asia/Tokyo", true).await;
    }
    let id = scheduled(&t, "p", segment(), "2026-11-02 11:00", false).await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    let k = t.app.kindling.broadcasts();
    assert_eq!(
        send_due_broadcasts(&k, &*t.mailer, 1)
            .await
            .unwrap()
            .sent
            .len(),
        1
    );
    lifecycle::pause(&k, &id, "marketer").await.unwrap();
    assert!(send_due_broadcasts(&k, &*t.mailer, 100)
        .await
        .unwrap()
        .sent
        .is_empty());
    assert_eq!(t.tick().await.broadcasts.sent.len(), 0);
    lifecycle::resume(&k, &id, "marketer").await.unwrap();
    assert_eq!(
        send_due_broadcasts(&k, &*t.mailer, 1)
            .await
            .unwrap()
            .sent
            .len(),
        1
    );
    lifecycle::cancel(&k, &id, "marketer").await.unwrap();
    assert!(send_due_broadcasts(&k, &*t.mailer, 100)
        .await
        .unwrap()
        .sent
        .is_empty());
    t.clock.advance(Duration::days(2));
    assert!(t.tick().await.broadcasts.sent.is_empty());
    assert_eq!(broadcast_mails(&t).len(), 2);
    let b = t.broadcast(&id).await;
    assert_eq!(b.state, State::Cancelled);
    let p = t
        .app
        .kindling
        .stores
        .broadcasts
        .progress(&id)
        .await
        .unwrap();
    assert_eq!((p.sent, p.queued), (2, 2));
    // Cancelled is final.
    assert!(matches!(
        lifecycle::resume(&k, &id, "x").await,
        Err(Error::Refused(_))
    ));
}

#[tokio::test]
async fn an_edit_voids_the_approval_and_a_second_person_must_approve() {
    let t = app("\n[broadcasts]\nsecond_approver = true\n");
    lead(&t, "it@example.jp", "Asia/Tokyo", true).await;
    let k = t.app.kindling.broadcasts();
    let (b, _) = lifecycle::create(
        &k,
        NewBroadcast {
            id: Some("b1".into()),
            name: "n".into(),
            audience: segment(),
            content: content(),
            schedule: Schedule {
                at: at("2026-11-04 10:00"),
                local: true,
            },
            topic: Some(kindling::ids::TopicId::new("newsletter")),
            ab: None,
            by: "alice".into(),
        },
    )
    .await
    .unwrap();
    // No dry run yet.
    assert!(matches!(
        lifecycle::approve(&k, &b.id, "bob").await,
        Err(Error::Refused(_))
    ));
    dry_run(&k, &b.id, "alice").await.unwrap();
    let own = lifecycle::approve(&k, &b.id, "alice").await;
    assert!(
        matches!(&own, Err(Error::Refused(m)) if m.contains("someone else")),
        "{own:?}"
    );
    let approved = lifecycle::approve(&k, &b.id, "bob").await.unwrap();
    assert_eq!(approved.state, State::Approved);
    assert!(approved.approved());
    lifecycle::schedule(&k, &b.id, "alice").await.unwrap();
    // Moving it an hour voids the approval: back to draft, and it cannot be armed.
    let edited = lifecycle::edit(
        &k,
        &b.id,
        Edit {
            schedule: Some(Schedule {
                at: at("2026-11-04 11:00"),
                local: true,
            }),
            ..Edit::default()
        },
        "alice",
    )
    .await
    .unwrap();
    assert_eq!(
        (edited.state, edited.approval.is_none()),
        (State::Draft, true)
    );
    assert!(matches!(
        lifecycle::schedule(&k, &b.id, "alice").await,
        Err(Error::Refused(_))
    ));
    // The old dry run was of another schedule: approval needs a new one.
    assert!(matches!(
        lifecycle::approve(&k, &b.id, "bob").await,
        Err(Error::Refused(_))
    ));
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap(),
        Duration::hours(1),
    )
    .await;
    assert!(broadcast_mails(&t).is_empty(), "a draft never sends");
}

#[tokio::test]
async fn an_audience_above_twice_the_dry_run_waits_for_confirmation() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    let id = scheduled(&t, "grow", segment(), "2026-11-02 11:00", false).await;
    for i in 1..4 {
        lead(&t, &format!("it{i}@example.jp"), "Asia/Tokyo", true).await;
    }
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    let r = t.tick().await;
    assert_eq!(r.broadcasts.held, vec![id.clone()]);
    let b = t.broadcast(&id).await;
    assert_eq!(b.state, State::Paused);
    assert_eq!(
        b.hold,
        Some(Hold::SizeGuard {
            frozen: 4,
            limit: 2
        })
    );
    assert!(t.tick().await.broadcasts.sent.is_empty());
    let k = t.app.kindling.broadcasts();
    assert!(matches!(
        lifecycle::resume(&k, &id, "m").await,
        Err(Error::Refused(_))
    ));
    lifecycle::confirm(&k, &id, "manager").await.unwrap();
    assert_eq!(t.tick().await.broadcasts.sent.len(), 4);
}

#[tokio::test]
async fn a_start_long_past_does_not_begin_by_itself() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    let id = scheduled(&t, "stale", segment(), "2026-11-02 11:00", false).await;
    // Nothing ran for a day (the breaker was open, say).
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap());
    let r = t.tick().await;
    assert_eq!((r.broadcasts.held.len(), r.broadcasts.sent.len()), (1, 0));
    assert!(matches!(
        t.broadcast(&id).await.hold,
        Some(Hold::Stale { .. })
    ));
    assert!(t.tick().await.broadcasts.sent.is_empty());
    lifecycle::confirm(&t.app.kindling.broadcasts(), &id, "manager")
        .await
        .unwrap();
    assert_eq!(t.tick().await.broadcasts.sent.len(), 1);
}

#[tokio::test]
async fn a_dry_run_renders_every_recipient_counts_exclusions_and_sends_nothing() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "it1@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "gone@example.jp", "Asia/Tokyo", true).await;
    let gone = t.lead("gone@example.jp").await.id;
    kindling::deliverability::unsubscribe(&t.app.kindling.deliverability(), &gone, "test")
        .await
        .unwrap();
    // it1 has an industry but no company: this content does not render for it.
    let mut l = t.lead("it1@example.jp").await;
    l.profile.industry = Some("製造業".into());
    l.profile.company = None;
    t.app.kindling.stores.leads.update_lead(&l).await.unwrap();
    let k = t.app.kindling.broadcasts();
    let tricky = Content::from_files(
        "t",
        &[
            (
                "ja.txt".into(),
                "Subject: x\n\n{% if lead.industry %}{{ lead.company }}{% endif %}\n".into(),
            ),
            ("ja.html".into(), "<p>x</p>".into()),
        ],
    )
    .unwrap();
    let (b, lint) = lifecycle::create(
        &k,
        NewBroadcast {
            id: Some("dry".into()),
            name: "n".into(),
            audience: segment(),
            content: tricky,
            schedule: Schedule {
                at: at("2026-11-02 11:00"),
                local: false,
            },
            topic: Some(kindling::ids::TopicId::new("newsletter")),
            ab: None,
            by: "m".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(lint.warnings.len(), 1, "no tracked link: {lint:?}");
    let before = t.counts();
    let outbox = t.outbox().len();
    let d = dry_run(&k, &b.id, "m").await.unwrap().dry_run.unwrap();
    assert_eq!((d.audience, d.recipients, d.failures), (3, 1, 1), "{d:?}");
    assert_eq!(d.excluded.get("unsubscribed"), Some(&1));
    assert_eq!(d.failed[0].0, l.id);
    assert!(d.failed[0].1.contains("undefined"), "{:?}", d.failed);
    // Only the broadcast's own row changed (its stored dry run).
    assert_eq!(t.counts(), before);
    assert_eq!(t.outbox().len(), outbox);
    assert!(
        matches!(lifecycle::approve(&k, &b.id, "boss").await, Err(Error::Refused(m)) if m.contains("render"))
    );
}

#[tokio::test]
async fn a_correction_goes_to_exactly_the_original_recipients() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "it1@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "other@example.jp", "Asia/Tokyo", false).await;
    let first = scheduled(&t, "first", segment(), "2026-11-02 11:00", false).await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    assert_eq!(t.tick().await.broadcasts.sent.len(), 2);
    // A new member joins after the first went out: the correction is not for it.
    lead(&t, "late@example.jp", "Asia/Tokyo", true).await;
    scheduled(
        &t,
        "fix",
        Audience::RecipientsOf { broadcast: first },
        "2026-11-02 12:00",
        false,
    )
    .await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap());
    let r = t.tick().await;
    let mut to: Vec<String> = r.broadcasts.sent.iter().map(|m| m.to.to_string()).collect();
    to.sort();
    assert_eq!(to, ["it0@example.jp", "it1@example.jp"]);
}

#[tokio::test]
async fn an_opt_out_after_the_freeze_stops_the_pending_send() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "ny@example.com", "America/New_York", true).await;
    let id = scheduled(&t, "optout", segment(), "2026-11-04 10:00", true).await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 4, 1, 0, 0).unwrap());
    assert_eq!(
        t.tick().await.broadcasts.sent.len(),
        1,
        "Tokyo at 10:00 JST"
    );
    let ny = t.lead("ny@example.com").await.id;
    kindling::deliverability::unsubscribe(&t.app.kindling.deliverability(), &ny, "test")
        .await
        .unwrap();
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 4, 15, 0, 0).unwrap());
    let r = t.tick().await;
    assert_eq!((r.broadcasts.sent.len(), r.broadcasts.skipped), (0, 1));
    let rec = t
        .app
        .kindling
        .stores
        .broadcasts
        .get_recipient(&id, &ny)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.state, rec.reason.as_deref()),
        (RecipientState::Skipped, Some("unsubscribed"))
    );
}

#[tokio::test]
async fn a_broadcast_outside_the_cap_neither_waits_for_a_step_nor_delays_one() {
    // The shipped cap: one mail per lead per 24 h. The thank-you mail goes at 10:00 JST, the
    // newsletter is due at 11:00 the same day.
    for (counts, sent_at) in [
        ("true", "03 Nov 2026 01:00"),
        ("false", "02 Nov 2026 02:00"),
    ] {
        let t = TestApp::with_config(
            config_with(move |s| s + &format!("\n[broadcasts]\ncounts_toward_cap = {counts}\n")),
            monday_10_jst(),
        );
        lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
        scheduled(&t, "nl", segment(), "2026-11-02 11:00", true).await;
        t.run_until(
            Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap(),
            Duration::minutes(30),
        )
        .await;
        let mails = broadcast_mails(&t);
        assert!(
            mails.len() == 1 && mails[0].1.contains(sent_at),
            "counts_toward_cap = {counts}: {mails:?}"
        );
    }
    // Outside the cap, a newsletter at 09:30 does not push the 10:00 step mail of that day.
    let t = TestApp::with_config(
        config_with(|s| s + "\n[broadcasts]\ncounts_toward_cap = false\n"),
        monday_10_jst(),
    );
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    scheduled(&t, "nl", segment(), "2026-11-05 09:30", true).await;
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 5, 2, 0, 0).unwrap(),
        Duration::minutes(30),
    )
    .await;
    let step1 = t
        .sends("it0@example.jp")
        .await
        .into_iter()
        .find(|s| s.key.as_step().is_some_and(|(_, step)| step == 1))
        .unwrap();
    assert_eq!(
        step1.sent_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 5, 1, 0, 0).unwrap()),
        "day 3 at 10:00 JST"
    );
    assert_eq!(broadcast_mails(&t).len(), 1);
}

/// Saves the preference page of `lead` (reached from a mail of `from`) keeping `keep`.
async fn save_topics(t: &TestApp, lead: &kindling::ids::LeadId, from: &str, keep: &[&str]) {
    let token = t
        .app
        .kindling
        .keys
        .sign(&kindling::token::Claim::Unsubscribe(
            lead.clone(),
            Some(TopicId::new(from)),
        ));
    let mut body = "action=save".to_owned();
    for k in keep {
        body.push_str(&format!("&topic={k}"));
    }
    let res = t
        .request(
            "POST",
            &format!("/u/{token}"),
            Some("application/x-www-form-urlencoded"),
            body,
        )
        .await;
    assert_eq!(res.status(), 200, "{}", String::from_utf8_lossy(res.body()));
}

#[tokio::test]
async fn a_topic_opt_out_stops_the_pending_sends_of_that_topic_and_only_those() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    lead(&t, "it1@example.jp", "Asia/Tokyo", true).await;
    let id = scheduled(&t, "topics", segment(), "2026-11-04 10:00", true).await;
    // Both are frozen into the newsletter's recipients (its first local 10:00 is in UTC+14).
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 4, 0, 30, 0).unwrap(),
        Duration::minutes(30),
    )
    .await;
    let it0 = t.lead("it0@example.jp").await.id;
    let queued = t
        .app
        .kindling
        .stores
        .broadcasts
        .get_recipient(&id, &it0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        queued.state,
        RecipientState::Queued,
        "pending when it leaves"
    );
    // it0 leaves the newsletter on the preference page (linked from a document mail).
    save_topics(&t, &it0, "product_updates", &["events", "product_updates"]).await;
    let l = t.lead("it0@example.jp").await;
    assert!(l.preferences.left(&TopicId::new("newsletter")));
    assert!(l.unsubscribed_at.is_none() && l.may_receive(None));
    let h = &l.preferences.history;
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].topic.as_deref(), h[0].subscribed, h[0].via.as_str()),
        (Some("newsletter"), false, "page")
    );
    // The newsletter skips it0 and reaches it1; it0's document mails go on (day 3).
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 6, 0, 0, 0).unwrap(),
        Duration::minutes(30),
    )
    .await;
    let mails = broadcast_mails(&t);
    assert_eq!(
        mails.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["it1@example.jp"]
    );
    let rec = t
        .app
        .kindling
        .stores
        .broadcasts
        .get_recipient(&id, &it0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.state, rec.reason.as_deref()),
        (RecipientState::Skipped, Some("topic_opt_out"))
    );
    let steps = |sends: Vec<SendRecord>| {
        sends
            .iter()
            .filter(|s| s.state == SendState::Sent && s.key.as_step().is_some())
            .count()
    };
    assert_eq!(steps(t.sends("it0@example.jp").await), 2, "day 0 and day 3");
    // A one-click from a document mail leaves that topic only (the default): the next step is
    // stopped, and the lead is neither unsubscribed nor suppressed.
    let token = t
        .app
        .kindling
        .keys
        .sign(&kindling::token::Claim::Unsubscribe(
            it0.clone(),
            Some(TopicId::new("product_updates")),
        ));
    let res = t
        .request(
            "POST",
            &format!("/u/{token}"),
            Some("application/x-www-form-urlencoded"),
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(res.status(), 200);
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 17, 0, 0, 0).unwrap(),
        Duration::hours(2),
    )
    .await;
    assert_eq!(steps(t.sends("it0@example.jp").await), 2, "no more");
    let e = t.enrollments("it0@example.jp").await;
    let doc = e
        .iter()
        .find(|e| e.sequence_id.as_str() == "document_followup")
        .unwrap();
    assert_eq!(doc.reason.as_deref(), Some("topic_opt_out"));
    let l = t.lead("it0@example.jp").await;
    assert!(l.unsubscribed_at.is_none());
    let suppressed = t
        .app
        .kindling
        .stores
        .suppressions
        .suppression(&l.email)
        .await
        .unwrap();
    assert!(suppressed.is_none());
    // it1, who left nothing, got all four document mails.
    let docs = t
        .sends("it1@example.jp")
        .await
        .into_iter()
        .filter(|s| {
            s.sequence_id
                .as_ref()
                .is_some_and(|q| q.as_str() == "document_followup")
        })
        .count();
    assert_eq!(docs, 4);
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let t = app("");
    lead(&t, "it0@example.jp", "Asia/Tokyo", true).await;
    let k = t.app.kindling.broadcasts();
    let before = t.counts();
    let new = |id: &str, audience: Audience, content: Content, name: &str, by: &str| NewBroadcast {
        id: Some(id.into()),
        name: name.into(),
        audience,
        content,
        schedule: Schedule {
            at: at("2026-11-04 10:00"),
            local: true,
        },
        topic: Some(kindling::ids::TopicId::new("newsletter")),
        ab: None,
        by: by.into(),
    };
    let unknown = Audience::Segment {
        segment: SegmentId::new("nope"),
    };
    let no_fallback = Content::from_files(
        "t",
        &[
            ("ja.txt".into(), "Subject: x\n\n{{ lead.company }}\n".into()),
            ("ja.html".into(), "<p>x</p>".into()),
        ],
    )
    .unwrap();
    let cases = [
        new("ok1", unknown, content(), "n", "m"),
        new("bad id!", segment(), content(), "n", "m"),
        new("ok2", segment(), no_fallback, "n", "m"),
        new("ok3", segment(), content(), " ", "m"),
        new("ok4", segment(), content(), "n", ""),
        new(
            "ok5",
            Audience::RecipientsOf {
                broadcast: BroadcastId::new("never"),
            },
            content(),
            "n",
            "m",
        ),
    ];
    for c in cases {
        let id = c.id.clone();
        let r = lifecycle::create(&k, c).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{id:?}: {r:?}");
    }
    let missing = BroadcastId::new("missing");
    assert!(matches!(
        lifecycle::approve(&k, &missing, "m").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        dry_run(&k, &missing, "m").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(t.counts(), before);
}

/// The store, with the first `update_recipients` failing (a page's outcomes not written).
struct PageWriteFails {
    inner: std::sync::Arc<dyn kindling::broadcasts::ports::BroadcastStore>,
    failures: kindling_tests::harness::FailFirst,
}

#[async_trait::async_trait]
impl kindling::broadcasts::ports::BroadcastStore for PageWriteFails {
    async fn create_broadcast(&self, b: &kindling::broadcasts::Broadcast) -> PortResult<Put> {
        self.inner.create_broadcast(b).await
    }
    async fn get_broadcast(
        &self,
        id: &BroadcastId,
    ) -> PortResult<Option<kindling::broadcasts::Broadcast>> {
        self.inner.get_broadcast(id).await
    }
    async fn update_broadcast(&self, b: &kindling::broadcasts::Broadcast) -> PortResult<Cas> {
        self.inner.update_broadcast(b).await
    }
    async fn list_broadcasts(&self) -> PortResult<Vec<kindling::broadcasts::Broadcast>> {
        self.inner.list_broadcasts().await
    }
    async fn active_broadcasts(&self) -> PortResult<Vec<kindling::broadcasts::Broadcast>> {
        self.inner.active_broadcasts().await
    }
    async fn add_recipients(&self, rs: &[Recipient]) -> PortResult<()> {
        self.inner.add_recipients(rs).await
    }
    async fn due_recipients(
        &self,
        b: &BroadcastId,
        now: chrono::DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        self.inner.due_recipients(b, now, limit).await
    }
    async fn next_due(&self, b: &BroadcastId) -> PortResult<Option<chrono::DateTime<Utc>>> {
        self.inner.next_due(b).await
    }
    async fn update_recipient(&self, r: &Recipient) -> PortResult<()> {
        self.inner.update_recipient(r).await
    }
    async fn update_recipients(&self, rs: &[Recipient]) -> PortResult<()> {
        if self.failures.fires() {
            return Err(kindling::error::PortError::new(
                "sqlite",
                "database is locked",
            ));
        }
        self.inner.update_recipients(rs).await
    }
    async fn get_recipient(
        &self,
        b: &BroadcastId,
        lead: &kindling::ids::LeadId,
    ) -> PortResult<Option<Recipient>> {
        self.inner.get_recipient(b, lead).await
    }
    async fn recipients(
        &self,
        b: &BroadcastId,
        after: Option<&kindling::ids::LeadId>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        self.inner.recipients(b, after, limit).await
    }
    async fn progress(&self, b: &BroadcastId) -> PortResult<kindling::broadcasts::Progress> {
        self.inner.progress(b).await
    }
}

#[tokio::test]
async fn a_page_whose_outcomes_were_not_written_is_settled_by_the_next_run_without_resending() {
    let t = app("");
    for i in 0..6 {
        lead(&t, &format!("pg{i}@example.jp"), "Asia/Tokyo", true).await;
    }
    let id = scheduled(&t, "page", segment(), "2026-11-02 11:00", false).await;
    t.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap());
    let failing = PageWriteFails {
        inner: t.app.kindling.stores.broadcasts.clone(),
        failures: kindling_tests::harness::FailFirst::new(1),
    };
    let mut k = t.app.kindling.broadcasts();
    k.store = &failing;
    // The provider took all six, then the page's outcomes failed to be written.
    assert!(send_due_broadcasts(&k, &*t.mailer, 100).await.is_err());
    assert_eq!(broadcast_mails(&t).len(), 6);
    let store = &t.app.kindling.stores.broadcasts;
    assert_eq!(
        store.progress(&id).await.unwrap().queued,
        6,
        "all still queued"
    );
    // The next run settles them from their claims: sent, nothing sent again.
    let next = send_due_broadcasts(&k, &*t.mailer, 100).await.unwrap();
    assert_eq!(next.sent.len(), 0, "{next:?}");
    send_due_broadcasts(&k, &*t.mailer, 100).await.unwrap();
    assert_eq!(broadcast_mails(&t).len(), 6, "no mail twice");
    let p = store.progress(&id).await.unwrap();
    assert_eq!((p.sent, p.queued), (6, 0), "{p:?}");
    assert_eq!(t.broadcast(&id).await.state, State::Sent);
    // Each send counted once by the breaker, and one `email_sent` activity each.
    let tallies = t
        .app
        .kindling
        .stores
        .tallies
        .tallies(kindling::deliverability::SERIES, None, None)
        .await
        .unwrap();
    let counted: u64 = tallies
        .iter()
        .map(|t| t.get(kindling::deliverability::SENT))
        .sum();
    // (No step mail went: the scheduler's own run never ran here.)
    assert_eq!(counted, 6, "each broadcast mail once");
    for i in 0..6 {
        let sent = t
            .activities(&format!("pg{i}@example.jp"))
            .await
            .into_iter()
            .filter(|a| {
                a.kind == kindling::activities::ActivityKind::EmailSent
                    && a.attrs.broadcast_id.is_some()
            })
            .count();
        assert_eq!(sent, 1);
    }
}
