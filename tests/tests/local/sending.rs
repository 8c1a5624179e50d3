//! Step sends: quiet hours in the lead's zone (across DST), the frequency cap across sequences,
//! consent and suppression gates, exit goals, and the failure paths: a crash between the
//! provider accepting a mail and the record, throttling, rejection.

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kindling::app::run_schedule;
use kindling::deliverability::suppression::{Suppression, SuppressionReason};
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::ids::LeadId;
use kindling::message::MessageKey;
use kindling::ports::PortResult;
use kindling::sending::ledger::{SendRecord, SendState};
use kindling::sending::ports::{MailError, SendClaim, SendLog};
use kindling::sending::schedule::FrequencyCap;
use kindling::sequences::EnrollmentStatus;
use kindling_local::store::SqliteStore;
use kindling_tests::harness::{
    config_with, config_without_triggers, lead_fields, monday_10_jst, shipped_config, TestApp,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// When each step mail of a lead went out.
async fn send_times(t: &TestApp, email: &str) -> Vec<DateTime<Utc>> {
    t.sends(email)
        .await
        .iter()
        .filter(|s| s.state == SendState::Sent)
        .map(|s| s.sent_at.unwrap())
        .collect()
}

#[tokio::test]
async fn step_due_in_quiet_hours_waits_for_nine_in_tokyo_and_is_not_dropped() {
    let t = TestApp::with_config(shipped_config(), utc("2026-11-02T14:30:00Z")); // 23:30 JST
    t.submit("whitepaper", &lead_fields("night@example.jp", "Asia/Tokyo"))
        .await;
    let reports = t
        .run_until(utc("2026-11-03T00:00:00Z"), Duration::minutes(1))
        .await;
    assert!(
        reports.iter().all(|r| r.steps.sent.is_empty()),
        "nothing inside quiet hours"
    );
    assert_eq!(t.mailer.count(), 0);
    t.run_until(utc("2026-11-03T00:05:00Z"), Duration::minutes(1))
        .await;
    assert_eq!(
        send_times(&t, "night@example.jp").await,
        vec![utc("2026-11-03T00:00:00Z")],
        "09:00 JST sharp"
    );
}

#[tokio::test]
async fn lead_without_a_zone_gets_the_default_zone() {
    let t = TestApp::with_config(shipped_config(), utc("2026-11-02T14:30:00Z")); // 23:30 JST
    t.submit(
        "whitepaper",
        &[("email", "nozone@example.jp"), ("consent", "on")],
    )
    .await;
    t.run_until(utc("2026-11-03T01:00:00Z"), Duration::minutes(5))
        .await;
    assert_eq!(
        send_times(&t, "nozone@example.jp").await,
        vec![utc("2026-11-03T00:00:00Z")]
    );
}

#[tokio::test]
async fn new_york_leads_get_mail_at_local_hours_across_the_daylight_saving_change() {
    // 2026-10-29 23:15 EDT. DST ends in New York on 2026-11-01 at 02:00.
    let t = TestApp::with_config(config_without_triggers(), utc("2026-10-30T03:15:00Z"));
    t.submit(
        "whitepaper",
        &lead_fields("late@acme.example", "America/New_York"),
    )
    .await;
    t.run_until(utc("2026-10-30T14:00:00Z"), Duration::minutes(5))
        .await;
    t.submit(
        "whitepaper",
        &lead_fields("morning@acme.example", "America/New_York"),
    )
    .await; // 10:00 EDT
    t.run_until(utc("2026-11-14T00:00:00Z"), Duration::minutes(5))
        .await;

    // Late sign-up: every step falls in quiet hours (23:15 local) and goes at 09:00 local,
    // which is 13:00 UTC under EDT and 14:00 UTC under EST.
    assert_eq!(
        send_times(&t, "late@acme.example").await,
        vec![
            utc("2026-10-30T13:00:00Z"),
            utc("2026-11-02T14:00:00Z"),
            utc("2026-11-06T14:00:00Z"),
            utc("2026-11-13T14:00:00Z")
        ]
    );
    // Morning sign-up: day 3 keeps 10:00 local across the change (14:00 UTC EDT -> 15:00 UTC EST).
    assert_eq!(
        send_times(&t, "morning@acme.example").await,
        vec![
            utc("2026-10-30T14:00:00Z"),
            utc("2026-11-02T15:00:00Z"),
            utc("2026-11-06T15:00:00Z"),
            utc("2026-11-13T15:00:00Z")
        ]
    );
    let ny = chrono_tz::America::New_York;
    let quiet = t.app.kindling.config.sending.quiet_hours;
    for email in ["late@acme.example", "morning@acme.example"] {
        for at in send_times(&t, email).await {
            assert!(
                !quiet.contains(at.with_timezone(&ny).time()),
                "{at} is in quiet hours in New York"
            );
        }
    }
}

#[tokio::test]
async fn frequency_cap_makes_the_second_sequence_wait_a_day() {
    let t = TestApp::new(); // 10:00 JST
    t.submit("seminar", &lead_fields("busy@example.jp", "Asia/Tokyo"))
        .await;
    t.tick().await;
    t.clock.advance(Duration::minutes(30));
    t.submit("whitepaper", &lead_fields("busy@example.jp", "Asia/Tokyo"))
        .await;
    let reports = t
        .run_until(t.now() + Duration::hours(30), Duration::minutes(1))
        .await;
    assert!(
        reports.iter().any(|r| r.steps.deferred > 0),
        "the cap deferred the second mail"
    );
    let times = send_times(&t, "busy@example.jp").await;
    assert_eq!(
        times,
        vec![utc("2026-11-02T01:00:00Z"), utc("2026-11-03T01:00:00Z")],
        "24 h apart, not lost"
    );
}

/// A send log whose `complete_send` fails once: the process "dies" after the provider accepted.
struct CrashAfterProviderAccepts {
    inner: Arc<SqliteStore>,
    crashed: AtomicBool,
}

#[async_trait]
impl SendLog for CrashAfterProviderAccepts {
    async fn claim_send(
        &self,
        r: &SendRecord,
        cap: Option<FrequencyCap>,
        now: DateTime<Utc>,
    ) -> PortResult<SendClaim> {
        self.inner.claim_send(r, cap, now).await
    }
    async fn complete_send(&self, r: &SendRecord) -> PortResult<()> {
        if !self.crashed.swap(true, Ordering::SeqCst) {
            return Err(PortError::new("sqlite", "disk I/O error"));
        }
        self.inner.complete_send(r).await
    }
    async fn release_send(&self, key: &MessageKey) -> PortResult<()> {
        self.inner.release_send(key).await
    }
    async fn get_send(&self, key: &MessageKey) -> PortResult<Option<SendRecord>> {
        self.inner.get_send(key).await
    }
    async fn sends_of_lead(&self, lead: &LeadId) -> PortResult<Vec<SendRecord>> {
        self.inner.sends_of_lead(lead).await
    }
}

#[tokio::test]
async fn crash_between_provider_accept_and_record_never_sends_twice() {
    let t = TestApp::new();
    t.submit("whitepaper", &lead_fields("once@example.jp", "Asia/Tokyo"))
        .await;
    let mut crashing = t.app.kindling.clone();
    crashing.stores.sends = Arc::new(CrashAfterProviderAccepts {
        inner: t.app.store.clone(),
        crashed: AtomicBool::new(false),
    });
    let report = run_schedule(&crashing, t.mailer.as_ref(), 100)
        .await
        .unwrap();
    assert_eq!(
        (report.errors(), t.mailer.count()),
        (1, 1),
        "the mail went, the record did not"
    );

    // Within the claim's lease another run leaves it alone (a slow sender may still finish).
    t.clock.advance(Duration::minutes(1));
    let report = t.tick().await;
    assert_eq!((report.steps.sent.len(), report.steps.unknown), (0, 0));

    t.clock.advance(Duration::minutes(10));
    let report = t.tick().await;
    assert_eq!(report.steps.unknown, 1);
    assert_eq!(t.mailer.count(), 1, "never retried blindly");
    let sends = t.sends("once@example.jp").await;
    assert_eq!(sends[0].state, SendState::Unknown);
    let e = &t.enrollments("once@example.jp").await[0];
    assert_eq!(e.next_step, 1, "the sequence moves on");

    t.run_until(t.now() + Duration::days(4), Duration::minutes(30))
        .await;
    assert_eq!(t.mailer.count(), 2, "day 3 goes out as usual");
}

#[tokio::test]
async fn throttled_sends_go_out_later_and_none_is_lost() {
    let t = TestApp::new();
    for email in ["a@example.jp", "b@example.jp", "c@example.jp"] {
        t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
            .await;
    }
    t.mailer.fail_next(
        2,
        MailError::Retryable("ThrottlingException: Maximum sending rate exceeded".into()),
    );
    let first = t.tick().await;
    assert_eq!(
        (first.steps.sent.len(), first.steps.retry_later),
        (0, 1),
        "the run stops at the first throttle"
    );
    let second = t.tick().await;
    assert_eq!((second.steps.sent.len(), second.steps.retry_later), (0, 1));
    let third = t.tick().await;
    assert_eq!(third.steps.sent.len(), 3);
    assert_eq!(t.mailer.count(), 3, "each exactly once");
    for email in ["a@example.jp", "b@example.jp", "c@example.jp"] {
        assert_eq!(send_times(&t, email).await.len(), 1);
    }
}

#[tokio::test]
async fn rejected_mail_is_recorded_as_failed_and_not_retried() {
    let t = TestApp::new();
    t.submit("whitepaper", &lead_fields("bad@example.jp", "Asia/Tokyo"))
        .await;
    t.mailer.fail_next(
        1,
        MailError::Rejected("MessageRejected: Email address is not verified".into()),
    );
    let report = t.tick().await;
    assert_eq!(report.steps.failed, 1);
    let sends = t.sends("bad@example.jp").await;
    assert_eq!(sends[0].state, SendState::Failed);
    assert!(sends[0].error.as_deref().unwrap().contains("not verified"));
    t.run_until(t.now() + Duration::days(1), Duration::minutes(10))
        .await;
    assert_eq!(t.mailer.count(), 0, "step 0 is not retried");
}

#[tokio::test]
async fn no_consent_means_no_marketing_mail() {
    let config = config_with(|toml| {
        toml.replace("id = \"consultation\"\nactivity = \"consultation_request\"\nthank_you_url = \"/thanks.html\"\nconsent = \"optional\"", "id = \"consultation\"\nactivity = \"consultation_request\"\nthank_you_url = \"/thanks.html\"\nconsent = \"optional\"\nsequences = [\"document_followup\"]")
    });
    assert_eq!(
        config.form("consultation").unwrap().sequences,
        vec!["document_followup".to_owned()]
    );
    let t = TestApp::with_config(config, kindling_tests::harness::monday_10_jst());
    let res = t
        .submit("consultation", &[("email", "noconsent@example.jp")])
        .await;
    assert_eq!(res.status(), 303);
    let report = t.tick().await;
    assert_eq!(
        report
            .steps
            .ended
            .iter()
            .map(|e| e.reason.as_str())
            .collect::<Vec<_>>(),
        vec!["no_consent"]
    );
    assert_eq!(t.mailer.count(), 0);
}

#[tokio::test]
async fn suppressed_address_receives_nothing() {
    let t = TestApp::new();
    t.submit(
        "whitepaper",
        &lead_fields("bounced@example.jp", "Asia/Tokyo"),
    )
    .await;
    let email = EmailAddress::parse("bounced@example.jp").unwrap();
    t.app
        .kindling
        .stores
        .suppressions
        .suppress(&Suppression {
            email,
            reason: SuppressionReason::Bounced,
            at: t.now(),
        })
        .await
        .unwrap();
    let report = t.tick().await;
    assert_eq!(report.steps.ended[0].reason, "bounced");
    t.run_until(t.now() + Duration::days(15), Duration::hours(1))
        .await;
    assert_eq!(t.mailer.count(), 0);
}

#[tokio::test]
async fn a_lead_that_turns_hot_leaves_the_sequence() {
    let t = TestApp::new();
    t.submit("whitepaper", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await;
    t.tick().await;
    t.submit("seminar", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await; // +20 = 30
    t.submit("consultation", &lead_fields("hot@example.jp", "Asia/Tokyo"))
        .await; // +30 = 60: hot
    let reports = t
        .run_until(t.now() + Duration::days(15), Duration::minutes(30))
        .await;
    let enrollments = t.enrollments("hot@example.jp").await;
    let followup = enrollments
        .iter()
        .find(|e| e.sequence_id == "document_followup")
        .unwrap();
    assert_eq!(
        (followup.status, followup.reason.as_deref()),
        (EnrollmentStatus::Exited, Some("became_hot"))
    );
    assert!(reports
        .iter()
        .flat_map(|r| &r.steps.sent)
        .all(|m| m.sequence_id != "document_followup"));
    // The seminar sequence has no such goal: its mail still goes (after the 24 h cap).
    assert_eq!(send_times(&t, "hot@example.jp").await.len(), 2);
}

#[tokio::test]
async fn enrollment_in_a_sequence_happens_once() {
    let t = TestApp::with_config(config_without_triggers(), monday_10_jst());
    t.submit("whitepaper", &lead_fields("twice@example.jp", "Asia/Tokyo"))
        .await;
    t.clock.advance(Duration::hours(2));
    t.submit("whitepaper", &lead_fields("twice@example.jp", "Asia/Tokyo"))
        .await;
    assert_eq!(t.enrollments("twice@example.jp").await.len(), 1);
    t.run_until(
        Utc.with_ymd_and_hms(2026, 11, 18, 0, 0, 0).unwrap(),
        Duration::hours(1),
    )
    .await;
    assert_eq!(t.mailer.count(), 4, "four steps, once each");
}

#[tokio::test]
async fn business_day_offsets_and_step_windows_skip_the_japanese_holiday() {
    // Day 3 of the document follow-up becomes "1 business day later, 13:00-15:00 on business
    // days". Enrolled Monday 2026-11-02 10:00 JST: Tuesday the 3rd is 文化の日, so the step is
    // due Wednesday the 4th at 10:00 local and goes out when the window opens, 13:00 JST.
    let config = config_with(|s| {
        s.replacen(
            r#"{ at = "3d", template = "doc_related" }"#,
            r#"{ at = "1bd", template = "doc_related", window = { start = "13:00", end = "15:00", days = "business_days" } }"#,
            1,
        )
    });
    let t = TestApp::with_config(config, monday_10_jst());
    t.submit("whitepaper", &lead_fields("bd@example.jp", "Asia/Tokyo"))
        .await;
    t.run_until(utc("2026-11-05T00:00:00Z"), Duration::minutes(10))
        .await;
    assert_eq!(
        send_times(&t, "bd@example.jp").await,
        vec![utc("2026-11-02T01:00:00Z"), utc("2026-11-04T04:00:00Z")]
    );
}

#[tokio::test]
async fn a_step_window_in_the_leads_own_zone_waits_over_the_weekend() {
    // The consultation invitation (10:00-17:00 on business days) for a New York lead whose
    // trigger fires on Friday 2026-11-06 at 18:00 EST: Monday 10:00 EST = 15:00 UTC.
    let t = TestApp::with_config(config_without_triggers(), utc("2026-11-06T23:00:00Z"));
    t.submit(
        "seminar",
        &lead_fields("ny@acme.example", "America/New_York"),
    )
    .await;
    let k = &t.app.kindling;
    let seq = k.config.sequence("consultation_invite").unwrap();
    let due = k
        .config
        .step_due(&seq.steps[0], t.now(), chrono_tz::America::New_York);
    assert_eq!(due, utc("2026-11-09T15:00:00Z"));
    // Quiet hours alone would have sent it at once (18:00 is before 22:00).
    assert_eq!(
        k.config
            .sending
            .quiet_hours
            .next_allowed(t.now(), chrono_tz::America::New_York),
        t.now()
    );
}

#[tokio::test]
async fn exit_goals_stop_a_sequence_when_the_lead_books_or_sales_marks_it() {
    // The shipped document follow-up exits on became_hot, consultation_booked, sales_marked.
    let t = TestApp::with_config(shipped_config(), monday_10_jst());
    t.submit(
        "whitepaper",
        &lead_fields("booked@example.jp", "Asia/Tokyo"),
    )
    .await;
    t.submit(
        "whitepaper",
        &lead_fields("marked@example.jp", "Asia/Tokyo"),
    )
    .await;
    t.run_until(t.now() + Duration::days(1), Duration::minutes(30))
        .await;
    // One books a consultation (40 points: warm, not hot); sales marks the other.
    t.submit(
        "consultation",
        &lead_fields("booked@example.jp", "Asia/Tokyo"),
    )
    .await;
    let marked = t.lead("marked@example.jp").await;
    kindling::leads::mark_lead(
        &*t.app.kindling.stores.leads,
        &*t.app.kindling.clock,
        &kindling::leads::LeadKey::Id(marked.id),
        kindling::leads::SalesStatus::Working,
        None,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    let reports = t
        .run_until(t.now() + Duration::days(15), Duration::hours(1))
        .await;
    let ended: Vec<(String, String)> = reports
        .iter()
        .flat_map(|r| &r.steps.ended)
        .filter(|e| e.sequence_id == "document_followup")
        .map(|e| (e.reason.clone(), e.lead_id.to_string()))
        .collect();
    let reasons: Vec<&str> = ended.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{ended:?}");
    assert!(reasons.contains(&"consultation_booked") && reasons.contains(&"sales_marked"));
    for email in ["booked@example.jp", "marked@example.jp"] {
        let followups = t
            .sends(email)
            .await
            .iter()
            .filter(|s| s.sequence_id.as_deref() == Some("document_followup"))
            .count();
        assert_eq!(followups, 1, "{email}: only the day-0 mail");
    }
    assert_eq!(
        t.lead("booked@example.jp").await.score.temperature,
        kindling::leads::Temperature::Warm
    );
}

#[tokio::test]
async fn exit_goals_read_the_submissions_the_lead_notes_and_the_log_of_a_lead_stored_before() {
    let t = TestApp::with_config(shipped_config(), monday_10_jst());
    let fields = lead_fields("noted@example.jp", "Asia/Tokyo");
    t.submit("whitepaper", &fields).await;
    t.run_until(t.now() + Duration::days(1), Duration::minutes(30))
        .await;
    t.submit("consultation", &fields).await;
    let lead = t.lead("noted@example.jp").await;
    let noted = lead
        .submitted
        .clone()
        .expect("a new lead notes its submissions");
    let forms: Vec<&str> = noted.forms.keys().map(|f| f.as_str()).collect();
    assert_eq!(forms, ["consultation", "whitepaper"]);
    assert!(noted.consultation.is_some());
    // As if stored before submissions were noted: the send reads the log, and still exits.
    let mut old = lead;
    old.submitted = None;
    let leads = &*t.app.kindling.stores.leads;
    assert_eq!(
        leads.update_lead(&old).await.unwrap(),
        kindling::ports::Cas::Updated
    );
    let reports = t
        .run_until(t.now() + Duration::days(15), Duration::hours(1))
        .await;
    let reasons: Vec<&str> = reports
        .iter()
        .flat_map(|r| &r.steps.ended)
        .filter(|e| e.sequence_id == "document_followup")
        .map(|e| e.reason.as_str())
        .collect();
    assert_eq!(reasons, ["consultation_booked"]);
    // Its next rebuild from the log notes them again.
    let mut old = t.lead("noted@example.jp").await;
    old.submitted = None;
    old.score.state = None;
    assert_eq!(
        leads.update_lead(&old).await.unwrap(),
        kindling::ports::Cas::Updated
    );
    kindling::scoring::rescore_lead(&t.app.kindling.scoring(), &old.id)
        .await
        .unwrap();
    assert_eq!(t.lead("noted@example.jp").await.submitted, Some(noted));
}

/// The whitepaper form enrolls in both sequences; `first` gets priority 10.
fn competing_sequences(first: &str) -> kindling::config::Config {
    config_with(|toml| {
        let toml = toml.replacen(
            r#"sequences = ["document_followup"]"#,
            r#"sequences = ["document_followup", "seminar_followup"]"#,
            1,
        );
        let toml: String = toml
            .lines()
            .filter(|l| !l.starts_with("priority = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let id = format!("id = \"{first}\"\n");
        assert!(toml.contains(&id));
        toml.replacen(&id, &format!("{id}priority = 10\n"), 1)
    })
}

/// (template, sent at) of every mail sent to a lead, in sending order.
async fn sent_templates(t: &TestApp, email: &str) -> Vec<(String, DateTime<Utc>)> {
    let mut sent: Vec<_> = t
        .sends(email)
        .await
        .into_iter()
        .filter(|s| s.state == SendState::Sent)
        .map(|s| (s.template.to_string(), s.sent_at.unwrap()))
        .collect();
    sent.sort_by_key(|s| s.1);
    sent
}

#[tokio::test]
async fn when_two_sequences_compete_for_the_cap_the_higher_priority_goes_first() {
    for (first, first_template, second_template) in [
        ("seminar_followup", "seminar_thanks", "doc_thanks"),
        ("document_followup", "doc_thanks", "seminar_thanks"),
    ] {
        let t = TestApp::with_config(competing_sequences(first), monday_10_jst());
        t.submit("whitepaper", &lead_fields("both@example.jp", "Asia/Tokyo"))
            .await;
        let reports = t
            .run_until(t.now() + Duration::hours(30), Duration::minutes(1))
            .await;
        assert_eq!(
            sent_templates(&t, "both@example.jp").await,
            vec![
                (first_template.to_owned(), monday_10_jst()),
                (
                    second_template.to_owned(),
                    monday_10_jst() + Duration::hours(24)
                ),
            ],
            "priority to {first}: it goes first, the other waits for the cap (1 per 24 h)"
        );
        let yielded: u32 = reports.iter().map(|r| r.steps.yielded).sum();
        let deferred: u32 = reports.iter().map(|r| r.steps.deferred).sum();
        assert!(
            yielded + deferred >= 1,
            "the lower priority waited: yielded {yielded}, deferred {deferred}"
        );
    }
}

#[tokio::test]
async fn a_lower_priority_step_goes_when_the_higher_one_is_not_due() {
    // Priority decides only between steps due together: a lead whose prioritized sequence has
    // nothing due gets the other sequence's mail at once.
    let t = TestApp::with_config(competing_sequences("seminar_followup"), monday_10_jst());
    t.submit("seminar", &lead_fields("one@example.jp", "Asia/Tokyo"))
        .await;
    t.run_until(t.now() + Duration::hours(25), Duration::minutes(10))
        .await;
    t.submit("whitepaper", &lead_fields("one@example.jp", "Asia/Tokyo"))
        .await;
    t.run_until(t.now() + Duration::hours(1), Duration::minutes(1))
        .await;
    let sent = sent_templates(&t, "one@example.jp").await;
    assert_eq!(
        sent.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        vec!["seminar_thanks", "doc_thanks"],
        "the completed seminar sequence does not hold the document mail back"
    );
}

fn reentering_documents() -> kindling::config::Config {
    let mut c = config_with(|toml| {
        assert!(toml.contains("reentry = \"90d\""));
        toml.replacen("reentry = \"90d\"", "reentry = \"30d\"", 1)
    });
    c.triggers.clear();
    c
}

#[tokio::test]
async fn reentry_waits_for_the_end_and_the_interval_and_never_doubles() {
    let t = TestApp::with_config(reentering_documents(), monday_10_jst());
    let email = "again@example.jp";
    let start = monday_10_jst();
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    // Active: a second download (or a redelivery) does not enroll again.
    t.clock.advance(Duration::hours(1));
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    assert_eq!(t.enrollments(email).await.len(), 1);
    t.run_until(start + Duration::days(20), Duration::hours(1))
        .await;
    let first = t.enrollments(email).await;
    assert_eq!(first[0].status, EnrollmentStatus::Completed);
    // Ended, but only 20 days after entering: the 30-day interval holds it out.
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    assert_eq!(t.enrollments(email).await.len(), 1);
    // Day 31: it enters again, once, and gets the sequence from its first step.
    t.clock.set(start + Duration::days(31));
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    t.submit("whitepaper", &lead_fields(email, "Asia/Tokyo"))
        .await;
    let entries = t.enrollments(email).await;
    assert_eq!(
        entries.iter().map(|e| e.entry).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(entries[1].status, EnrollmentStatus::Active);
    t.run_until(start + Duration::days(32), Duration::hours(1))
        .await;
    let templates: Vec<String> = sent_templates(&t, email)
        .await
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(
        templates,
        vec![
            "doc_thanks",
            "doc_related",
            "doc_case_study",
            "doc_consultation",
            "doc_thanks"
        ]
    );
}

#[tokio::test]
async fn without_a_reentry_policy_a_lead_enters_a_sequence_once_ever() {
    let t = TestApp::with_config(config_without_triggers(), monday_10_jst());
    // The shipped seminar follow-up has no `reentry`.
    let email = "once-ever@example.jp";
    t.submit("seminar", &lead_fields(email, "Asia/Tokyo")).await;
    t.run_until(monday_10_jst() + Duration::days(2), Duration::hours(1))
        .await;
    assert_eq!(
        t.enrollments(email).await[0].status,
        EnrollmentStatus::Completed
    );
    t.clock.advance(Duration::days(400));
    t.submit("seminar", &lead_fields(email, "Asia/Tokyo")).await;
    assert_eq!(t.enrollments(email).await.len(), 1);
}

#[tokio::test]
async fn a_step_recorded_sent_by_a_sender_that_then_died_gets_its_activity_on_the_next_run() {
    let t = TestApp::new();
    t.submit("whitepaper", &lead_fields("died@example.jp", "Asia/Tokyo"))
        .await;
    let lead = t.lead("died@example.jp").await;
    let e = &t.enrollments("died@example.jp").await[0];
    // A sender claimed step 0, the provider took it, the record says sent; then it died before
    // the activity, the breaker's count and the enrollment's move.
    let mut r = SendRecord {
        key: MessageKey::Step {
            lead_id: lead.id.clone(),
            enrollment_id: e.id.clone(),
            step: 0,
        },
        sequence_id: Some(e.sequence_id.clone()),
        template: kindling::ids::TemplateId::new("doc_thanks"),
        state: SendState::Sending,
        claimed_at: t.now(),
        sent_at: None,
        provider_message_id: None,
        links: Vec::new(),
        error: None,
    };
    let sends = &t.app.kindling.stores.sends;
    sends.claim_send(&r, None, t.now()).await.unwrap();
    r.state = SendState::Sent;
    r.sent_at = Some(t.now());
    sends.complete_send(&r).await.unwrap();
    let report = t.tick().await;
    assert_eq!(t.mailer.count(), 0, "not sent again: {report:?}");
    let sent: Vec<_> = t
        .activities("died@example.jp")
        .await
        .into_iter()
        .filter(|a| a.kind == kindling::activities::ActivityKind::EmailSent)
        .collect();
    assert_eq!(sent.len(), 1, "the activity it did not record");
    assert_eq!(t.enrollments("died@example.jp").await[0].next_step, 1);
}
