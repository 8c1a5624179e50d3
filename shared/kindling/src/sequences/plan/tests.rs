use super::*;
use crate::activities::ActivityKind;
use crate::activities::{Attrs, Subject};
use crate::config::tests::shipped;
use crate::email::EmailAddress;
use crate::ids::{ActivityId, EnrollmentId, LeadId};
use crate::leads::Consent;
use chrono::TimeZone;

/// Monday 2026-11-02 10:00 in Tokyo.
fn monday_10_jst() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap()
}

fn lead(now: DateTime<Utc>) -> Lead {
    let mut l = Lead::new(
        LeadId::new("L1"),
        EmailAddress::parse("a@example.jp").unwrap(),
        now,
    );
    l.profile.time_zone = Some("Asia/Tokyo".into());
    l.consent = Some(Consent {
        at: now,
        form_id: "whitepaper".into(),
        text_version: "2026-04".into(),
        source_ip: None,
        user_agent: None,
    });
    l
}

fn enrollment(id: &str, sequence: &str, enrolled: DateTime<Utc>, due: DateTime<Utc>) -> Enrollment {
    Enrollment {
        id: EnrollmentId::new(id),
        lead_id: LeadId::new("L1"),
        sequence_id: sequence.into(),
        entry: 1,
        enrolled_at: enrolled,
        next_step: 0,
        next_due_at: Some(due),
        status: EnrollmentStatus::Active,
        reason: None,
        version: 0,
    }
}

fn activity(kind: ActivityKind, at: DateTime<Utc>) -> Activity {
    Activity {
        id: ActivityId::new(format!("a-{}", at.timestamp())),
        subject: Subject::Lead(LeadId::new("L1")),
        kind,
        at,
        attrs: Attrs::default(),
    }
}

/// The shipped program, loaded once for every test here.
fn program() -> super::super::Sections<'static> {
    static PROGRAM: std::sync::OnceLock<crate::config::Config> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(shipped).for_sequences()
}

/// Plans the due step of `enr` for `lead` with the shipped program.
fn plan_for<'a>(
    enr: &'a Enrollment,
    lead: Option<&'a Lead>,
    f: impl FnOnce(&mut DueStep<'a>),
) -> Plan {
    let cfg = program();
    let mut due = DueStep {
        enrollment: enr,
        sequence: cfg.sequence(&enr.sequence_id),
        lead: Some(lead),
        suppression: Some(None),
        log: Some(&[]),
        rivals: Some(&[]),
        now: enr.next_due_at.unwrap(),
    };
    f(&mut due);
    plan(&cfg, &due)
}

fn ended(reason: &str, status: EnrollmentStatus) -> Plan {
    Plan::End {
        status,
        reason: reason.into(),
    }
}

#[test]
fn a_due_step_for_a_consenting_lead_in_daytime_is_sent() {
    let now = monday_10_jst();
    let l = lead(now);
    let enr = enrollment("E1", "document_followup", now, now);
    assert_eq!(
        plan_for(&enr, Some(&l), |_| {}),
        Plan::Send {
            key: MessageKey::step(LeadId::new("L1"), EnrollmentId::new("E1"), 0),
            zone: chrono_tz::Asia::Tokyo,
        }
    );
}

#[test]
fn who_may_not_be_mailed_ends_the_enrollment_and_says_why() {
    use EnrollmentStatus::{Completed, Stopped};
    let now = monday_10_jst();
    let l = lead(now);
    let enr = enrollment("E1", "document_followup", now, now);
    let gone = enrollment("E1", "no_such_sequence", now, now);
    assert_eq!(
        plan_for(&gone, Some(&l), |_| {}),
        ended("sequence_removed", Stopped)
    );
    let mut past_end = enr.clone();
    past_end.next_step = 4;
    assert_eq!(
        plan_for(&past_end, Some(&l), |_| {}),
        ended("completed", Completed)
    );
    assert_eq!(plan_for(&enr, None, |_| {}), ended("lead_gone", Stopped));
    let mut unsubscribed = l.clone();
    unsubscribed.unsubscribed_at = Some(now);
    assert_eq!(
        plan_for(&enr, Some(&unsubscribed), |_| {}),
        ended("unsubscribed", Stopped)
    );
    let bounced = plan_for(&enr, Some(&l), |d| {
        d.suppression = Some(Some(SuppressionReason::Bounced))
    });
    assert_eq!(bounced, ended("bounced", Stopped));
    let mut no_consent = l.clone();
    no_consent.consent = None;
    assert_eq!(
        plan_for(&enr, Some(&no_consent), |_| {}),
        ended("no_consent", Stopped)
    );
}

#[test]
fn an_exit_goal_reached_since_enrolling_ends_the_enrollment() {
    use EnrollmentStatus::Exited;
    let now = monday_10_jst();
    let enr = enrollment("E1", "document_followup", now - Duration::days(3), now);
    let mut hot = lead(now);
    hot.score.temperature = Temperature::Hot;
    assert_eq!(
        plan_for(&enr, Some(&hot), |_| {}),
        ended("became_hot", Exited)
    );
    let booked = [activity(
        ActivityKind::ConsultationRequest,
        now - Duration::days(1),
    )];
    let l = lead(now);
    assert_eq!(
        plan_for(&enr, Some(&l), |d| d.log = Some(&booked)),
        ended("consultation_booked", Exited)
    );
    // A consultation booked before enrolling is not this enrollment's goal.
    let before = [activity(
        ActivityKind::ConsultationRequest,
        now - Duration::days(4),
    )];
    assert!(matches!(
        plan_for(&enr, Some(&l), |d| d.log = Some(&before)),
        Plan::Send { .. }
    ));
}

#[test]
fn a_lead_that_notes_its_submissions_is_planned_without_its_log() {
    use EnrollmentStatus::Exited;
    let now = monday_10_jst();
    let enr = enrollment("E1", "document_followup", now - Duration::days(3), now);
    let mut l = lead(now);
    l.submitted = Some(crate::leads::Submissions::default());
    // Nothing noted since enrolling: the plan goes on without asking for the log.
    let plan = plan_for(&enr, Some(&l), |d| d.log = None);
    assert!(matches!(plan, Plan::Send { .. }), "{plan:?}");
    // Noted before enrolling: not this enrollment's goal; since: it ends, the log unread.
    for (days, ends) in [(4, false), (1, true)] {
        let booked = activity(
            ActivityKind::ConsultationRequest,
            now - Duration::days(days),
        );
        let mut noted = l.clone();
        noted.submitted = Some(crate::leads::Submissions::of_log([&booked]));
        let plan = plan_for(&enr, Some(&noted), |d| d.log = None);
        if ends {
            assert_eq!(plan, ended("consultation_booked", Exited));
        } else {
            assert!(matches!(plan, Plan::Send { .. }), "{plan:?}");
        }
    }
}

#[test]
fn a_step_due_in_quiet_hours_waits_for_nine_in_the_leads_zone() {
    let late = Utc.with_ymd_and_hms(2026, 11, 2, 14, 30, 0).unwrap(); // 23:30 JST
    let l = lead(late);
    let enr = enrollment("E1", "document_followup", late, late);
    assert_eq!(
        plan_for(&enr, Some(&l), |_| {}),
        Plan::Wait {
            until: Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap(),
            why: Waiting::Deferred,
        }
    );
}

#[test]
fn a_higher_priority_step_that_may_go_now_goes_first() {
    let now = monday_10_jst();
    let l = lead(now);
    let enr = enrollment("E1", "document_followup", now, now);
    let mut rival = enrollment("E2", "consultation_invite", now, now);
    let rivals = [rival.clone()];
    assert_eq!(
        plan_for(&enr, Some(&l), |d| d.rivals = Some(&rivals)),
        Plan::Wait {
            until: now + Duration::minutes(YIELD_MINUTES),
            why: Waiting::Yielded,
        }
    );
    // A rival not due yet, or of lower priority, does not hold it back.
    rival.next_due_at = Some(now + Duration::hours(1));
    let later = [rival];
    assert!(matches!(
        plan_for(&enr, Some(&l), |d| d.rivals = Some(&later)),
        Plan::Send { .. }
    ));
    let low = [enrollment("E3", "different_angle", now, now)];
    assert!(matches!(
        plan_for(&enr, Some(&l), |d| d.rivals = Some(&low)),
        Plan::Send { .. }
    ));
    // The highest-priority sequence never asks for rivals.
    let top = enrollment("E4", "consultation_invite", now, now);
    assert!(matches!(
        plan_for(&top, Some(&l), |d| d.rivals = None),
        Plan::Send { .. }
    ));
}

#[test]
fn a_step_the_cap_holds_is_due_when_the_cap_frees_outside_quiet_hours() {
    let cfg = shipped();
    let step = &cfg.sequence("document_followup").unwrap().steps[0];
    let tokyo = chrono_tz::Asia::Tokyo;
    // The cap frees at 23:00 JST: quiet hours move it to 09:00.
    let night = Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).unwrap();
    assert_eq!(
        after_cap(&cfg.for_sequences(), step, tokyo, night),
        Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap()
    );
    let noon = Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap();
    assert_eq!(after_cap(&cfg.for_sequences(), step, tokyo, noon), noon);
}

#[test]
fn the_next_step_is_due_at_its_offset_from_enrolling_and_the_last_completes() {
    let cfg = shipped();
    let seq = cfg.sequence("document_followup").unwrap();
    let tokyo = chrono_tz::Asia::Tokyo;
    let enrolled = monday_10_jst();
    let enr = enrollment("E1", "document_followup", enrolled, enrolled);
    let next = advanced(
        &cfg.for_sequences(),
        enr.clone(),
        seq,
        tokyo,
        enrolled + Duration::minutes(1),
    );
    assert_eq!(next.next_step, 1);
    assert_eq!(next.next_due_at, Some(enrolled + Duration::days(3)));
    let mut last = enr;
    last.next_step = 3;
    let done = advanced(
        &cfg.for_sequences(),
        last,
        seq,
        tokyo,
        enrolled + Duration::days(14),
    );
    assert_eq!(
        (done.status, done.next_due_at, done.reason.as_deref()),
        (EnrollmentStatus::Completed, None, Some("completed"))
    );
}

#[test]
fn the_plan_asks_for_each_fact_only_when_its_decision_needs_it() {
    let now = monday_10_jst();
    let l = lead(now);
    let enr = enrollment("E1", "document_followup", now, now);
    let unread = |d: &mut DueStep<'_>| {
        d.lead = None;
        d.suppression = None;
        d.log = None;
        d.rivals = None;
    };
    // The lead first, then its suppression, the log (an exit goal reads it), the rivals.
    assert_eq!(plan_for(&enr, Some(&l), unread), Plan::Read(Need::Lead));
    let asks = |f: &dyn Fn(&mut DueStep<'_>)| {
        plan_for(&enr, Some(&l), |d| {
            unread(d);
            d.lead = Some(Some(&l));
            f(d)
        })
    };
    assert_eq!(asks(&|_| {}), Plan::Read(Need::Suppression));
    assert_eq!(asks(&|d| d.suppression = Some(None)), Plan::Read(Need::Log));
    assert_eq!(
        asks(&|d| {
            d.suppression = Some(None);
            d.log = Some(&[]);
        }),
        Plan::Read(Need::Rivals)
    );
    // An unsubscribed lead ends before its suppression is read.
    let mut gone = l.clone();
    gone.unsubscribed_at = Some(now);
    let plan = plan_for(&enr, Some(&gone), |d| {
        unread(d);
        d.lead = Some(Some(&gone));
    });
    assert_eq!(plan, ended("unsubscribed", EnrollmentStatus::Stopped));
    // A step due in quiet hours waits without reading the rivals.
    let late = Utc.with_ymd_and_hms(2026, 11, 2, 14, 30, 0).unwrap();
    let night = enrollment("E1", "document_followup", late, late);
    let plan = plan_for(&night, Some(&l), |d| {
        d.rivals = None;
    });
    assert!(
        matches!(
            plan,
            Plan::Wait {
                why: Waiting::Deferred,
                ..
            }
        ),
        "{plan:?}"
    );
    // A sequence without a goal that reads activities never asks for the log.
    let seminar = enrollment("E1", "seminar_followup", now, now);
    let plan = plan_for(&seminar, Some(&l), |d| d.log = None);
    assert!(!matches!(plan, Plan::Read(Need::Log)), "{plan:?}");
}
