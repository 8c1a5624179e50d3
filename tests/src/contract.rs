//! The store contract: behaviour every implementation of the store ports must have. A store
//! crate runs it with [`store_contract!`], giving an expression that makes a fresh, empty store.

pub use crate::contract_broadcasts::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::activities::{Activity, ActivityKind, Attrs, Subject};
use kindling::alerts::ports::AlertClaim;
use kindling::app::Store;
use kindling::deliverability::suppression::{Suppression, SuppressionReason};
use kindling::email::EmailAddress;
use kindling::ids::SegmentId;
use kindling::ids::{ActivityId, BroadcastId, EnrollmentId, LeadId, VisitorId};
use kindling::leads::Lead;
use kindling::message::MessageKey;
use kindling::ports::{Add, Cas, Once, Put};
use kindling::segments::ports::{all_members, shard_of, Cursor, Member};
use kindling::sending::ledger::{SendRecord, SendState};
use kindling::sending::ports::SendClaim;
use kindling::sending::schedule::FrequencyCap;
use kindling::sequences::{Enrollment, EnrollmentStatus};

/// Generates one `#[tokio::test]` per contract case, each on a fresh store from `$make`.
#[macro_export]
macro_rules! store_contract {
    ($make:expr) => {
        $crate::store_contract!(@cases $make;
            lead_insert_get_and_find_by_email,
            lead_email_is_unique,
            lead_update_is_optimistic,
            lead_ids_page_through_every_lead_once,
            due_rechecks_are_due_ordered_and_cleared,
            trigger_state_round_trips,
            visitor_keeps_its_first_lead,
            activity_recording_is_idempotent,
            activity_details_round_trip,
            enrollment_is_unique_per_lead_and_sequence,
            reentry_is_unique_per_entry_number,
            due_enrollments_are_active_due_and_ordered,
            enrollment_update_is_optimistic,
            send_claim_is_once_per_step,
            send_claim_applies_the_frequency_cap,
            failed_sends_do_not_count_toward_the_cap,
            released_claims_can_be_claimed_again,
            completed_sends_are_read_back,
            a_sent_send_is_recorded_with_its_activity_and_count_once,
            broadcast_sends_are_claimed_once_and_share_the_cap_with_steps,
            a_send_that_counts_toward_no_cap_neither_waits_nor_fills_it,
            ledgers_read_ahead_change_no_claim,
            suppression_keeps_the_first_reason,
            leads_and_suppressions_are_read_by_the_page,
            alerts_move_from_new_to_pending_to_sent,
            tallies_count_each_unit_once,
            tallies_read_back_a_range_of_buckets_in_order,
            tallies_sum_each_value_over_a_range,
            tallies_count_each_group_once_in_one_write,
            marks_keep_the_first_value_or_overwrite,
            segment_members_are_added_and_removed_once,
            segment_count_is_exact_under_racing_duplicates,
            segment_members_page_with_cursors,
            segment_changes_come_newest_first,
            broadcasts_are_created_once_updated_optimistically_and_active_when_due,
            recipients_are_added_once_and_come_due_in_order,
            recipients_page_in_lead_order,
            an_ab_test_and_its_decision_round_trip,
            a_pages_outcomes_are_written_together,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $make;
                $crate::contract::$case(&*store).await;
            }
        )*
    };
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap()
}

fn lead(id: &str, email: &str) -> Lead {
    Lead::new(LeadId::new(id), EmailAddress::parse(email).unwrap(), t0())
}

fn activity(id: &str, subject: Subject, at: DateTime<Utc>) -> Activity {
    Activity {
        id: ActivityId::new(id),
        subject,
        kind: ActivityKind::PageView,
        at,
        attrs: Attrs::default(),
    }
}

fn enrollment(lead: &str, id: &str, seq: &str, due: Option<DateTime<Utc>>) -> Enrollment {
    Enrollment {
        id: EnrollmentId::new(id),
        lead_id: LeadId::new(lead),
        sequence_id: seq.into(),
        entry: 1,
        enrolled_at: t0(),
        next_step: 0,
        next_due_at: due,
        status: EnrollmentStatus::Active,
        reason: None,
        version: 0,
    }
}

fn send(lead: &str, enr: &str, step: u32, at: DateTime<Utc>) -> SendRecord {
    SendRecord {
        key: MessageKey::Step {
            lead_id: LeadId::new(lead),
            enrollment_id: EnrollmentId::new(enr),
            step,
        },
        sequence_id: Some("s".into()),
        template: "t".into(),
        state: SendState::Sending,
        claimed_at: at,
        sent_at: None,
        provider_message_id: None,
        links: vec!["https://example.jp/a".into()],
        error: None,
    }
}

const CAP: Option<FrequencyCap> = Some(FrequencyCap {
    max: 1,
    window: Duration::hours(24),
});

pub async fn lead_insert_get_and_find_by_email(s: &dyn Store) {
    let mut l = lead("L1", "a@example.jp");
    l.profile.name = Some("佐藤".into());
    // What the CRM reported, and the hooks applied, round-trip too.
    l.bant.budget = Some("confirmed".into());
    l.bant.timeline = Some("今期中".into());
    l.crm_hooks = vec!["salesforce/h1".into(), "salesforce/h2".into()];
    assert_eq!(s.insert_lead(&l).await.unwrap(), Put::Created);
    assert_eq!(s.get_lead(&l.id).await.unwrap(), Some(l.clone()));
    assert_eq!(s.find_lead_by_email(&l.email).await.unwrap(), Some(l));
    assert_eq!(s.get_lead(&LeadId::new("nope")).await.unwrap(), None);
    assert_eq!(
        s.find_lead_by_email(&EmailAddress::parse("b@example.jp").unwrap())
            .await
            .unwrap(),
        None
    );
}

pub async fn lead_email_is_unique(s: &dyn Store) {
    assert_eq!(
        s.insert_lead(&lead("L1", "a@example.jp")).await.unwrap(),
        Put::Created
    );
    assert_eq!(
        s.insert_lead(&lead("L2", "a@example.jp")).await.unwrap(),
        Put::Existed
    );
    assert_eq!(
        s.insert_lead(&lead("L1", "other@example.jp"))
            .await
            .unwrap(),
        Put::Existed
    );
    assert_eq!(s.get_lead(&LeadId::new("L2")).await.unwrap(), None);
    assert_eq!(
        s.find_lead_by_email(&EmailAddress::parse("other@example.jp").unwrap())
            .await
            .unwrap(),
        None
    );
}

pub async fn lead_update_is_optimistic(s: &dyn Store) {
    let l = lead("L1", "a@example.jp");
    s.insert_lead(&l).await.unwrap();
    let mut first = s.get_lead(&l.id).await.unwrap().unwrap();
    let mut second = first.clone();
    first.profile.company = Some("A".into());
    assert_eq!(s.update_lead(&first).await.unwrap(), Cas::Updated);
    second.profile.company = Some("B".into());
    assert_eq!(s.update_lead(&second).await.unwrap(), Cas::Stale);
    let stored = s.get_lead(&l.id).await.unwrap().unwrap();
    assert_eq!(stored.profile.company.as_deref(), Some("A"));
    assert_eq!(stored.version, 1);
    let mut third = stored.clone();
    third.profile.title = Some("部長".into());
    assert_eq!(s.update_lead(&third).await.unwrap(), Cas::Updated);
    assert_eq!(s.get_lead(&l.id).await.unwrap().unwrap().version, 2);
}

pub async fn lead_ids_page_through_every_lead_once(s: &dyn Store) {
    let mut all: Vec<LeadId> = Vec::new();
    for i in [3, 1, 4, 5, 2] {
        let l = lead(&format!("L{i}"), &format!("l{i}@x.jp"));
        s.insert_lead(&l).await.unwrap();
        // Other items of the lead (and of others) share the table: only leads are listed.
        s.record(&activity(
            &format!("a{i}"),
            Subject::Lead(l.id.clone()),
            t0(),
        ))
        .await
        .unwrap();
        all.push(l.id);
    }
    let mut seen = Vec::new();
    let mut after: Option<LeadId> = None;
    loop {
        let page = s.list_lead_ids(after.as_ref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().cloned());
        if page.len() < 2 {
            break;
        }
        after = page.last().cloned();
        assert!(seen.len() <= 5, "pages must not repeat leads: {seen:?}");
    }
    seen.sort();
    all.sort();
    assert_eq!(seen, all, "every lead exactly once");
    assert!(s.list_lead_ids(None, 0).await.unwrap().is_empty());
}

pub async fn due_rechecks_are_due_ordered_and_cleared(s: &dyn Store) {
    // L1 due in 2 h, L2 due now, L3 in 10 min, L4 never.
    for (id, email, at) in [
        ("L1", "a@x.jp", Some(t0() + Duration::hours(2))),
        ("L2", "b@x.jp", Some(t0())),
        ("L3", "c@x.jp", Some(t0() + Duration::minutes(10))),
        ("L4", "d@x.jp", None),
    ] {
        let mut l = lead(id, email);
        l.recheck_at = at;
        s.insert_lead(&l).await.unwrap();
    }
    let ids = |v: Vec<LeadId>| v.into_iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(s.due_rechecks(t0(), 10).await.unwrap()), ["L2"]);
    assert_eq!(
        ids(s.due_rechecks(t0() + Duration::hours(3), 10).await.unwrap()),
        ["L2", "L3", "L1"]
    );
    assert_eq!(
        ids(s.due_rechecks(t0() + Duration::hours(3), 2).await.unwrap()),
        ["L2", "L3"]
    );
    // Moved later and cleared by an update: no longer due.
    let mut l2 = s.get_lead(&LeadId::new("L2")).await.unwrap().unwrap();
    l2.recheck_at = Some(t0() + Duration::days(1));
    assert_eq!(s.update_lead(&l2).await.unwrap(), Cas::Updated);
    let mut l3 = s.get_lead(&LeadId::new("L3")).await.unwrap().unwrap();
    l3.recheck_at = None;
    assert_eq!(s.update_lead(&l3).await.unwrap(), Cas::Updated);
    assert_eq!(
        ids(s.due_rechecks(t0() + Duration::hours(3), 10).await.unwrap()),
        ["L1"]
    );
}

pub async fn trigger_state_round_trips(s: &dyn Store) {
    let mut l = lead("L1", "a@x.jp");
    s.insert_lead(&l).await.unwrap();
    l.triggers.insert(
        "pricing_interest".into(),
        kindling::leads::TriggerState {
            fired: 2,
            last_at: t0(),
        },
    );
    l.score.mql_at = Some(t0());
    l.score.hot_alerted_at = Some(t0());
    assert_eq!(s.update_lead(&l).await.unwrap(), Cas::Updated);
    let back = s.get_lead(&l.id).await.unwrap().unwrap();
    assert_eq!(back.triggers, l.triggers);
    assert_eq!(back.score.mql_at, Some(t0()));
    assert_eq!(back.score.hot_alerted_at, Some(t0()));
}

pub async fn visitor_keeps_its_first_lead(s: &dyn Store) {
    let v = VisitorId::new("v1");
    assert_eq!(s.lead_of_visitor(&v).await.unwrap(), None);
    assert_eq!(
        s.link_visitor(&v, &LeadId::new("L1"), t0()).await.unwrap(),
        Put::Created
    );
    assert_eq!(
        s.link_visitor(&v, &LeadId::new("L2"), t0()).await.unwrap(),
        Put::Existed
    );
    s.link_visitor(&VisitorId::new("v2"), &LeadId::new("L1"), t0())
        .await
        .unwrap();
    assert_eq!(
        s.lead_of_visitor(&v).await.unwrap(),
        Some(LeadId::new("L1"))
    );
    assert_eq!(
        s.visitors_of_lead(&LeadId::new("L1")).await.unwrap(),
        vec![VisitorId::new("v1"), VisitorId::new("v2")]
    );
    assert!(s
        .visitors_of_lead(&LeadId::new("L2"))
        .await
        .unwrap()
        .is_empty());
}

pub async fn activity_recording_is_idempotent(s: &dyn Store) {
    let lead_subject = Subject::Lead(LeadId::new("L1"));
    let a = activity("a1", lead_subject.clone(), t0());
    assert_eq!(s.record(&a).await.unwrap(), Put::Created);
    let mut changed = a.clone();
    changed.kind = ActivityKind::ConsultationRequest;
    assert_eq!(
        s.record(&changed).await.unwrap(),
        Put::Existed,
        "same id, different content: first write wins"
    );
    s.record(&activity("a0", lead_subject, t0() - Duration::minutes(1)))
        .await
        .unwrap();
    s.record(&activity(
        "v-a",
        Subject::Visitor(VisitorId::new("v1")),
        t0(),
    ))
    .await
    .unwrap();
    let of_lead = s.activities_of_lead(&LeadId::new("L1")).await.unwrap();
    assert_eq!(
        of_lead.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        vec!["a0", "a1"]
    );
    assert_eq!(of_lead[1], a);
    let of_visitor = s
        .activities_of_visitor(&VisitorId::new("v1"))
        .await
        .unwrap();
    assert_eq!(of_visitor.len(), 1);
}

pub async fn activity_details_round_trip(s: &dyn Store) {
    // Everything tracking records: classification, dwell, campaign, referrer, zone, link.
    let mut click = activity("c1", Subject::Lead(LeadId::new("L1")), t0());
    click.kind = ActivityKind::EmailClick;
    click.attrs = Attrs {
        url: Some("https://example.jp/pricing.html?x=1".into()),
        enrollment_id: Some(EnrollmentId::new("E1")),
        step: Some(2),
        sequence_id: Some("document_followup".into()),
        link: Some(kindling::message::HIDDEN_LINK),
        agent: Some(kindling::activities::classify::Agent::ScannerClick),
        reason: Some("hidden_link".into()),
        ..Attrs::default()
    };
    let mut leave = activity("p1", Subject::Visitor(VisitorId::new("v1")), t0());
    leave.kind = ActivityKind::PageLeave;
    leave.attrs = Attrs {
        url: Some("https://example.jp/".into()),
        dwell_ms: Some(12_345),
        utm_source: Some("news".into()),
        utm_medium: Some("email".into()),
        utm_campaign: Some("秋のキャンペーン".into()),
        referrer_host: Some("www.google.com".into()),
        time_zone: Some("America/New_York".into()),
        visitor_id: Some(VisitorId::new("v1")),
        page_category: Some("pricing".into()),
        ..Attrs::default()
    };
    s.record(&click).await.unwrap();
    s.record(&leave).await.unwrap();
    assert_eq!(
        s.activities_of_lead(&LeadId::new("L1")).await.unwrap(),
        vec![click]
    );
    assert_eq!(
        s.activities_of_visitor(&VisitorId::new("v1"))
            .await
            .unwrap(),
        vec![leave]
    );
}

pub async fn enrollment_is_unique_per_lead_and_sequence(s: &dyn Store) {
    assert_eq!(
        s.enroll(&enrollment("L1", "E1", "seq", Some(t0())))
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(
        s.enroll(&enrollment("L1", "E2", "seq", Some(t0())))
            .await
            .unwrap(),
        Put::Existed
    );
    assert_eq!(
        s.enroll(&enrollment("L1", "E3", "other", Some(t0())))
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(
        s.enroll(&enrollment("L2", "E4", "seq", Some(t0())))
            .await
            .unwrap(),
        Put::Created
    );
    let mine = s.enrollments_of_lead(&LeadId::new("L1")).await.unwrap();
    assert_eq!(
        mine.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["E3", "E1"]
    );
    let stored = s.enrollments_of_lead(&LeadId::new("L1")).await.unwrap();
    assert_eq!(
        stored
            .iter()
            .find(|e| e.id.as_str() == "E1")
            .unwrap()
            .sequence_id,
        "seq"
    );
    assert!(
        stored.iter().all(|e| e.id.as_str() != "E2"),
        "the refused enrollment was not stored"
    );
}

pub async fn reentry_is_unique_per_entry_number(s: &dyn Store) {
    let mut first = enrollment("L1", "E1", "seq", None);
    first.status = EnrollmentStatus::Completed;
    assert_eq!(s.enroll(&first).await.unwrap(), Put::Created);
    for (id, entry, expected) in [
        ("E2", 2, Put::Created),
        ("E3", 2, Put::Existed),
        ("E4", 10, Put::Created),
    ] {
        let mut e = enrollment("L1", id, "seq", Some(t0()));
        e.entry = entry;
        assert_eq!(s.enroll(&e).await.unwrap(), expected, "{id}");
    }
    let mine = s.enrollments_of_lead(&LeadId::new("L1")).await.unwrap();
    assert_eq!(
        mine.iter()
            .map(|e| (e.id.as_str(), e.entry))
            .collect::<Vec<_>>(),
        vec![("E1", 1), ("E2", 2), ("E4", 10)],
        "in entry order"
    );
}

pub async fn due_enrollments_are_active_due_and_ordered(s: &dyn Store) {
    s.enroll(&enrollment(
        "L1",
        "late",
        "a",
        Some(t0() - Duration::minutes(1)),
    ))
    .await
    .unwrap();
    s.enroll(&enrollment(
        "L2",
        "early",
        "a",
        Some(t0() - Duration::hours(2)),
    ))
    .await
    .unwrap();
    s.enroll(&enrollment("L3", "exact", "a", Some(t0())))
        .await
        .unwrap();
    s.enroll(&enrollment(
        "L4",
        "future",
        "a",
        Some(t0() + Duration::seconds(1)),
    ))
    .await
    .unwrap();
    let mut done = enrollment("L5", "done", "a", Some(t0() - Duration::hours(3)));
    s.enroll(&done).await.unwrap();
    done.status = EnrollmentStatus::Completed;
    done.next_due_at = None;
    assert_eq!(s.update_enrollment(&done).await.unwrap(), Cas::Updated);
    let due = s.due_enrollments(t0(), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        vec!["early", "late", "exact"]
    );
    assert_eq!(s.due_enrollments(t0(), 2).await.unwrap().len(), 2);
}

pub async fn enrollment_update_is_optimistic(s: &dyn Store) {
    let e = enrollment("L1", "E1", "seq", Some(t0()));
    s.enroll(&e).await.unwrap();
    let mut a = s.enrollments_of_lead(&e.lead_id).await.unwrap().remove(0);
    let mut b = a.clone();
    a.next_step = 1;
    a.next_due_at = Some(t0() + Duration::days(3));
    assert_eq!(s.update_enrollment(&a).await.unwrap(), Cas::Updated);
    b.status = EnrollmentStatus::Stopped;
    assert_eq!(s.update_enrollment(&b).await.unwrap(), Cas::Stale);
    let stored = s.enrollments_of_lead(&e.lead_id).await.unwrap().remove(0);
    assert_eq!(
        (stored.next_step, stored.version, stored.status),
        (1, 1, EnrollmentStatus::Active)
    );
    assert!(
        s.due_enrollments(t0(), 10).await.unwrap().is_empty(),
        "rescheduled past now"
    );
}

pub async fn send_claim_is_once_per_step(s: &dyn Store) {
    let r = send("L1", "E1", 0, t0());
    assert_eq!(
        s.claim_send(&r, CAP, t0()).await.unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        s.claim_send(&r, CAP, t0() + Duration::days(2))
            .await
            .unwrap(),
        SendClaim::Exists(r.clone())
    );
    assert_eq!(s.get_send(&r.key).await.unwrap(), Some(r));
}

pub async fn send_claim_applies_the_frequency_cap(s: &dyn Store) {
    assert_eq!(
        s.claim_send(&send("L1", "E1", 0, t0()), CAP, t0())
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    let later = t0() + Duration::hours(5);
    assert_eq!(
        s.claim_send(&send("L1", "E2", 0, later), CAP, later)
            .await
            .unwrap(),
        SendClaim::CapReached {
            until: t0() + Duration::hours(24)
        }
    );
    // Another lead is not capped.
    assert_eq!(
        s.claim_send(&send("L2", "E3", 0, later), CAP, later)
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    let next_day = t0() + Duration::hours(24) + Duration::seconds(1);
    assert_eq!(
        s.claim_send(&send("L1", "E2", 0, next_day), CAP, next_day)
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    // A cap of two lets a second mail through in the window.
    let cap2 = Some(FrequencyCap {
        max: 2,
        window: Duration::hours(24),
    });
    let l3 = t0() + Duration::minutes(1);
    assert_eq!(
        s.claim_send(&send("L3", "A", 0, t0()), cap2, t0())
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        s.claim_send(&send("L3", "B", 0, l3), cap2, l3)
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        s.claim_send(&send("L3", "C", 0, l3), cap2, l3)
            .await
            .unwrap(),
        SendClaim::CapReached {
            until: t0() + Duration::hours(24)
        }
    );
}

pub async fn failed_sends_do_not_count_toward_the_cap(s: &dyn Store) {
    let mut r = send("L1", "E1", 0, t0());
    s.claim_send(&r, CAP, t0()).await.unwrap();
    r.state = SendState::Failed;
    r.error = Some("rejected".into());
    s.complete_send(&r).await.unwrap();
    let later = t0() + Duration::minutes(5);
    assert_eq!(
        s.claim_send(&send("L1", "E2", 0, later), CAP, later)
            .await
            .unwrap(),
        SendClaim::Claimed
    );
}

pub async fn released_claims_can_be_claimed_again(s: &dyn Store) {
    let r = send("L1", "E1", 0, t0());
    s.claim_send(&r, CAP, t0()).await.unwrap();
    s.release_send(&r.key).await.unwrap();
    assert_eq!(s.get_send(&r.key).await.unwrap(), None);
    assert_eq!(
        s.claim_send(&r, CAP, t0()).await.unwrap(),
        SendClaim::Claimed,
        "and the cap slot was freed"
    );
    let mut sent = r.clone();
    sent.state = SendState::Sent;
    s.complete_send(&sent).await.unwrap();
    s.release_send(&r.key).await.unwrap();
    assert_eq!(
        s.get_send(&r.key).await.unwrap().map(|r| r.state),
        Some(SendState::Sent),
        "a sent record is never released"
    );
}

pub async fn completed_sends_are_read_back(s: &dyn Store) {
    let mut r = send("L1", "E1", 0, t0());
    s.claim_send(&r, CAP, t0()).await.unwrap();
    r.state = SendState::Sent;
    r.sent_at = Some(t0());
    r.provider_message_id = Some("msg-1".into());
    s.complete_send(&r).await.unwrap();
    assert_eq!(s.get_send(&r.key).await.unwrap(), Some(r.clone()));
    let later = t0() + Duration::days(2);
    let r2 = send("L1", "E1", 1, later);
    s.claim_send(&r2, CAP, later).await.unwrap();
    assert_eq!(
        s.sends_of_lead(&LeadId::new("L1")).await.unwrap(),
        vec![r, r2]
    );
    assert!(s
        .sends_of_lead(&LeadId::new("L9"))
        .await
        .unwrap()
        .is_empty());
}

/// The first send's record state, the lead's log length and the breaker's count.
async fn sent_state(s: &dyn Store) -> (SendState, usize, u64) {
    let sent = s.tallies("deliverability", None, None).await.unwrap();
    let n: u64 = sent.iter().map(|t| t.get("sent")).sum();
    let log = s.activities_of_lead(&LeadId::new("L1")).await.unwrap();
    let record = s
        .get_send(&send("L1", "E1", 0, t0()).key)
        .await
        .unwrap()
        .unwrap();
    (record.state, log.len(), n)
}

/// `complete_sent_with`: all three parts once, or (`false`) nothing at all; again after a
/// part is already there (a retried send), never a second activity or count.
pub async fn a_sent_send_is_recorded_with_its_activity_and_count_once(s: &dyn Store) {
    use kindling::sending::ports::CountOnce;
    let count = CountOnce {
        series: "deliverability",
        bucket: "2026-11-02T03",
        counter: "sent",
        unit: "L1/E1/0",
    };
    let mut r = send("L1", "E1", 0, t0());
    s.claim_send(&r, CAP, t0()).await.unwrap();
    r.state = SendState::Sent;
    r.sent_at = Some(t0());
    let a = activity("sent_L1_E1_0", Subject::Lead(LeadId::new("L1")), t0());
    let wrote = s.complete_sent_with(&r, &a, &count, t0()).await.unwrap();
    if wrote {
        assert_eq!(sent_state(s).await, (SendState::Sent, 1, 1));
    } else {
        assert_eq!(
            sent_state(s).await,
            (SendState::Sending, 0, 0),
            "all or nothing"
        );
    }
    // Again (a retry): whatever it answers, nothing is there twice.
    let again = s.complete_sent_with(&r, &a, &count, t0()).await.unwrap();
    if !again {
        s.complete_send(&r).await.unwrap();
        s.record(&a).await.unwrap();
        s.tally_once(count.series, count.bucket, count.counter, count.unit, t0())
            .await
            .unwrap();
    }
    assert_eq!(sent_state(s).await, (SendState::Sent, 1, 1));
    // A second send whose activity is already logged (its sender died after logging it).
    let mut r2 = send("L1", "E1", 1, t0());
    s.claim_send(&r2, None, t0()).await.unwrap();
    r2.state = SendState::Sent;
    let a2 = activity("sent_L1_E1_1", Subject::Lead(LeadId::new("L1")), t0());
    s.record(&a2).await.unwrap();
    let count2 = CountOnce {
        unit: "L1/E1/1",
        ..count
    };
    let wrote = s.complete_sent_with(&r2, &a2, &count2, t0()).await.unwrap();
    let stored = s.get_send(&r2.key).await.unwrap().unwrap();
    let log = s.activities_of_lead(&LeadId::new("L1")).await.unwrap();
    assert_eq!(log.len(), 2, "the activity once");
    assert_eq!(
        stored.state,
        if wrote {
            SendState::Sent
        } else {
            SendState::Sending
        },
        "all or nothing"
    );
}

fn broadcast_send(lead: &str, broadcast: &str, at: DateTime<Utc>) -> SendRecord {
    SendRecord {
        key: MessageKey::Broadcast {
            lead_id: LeadId::new(lead),
            broadcast_id: BroadcastId::new(broadcast),
        },
        ..send(lead, "unused", 0, at)
    }
}

pub async fn broadcast_sends_are_claimed_once_and_share_the_cap_with_steps(s: &dyn Store) {
    // A step took the lead's one mail of the day: a broadcast waits for the same window.
    s.claim_send(&send("L1", "E1", 0, t0()), CAP, t0())
        .await
        .unwrap();
    let later = t0() + Duration::hours(1);
    let b = broadcast_send("L1", "B1", later);
    assert_eq!(
        s.claim_send(&b, CAP, later).await.unwrap(),
        SendClaim::CapReached {
            until: t0() + Duration::hours(24)
        }
    );
    // Another lead's copy of the broadcast is its own send; claiming it twice finds the first.
    let b2 = broadcast_send("L2", "B1", later);
    assert_eq!(
        s.claim_send(&b2, CAP, later).await.unwrap(),
        SendClaim::Claimed
    );
    assert_eq!(
        s.claim_send(&b2, CAP, later).await.unwrap(),
        SendClaim::Exists(b2.clone())
    );
    let mut sent = b2.clone();
    sent.state = SendState::Sent;
    sent.sent_at = Some(later);
    s.complete_send(&sent).await.unwrap();
    assert_eq!(s.get_send(&b2.key).await.unwrap(), Some(sent.clone()));
    // And it takes L2's place in the window: a step for L2 now waits.
    assert!(matches!(
        s.claim_send(&send("L2", "E9", 0, later), CAP, later)
            .await
            .unwrap(),
        SendClaim::CapReached { .. }
    ));
    // Once the window passed, L1's broadcast is claimed, and a release frees it again.
    let next_day = t0() + Duration::hours(25);
    let b = broadcast_send("L1", "B1", next_day);
    assert_eq!(
        s.claim_send(&b, CAP, next_day).await.unwrap(),
        SendClaim::Claimed
    );
    s.release_send(&b.key).await.unwrap();
    assert_eq!(s.get_send(&b.key).await.unwrap(), None);
    assert_eq!(
        s.sends_of_lead(&LeadId::new("L2")).await.unwrap(),
        vec![sent]
    );
}

pub async fn a_send_that_counts_toward_no_cap_neither_waits_nor_fills_it(s: &dyn Store) {
    // L1's step took its one mail of the day; a broadcast outside the cap still goes.
    s.claim_send(&send("L1", "E1", 0, t0()), CAP, t0())
        .await
        .unwrap();
    let later = t0() + Duration::hours(1);
    let b = broadcast_send("L1", "B1", later);
    assert_eq!(
        s.claim_send(&b, None, later).await.unwrap(),
        SendClaim::Claimed
    );
    // Still once: a second claim finds the first, with or without a cap.
    assert_eq!(
        s.claim_send(&b, None, later).await.unwrap(),
        SendClaim::Exists(b.clone())
    );
    assert_eq!(
        s.claim_send(&b, CAP, later).await.unwrap(),
        SendClaim::Exists(b.clone())
    );
    // L2 got the broadcast first: it fills no slot, so L2's step goes the same hour.
    let b2 = broadcast_send("L2", "B1", later);
    assert_eq!(
        s.claim_send(&b2, None, later).await.unwrap(),
        SendClaim::Claimed
    );
    let mut sent = b2.clone();
    sent.state = SendState::Sent;
    sent.sent_at = Some(later);
    s.complete_send(&sent).await.unwrap();
    assert_eq!(
        s.claim_send(&send("L2", "E9", 0, later), CAP, later)
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    // A failed or released uncapped claim frees nothing it did not take.
    s.release_send(&b.key).await.unwrap();
    assert_eq!(s.get_send(&b.key).await.unwrap(), None);
    assert!(matches!(
        s.claim_send(&send("L1", "E2", 0, later), CAP, later)
            .await
            .unwrap(),
        SendClaim::CapReached { .. }
    ));
}

pub async fn suppression_keeps_the_first_reason(s: &dyn Store) {
    let email = EmailAddress::parse("a@example.jp").unwrap();
    assert_eq!(s.suppression(&email).await.unwrap(), None);
    let first = Suppression {
        email: email.clone(),
        reason: SuppressionReason::Bounced,
        at: t0(),
    };
    assert_eq!(s.suppress(&first).await.unwrap(), Put::Created);
    let again = Suppression {
        email: email.clone(),
        reason: SuppressionReason::Unsubscribed,
        at: t0() + Duration::hours(1),
    };
    assert_eq!(s.suppress(&again).await.unwrap(), Put::Existed);
    assert_eq!(s.suppression(&email).await.unwrap(), Some(first));
}

pub async fn alerts_move_from_new_to_pending_to_sent(s: &dyn Store) {
    let l = LeadId::new("L1");
    assert_eq!(
        s.claim_alert("hot/L1/1", l.as_str(), t0()).await.unwrap(),
        AlertClaim::New
    );
    assert_eq!(
        s.claim_alert("hot/L1/1", l.as_str(), t0()).await.unwrap(),
        AlertClaim::Pending
    );
    s.release_alert("hot/L1/1").await.unwrap();
    assert_eq!(
        s.claim_alert("hot/L1/1", l.as_str(), t0()).await.unwrap(),
        AlertClaim::New,
        "released claims are new again"
    );
    s.mark_alert_sent("hot/L1/1", t0()).await.unwrap();
    s.release_alert("hot/L1/1").await.unwrap();
    assert_eq!(
        s.claim_alert("hot/L1/1", l.as_str(), t0()).await.unwrap(),
        AlertClaim::Sent,
        "sent alerts are never released"
    );
    assert_eq!(
        s.claim_alert("hot/L1/2", l.as_str(), t0()).await.unwrap(),
        AlertClaim::New,
        "each crossing has its own alert"
    );
}

pub async fn tallies_count_each_unit_once(s: &dyn Store) {
    let now = t0();
    for (counter, unit, want) in [
        ("sent", "L1/E1/0", Put::Created),
        ("sent", "L1/E1/0", Put::Existed),
        ("sent", "L2/E2/0", Put::Created),
        ("clicked", "L1/E1/0", Put::Created),
        ("clicked", "L1/E1/0", Put::Existed),
    ] {
        assert_eq!(
            s.tally_once("ab:seq:0", "doc_a", counter, unit, now)
                .await
                .unwrap(),
            want,
            "{counter} {unit}"
        );
    }
    s.tally_once("ab:seq:0", "doc_b", "sent", "L3/E3/0", now)
        .await
        .unwrap();
    let all = s.tallies("ab:seq:0", None, None).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|t| (
                t.bucket.as_str(),
                t.get("sent"),
                t.get("clicked"),
                t.get("opened")
            ))
            .collect::<Vec<_>>(),
        vec![("doc_a", 2, 1, 0), ("doc_b", 1, 0, 0)]
    );
    assert!(s
        .tallies("ab:other:0", None, None)
        .await
        .unwrap()
        .is_empty());
}

pub async fn tallies_count_each_group_once_in_one_write(s: &dyn Store) {
    let add = |series: &str, bucket: &str, counter: &str, by: u64| Add {
        series: series.into(),
        bucket: bucket.into(),
        counter: counter.into(),
        by,
    };
    let open = |activity: &str, message: &str| {
        vec![
            Once {
                unit: format!("hit/{activity}"),
                adds: vec![
                    add("kpi", "w2026-11-30", "open_hits", 1),
                    add("kpi", "m2026-12", "open_hits", 1),
                ],
            },
            Once {
                unit: format!("open/{message}"),
                adds: vec![
                    add("kpi", "w2026-11-30", "opened", 1),
                    add("kpi.broadcast", "w2026-11-30|b1", "opened", 1),
                    add("kpi", "w2026-11-30", "won_amount.JPY", 1500),
                ],
            },
        ]
    };
    let put = |v: &[Put]| v.to_vec();
    let first = s
        .tally_each_once("kpi", &open("a1", "m1"), 400, t0())
        .await
        .unwrap();
    assert_eq!(put(&first), vec![Put::Created, Put::Created]);
    // A second fetch of the same mail counts a hit, not another opened mail.
    let again = s
        .tally_each_once("kpi", &open("a2", "m1"), 400, t0())
        .await
        .unwrap();
    assert_eq!(again, vec![Put::Created, Put::Existed]);
    // A redelivered event counts nothing.
    let dup = s
        .tally_each_once("kpi", &open("a2", "m1"), 400, t0())
        .await
        .unwrap();
    assert_eq!(dup, vec![Put::Existed, Put::Existed]);
    // Units are per scope.
    let other = s
        .tally_each_once("other", &open("a1", "m1")[..1], 400, t0())
        .await
        .unwrap();
    assert_eq!(other, vec![Put::Created]);
    assert!(s
        .tally_each_once("kpi", &[], 400, t0())
        .await
        .unwrap()
        .is_empty());
    let totals = s.tallies("kpi", None, None).await.unwrap();
    assert_eq!(
        totals
            .iter()
            .map(|t| (
                t.bucket.as_str(),
                t.get("open_hits"),
                t.get("opened"),
                t.get("won_amount.JPY")
            ))
            .collect::<Vec<_>>(),
        vec![("m2026-12", 3, 0, 0), ("w2026-11-30", 3, 1, 1500)],
        "the other scope's group adds to the same series"
    );
    let by = s.tallies("kpi.broadcast", None, None).await.unwrap();
    assert_eq!(by.len(), 1);
    assert_eq!(
        (by[0].bucket.as_str(), by[0].get("opened")),
        ("w2026-11-30|b1", 1)
    );
}

pub async fn tallies_read_back_a_range_of_buckets_in_order(s: &dyn Store) {
    for (i, hour) in [
        "2026-11-21T03",
        "2026-11-21T01",
        "2026-11-21T02",
        "2026-11-22T00",
    ]
    .iter()
    .enumerate()
    {
        s.tally_once("deliverability", hour, "sent", &format!("u{i}"), t0())
            .await
            .unwrap();
    }
    s.tally_once("deliverability", "2026-11-21T02", "bounced", "m1", t0())
        .await
        .unwrap();
    let range = s
        .tallies(
            "deliverability",
            Some("2026-11-21T02"),
            Some("2026-11-21T03"),
        )
        .await
        .unwrap();
    assert_eq!(
        range
            .iter()
            .map(|t| (t.bucket.as_str(), t.get("sent"), t.get("bounced")))
            .collect::<Vec<_>>(),
        vec![("2026-11-21T02", 1, 1), ("2026-11-21T03", 1, 0)]
    );
    let from = s
        .tallies("deliverability", Some("2026-11-21T03"), None)
        .await
        .unwrap();
    assert_eq!(from.len(), 2);
    let to = s
        .tallies("deliverability", None, Some("2026-11-21T01"))
        .await
        .unwrap();
    assert_eq!(to.len(), 1);
}

pub async fn tallies_sum_each_value_over_a_range(s: &dyn Store) {
    let add = |bucket: &str, counter: &str, by: u64| Add {
        series: "kpi.form".into(),
        bucket: bucket.into(),
        counter: counter.into(),
        by,
    };
    let group = Once {
        unit: "g1".into(),
        adds: vec![
            add("d2026-11-30", "sent", 1),
            add("d2026-11-30|whitepaper", "sent", 2),
            add("d2026-12-01|whitepaper", "sent", 3),
            add("d2026-12-01|whitepaper", "opened", 1),
            add("d2026-12-01|seminar", "sent", 4),
            add("d2026-12-02|whitepaper", "sent", 100),
            add("d2026-11-29|seminar", "sent", 100),
        ],
    };
    s.tally_each_once("kpi", &[group], 30, t0()).await.unwrap();
    let sums = s
        .tally_sums("kpi.form", Some("d2026-11-30"), Some("d2026-12-01}"))
        .await
        .unwrap();
    let got: Vec<(&str, u64, u64)> = sums
        .iter()
        .map(|t| (t.bucket.as_str(), t.get("sent"), t.get("opened")))
        .collect();
    assert_eq!(
        got,
        vec![("", 1, 0), ("seminar", 4, 0), ("whitepaper", 5, 1)],
        "each value over the range, the days outside left out"
    );
    let all = s.tally_sums("kpi.form", None, None).await.unwrap();
    assert_eq!(all.iter().map(|t| t.get("sent")).sum::<u64>(), 210);
    assert!(s
        .tally_sums("kpi.nothing", None, None)
        .await
        .unwrap()
        .is_empty());
}

pub async fn marks_keep_the_first_value_or_overwrite(s: &dyn Store) {
    assert_eq!(
        s.set_mark("ab:seq:0", "winner", "doc_a", true)
            .await
            .unwrap(),
        Put::Created
    );
    assert_eq!(
        s.set_mark("ab:seq:0", "winner", "doc_b", true)
            .await
            .unwrap(),
        Put::Existed
    );
    s.set_mark("breaker", "reset_at", "x", false).await.unwrap();
    s.set_mark("breaker", "reset_at", "y", false).await.unwrap();
    let ab = s.marks("ab:seq:0").await.unwrap();
    assert_eq!(ab.get("winner").map(String::as_str), Some("doc_a"));
    assert_eq!(ab.len(), 1);
    let breaker = s.marks("breaker").await.unwrap();
    assert_eq!(breaker.get("reset_at").map(String::as_str), Some("y"));
    assert!(s.marks("nothing").await.unwrap().is_empty());
}

fn member(lead: &str, at: DateTime<Utc>) -> Member {
    Member {
        lead_id: LeadId::new(lead),
        since: at,
    }
}

pub async fn segment_members_are_added_and_removed_once(s: &dyn Store) {
    let seg = SegmentId::from("it_decision_makers");
    let other = SegmentId::from("warm_but_quiet");
    assert_eq!(s.member_count(&seg).await.unwrap(), 0);
    assert_eq!(
        s.add_member(&seg, &member("L1", t0())).await.unwrap(),
        Put::Created
    );
    // A retried entry (even with another time) changes nothing, the count neither.
    let later = t0() + Duration::minutes(5);
    assert_eq!(
        s.add_member(&seg, &member("L1", later)).await.unwrap(),
        Put::Existed
    );
    assert_eq!(
        s.add_member(&seg, &member("L2", t0())).await.unwrap(),
        Put::Created
    );
    assert_eq!(s.member_count(&seg).await.unwrap(), 2);
    assert_eq!(s.member_count(&other).await.unwrap(), 0);
    let page = s.members(&seg, None, 10).await.unwrap();
    let l1 = page
        .members
        .iter()
        .find(|m| m.lead_id.as_str() == "L1")
        .unwrap();
    assert_eq!(l1.since, t0(), "the first entry's time stays");
    assert!(s
        .remove_member(&seg, &LeadId::new("L1"), later)
        .await
        .unwrap());
    assert!(!s
        .remove_member(&seg, &LeadId::new("L1"), later)
        .await
        .unwrap());
    assert!(!s
        .remove_member(&other, &LeadId::new("L2"), later)
        .await
        .unwrap());
    assert_eq!(s.member_count(&seg).await.unwrap(), 1);
    // Back in after leaving: a new entry.
    assert_eq!(
        s.add_member(&seg, &member("L1", later)).await.unwrap(),
        Put::Created
    );
    assert_eq!(s.member_count(&seg).await.unwrap(), 2);
}

pub async fn segment_count_is_exact_under_racing_duplicates(s: &dyn Store) {
    let seg = &SegmentId::from("it_decision_makers");
    // Forty leads enter (their counts share eight shards), each entry delivered twice and the
    // duplicates interleaved with other leads' entries, as two racing rescores deliver them;
    // then every third leaves the same way. The store must count each change once. (Applied
    // one at a time: moto, unlike DynamoDB, does not isolate simultaneous transactions.)
    let lead = |i: usize| format!("lead-{i:02}");
    let order: Vec<usize> = (0..40).chain((0..40).rev()).collect();
    let mut created = 0;
    for i in &order {
        if s.add_member(seg, &member(&lead(*i), t0())).await.unwrap() == Put::Created {
            created += 1;
        }
    }
    assert_eq!(created, 40);
    assert_eq!(s.member_count(seg).await.unwrap(), 40);
    let mut removed = 0;
    for i in order.iter().filter(|i| *i % 3 == 0) {
        if s.remove_member(seg, &LeadId::new(lead(*i)), t0())
            .await
            .unwrap()
        {
            removed += 1;
        }
    }
    assert_eq!(removed, 14);
    assert_eq!(s.member_count(seg).await.unwrap(), 26);
    assert_eq!(all_members(s, seg).await.unwrap().len(), 26);
}

pub async fn segment_members_page_with_cursors(s: &dyn Store) {
    let seg = SegmentId::from("manufacturing_managers_pricing");
    for i in 0..23 {
        s.add_member(&seg, &member(&format!("lead-{i:02}"), t0()))
            .await
            .unwrap();
    }
    s.add_member(&SegmentId::from("other"), &member("lead-99", t0()))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = s.members(&seg, after.as_ref(), 5).await.unwrap();
        assert!(page.members.len() <= 5);
        seen.extend(page.members.iter().map(|m| m.lead_id.to_string()));
        pages += 1;
        match page.next {
            // A cursor survives being written out and read back (the admin API's `after`).
            Some(c) => after = Some(c.to_string().parse().unwrap()),
            None => break,
        }
        assert!(pages < 20, "pages never end");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 23, "every member once: {seen:?}");
    assert_eq!(seen.len(), 23);
    assert!(!seen.contains(&"lead-99".to_owned()));
    let ordered: Vec<(u8, String)> = seen
        .iter()
        .map(|l| (shard_of(&LeadId::new(l.as_str())), l.clone()))
        .collect();
    let mut want = ordered.clone();
    want.sort();
    assert_eq!(ordered, want, "(shard, lead) order");
    assert!("9.x".parse::<Cursor>().is_err());
    assert!("nope".parse::<Cursor>().is_err());
}

pub async fn segment_changes_come_newest_first(s: &dyn Store) {
    let seg = SegmentId::from("warm_but_quiet");
    let at = |m: i64| t0() + Duration::minutes(m);
    s.add_member(&seg, &member("L1", at(1))).await.unwrap();
    s.add_member(&seg, &member("L2", at(2))).await.unwrap();
    s.remove_member(&seg, &LeadId::new("L1"), at(3))
        .await
        .unwrap();
    // A duplicate changes nothing, so it is not a change either.
    s.add_member(&seg, &member("L2", at(4))).await.unwrap();
    let changes = s.recent_changes(&seg, 10).await.unwrap();
    let got: Vec<_> = changes
        .iter()
        .map(|c| (c.lead_id.as_str(), c.entered, c.at))
        .collect();
    assert_eq!(
        got,
        vec![
            ("L1", false, at(3)),
            ("L2", true, at(2)),
            ("L1", true, at(1))
        ]
    );
    assert_eq!(s.recent_changes(&seg, 1).await.unwrap().len(), 1);
}

pub async fn leads_and_suppressions_are_read_by_the_page(s: &dyn Store) {
    // Above one BatchGetItem's 100 keys, with ids that do not exist among them.
    let mut ids = Vec::new();
    let mut emails = Vec::new();
    for i in 0..130 {
        let l = lead(&format!("P{i:03}"), &format!("p{i}@example.jp"));
        s.insert_lead(&l).await.unwrap();
        ids.push(l.id.clone());
        emails.push(l.email.clone());
    }
    ids.push(LeadId::new("gone-1"));
    let mut got: Vec<String> = s
        .get_leads(&ids)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id.to_string())
        .collect();
    got.sort();
    assert_eq!(got.len(), 130);
    assert_eq!(got[0], "P000");
    assert!(s.get_leads(&[]).await.unwrap().is_empty());
    for i in [3, 77, 120] {
        s.suppress(&Suppression {
            email: emails[i].clone(),
            reason: SuppressionReason::Bounced,
            at: t0(),
        })
        .await
        .unwrap();
    }
    emails.push(EmailAddress::parse("nobody@example.jp").unwrap());
    let mut barred: Vec<String> = s
        .suppressed_among(&emails)
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    barred.sort();
    assert_eq!(
        barred,
        ["p120@example.jp", "p3@example.jp", "p77@example.jp"]
    );
    assert!(s.suppressed_among(&[]).await.unwrap().is_empty());
}

pub async fn ledgers_read_ahead_change_no_claim(s: &dyn Store) {
    // L1's step fills its cap; the sender reads L1's ledger ahead; the step is released (its
    // mail certainly did not go), which frees the slot: the broadcast's claim must see that.
    let step = send("L1", "E1", 0, t0());
    assert_eq!(
        s.claim_send(&step, CAP, t0()).await.unwrap(),
        SendClaim::Claimed
    );
    s.prefetch_ledgers(&[LeadId::new("L1"), LeadId::new("L2")])
        .await
        .unwrap();
    s.release_send(&step.key).await.unwrap();
    let b = broadcast_send("L1", "B1", t0());
    assert_eq!(
        s.claim_send(&b, CAP, t0()).await.unwrap(),
        SendClaim::Claimed
    );
    // The ledger read ahead was taken; the cap holds as without it.
    assert!(matches!(
        s.claim_send(&send("L1", "E2", 0, t0()), CAP, t0())
            .await
            .unwrap(),
        SendClaim::CapReached { .. }
    ));
    // L2 had no ledger when read ahead: its first claim makes one, its second is capped.
    s.prefetch_ledgers(&[LeadId::new("L2")]).await.unwrap();
    assert_eq!(
        s.claim_send(&send("L2", "E3", 0, t0()), CAP, t0())
            .await
            .unwrap(),
        SendClaim::Claimed
    );
    assert!(matches!(
        s.claim_send(&send("L2", "E4", 0, t0()), CAP, t0())
            .await
            .unwrap(),
        SendClaim::CapReached { .. }
    ));
    s.prefetch_ledgers(&[]).await.unwrap();
}
