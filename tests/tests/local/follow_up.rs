//! The follow-up rule: a lead handed to sales must be marked within the follow-up time; its
//! owner is reminded at `remind_at` of it, and if nobody marked it by the deadline one
//! escalation goes to `escalate_to`; a mark in time stops both. The clock counts wall-clock
//! hours, or business hours that skip nights, weekends and Japan's holidays.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Asia::Tokyo;
use kindling::admin::interface::{Admin, MarkLead};
use kindling::alerts::ports::Alert;
use kindling::scoring::events::FollowUpKind;
use kindling_tests::harness::{config_with, lead_fields, TestApp};

const REPS: &str = r#"
[[reps]]
id = "tanaka"
name = "田中"
email = "tanaka@example.jp"

[[reps]]
id = "boss"
name = "部長"
email = "boss@example.jp"

[[routing]]
id = "everyone"
rep = "tanaka"
"#;

fn jst(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Tokyo
        .with_ymd_and_hms(2026, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// An app whose `[alerts]` section gets `extra`, at `start`.
fn app(extra: &str, start: DateTime<Utc>) -> TestApp {
    let config = config_with(|toml| {
        let toml = toml.replace(
            "escalate_to = \"kobayashi\"\n",
            &format!("escalate_to = \"boss\"\n{extra}"),
        );
        format!(
            "{}\n{REPS}",
            kindling_tests::harness::without_shipped_routing(&toml)
        )
    });
    TestApp::with_config(config, start)
}

/// Makes a lead hot now (seminar 20 + consultation 30): it is handed to sales.
async fn hand_off(t: &TestApp) {
    for form in ["seminar", "consultation"] {
        let status = t
            .submit(form, &lead_fields("lead@example.co.jp", "Asia/Tokyo"))
            .await
            .status();
        assert_eq!(status, 303);
    }
    t.tick().await;
    let h = t.lead("lead@example.co.jp").await.handoff.unwrap();
    assert_eq!((h.n, h.reason.as_str(), h.at), (1, "hot", t.now()));
}

/// The follow-up alerts sent so far: (kind, to).
fn follow_ups(t: &TestApp) -> Vec<(FollowUpKind, String)> {
    t.notifier
        .alerts
        .lock()
        .unwrap()
        .iter()
        .filter_map(|a: &Alert| {
            Some((
                a.follow_up?,
                a.owner.as_ref().map_or("team".into(), |o| o.id.clone()),
            ))
        })
        .collect()
}

/// Moves the clock to `at` and runs the schedule.
async fn at(t: &TestApp, at: DateTime<Utc>) {
    t.clock.advance(at - t.now());
    t.tick().await;
}

#[tokio::test]
async fn the_owner_is_reminded_then_the_lead_escalated_once_on_the_wall_clock() {
    let start = jst(12, 7, 10, 0);
    let t = app("", start);
    hand_off(&t).await;
    let h = t.lead("lead@example.co.jp").await.handoff.unwrap();
    assert_eq!(
        (h.remind_at, h.due),
        (start + Duration::hours(36), start + Duration::hours(48))
    );
    at(&t, start + Duration::hours(36) - Duration::minutes(1)).await;
    assert!(follow_ups(&t).is_empty());
    at(&t, start + Duration::hours(36)).await;
    assert_eq!(follow_ups(&t), [(FollowUpKind::Reminder, "tanaka".into())]);
    at(&t, start + Duration::hours(47)).await;
    at(&t, start + Duration::hours(48)).await;
    assert_eq!(
        follow_ups(&t),
        [
            (FollowUpKind::Reminder, "tanaka".into()),
            (FollowUpKind::Escalation, "boss".into())
        ]
    );
    // Later runs, and the events delivered again, alert nothing more.
    at(&t, start + Duration::hours(72)).await;
    let alerts = t.notifier.alerts.lock().unwrap().clone();
    let escalation = alerts
        .iter()
        .find(|a| a.follow_up == Some(FollowUpKind::Escalation))
        .unwrap();
    assert!(escalation
        .subject()
        .starts_with("Escalation, not followed up: "));
    assert!(
        escalation.reasons[0].contains("handed to tanaka@example.jp"),
        "{:?}",
        escalation.reasons
    );
    assert_eq!(follow_ups(&t).len(), 2);
    let redelivered = kindling::app::Event::FollowUpDue(kindling::scoring::events::FollowUpDue {
        lead_id: escalation.lead_id.clone(),
        handoff: 1,
        kind: FollowUpKind::Escalation,
        owner: Some("tanaka".into()),
        handed_off_at: start,
        due: start + Duration::hours(48),
        at: t.now(),
    });
    kindling::app::handle_event(&t.app.kindling, t.notifier.as_ref(), &redelivered)
        .await
        .unwrap();
    assert_eq!(follow_ups(&t).len(), 2);
    let f = figures(&t).await;
    assert_eq!(
        (
            f.alerts,
            f.reminders,
            f.escalations,
            f.first_touches,
            f.in_time_rate
        ),
        (1, 1, 1, 0, None)
    );
}

#[tokio::test]
async fn a_mark_in_time_stops_the_reminder_and_the_escalation() {
    let start = jst(12, 7, 10, 0);
    let t = app("", start);
    hand_off(&t).await;
    at(&t, start + Duration::hours(5)).await;
    let mark = MarkLead {
        status: "working".into(),
        note: None,
        amount: None,
        currency: None,
    };
    kindling::admin::InProcess::new(&t.app.kindling)
        .mark_lead("lead@example.co.jp", &mark)
        .await
        .unwrap();
    let h = t.lead("lead@example.co.jp").await.handoff.unwrap();
    assert_eq!(h.touched_at, Some(t.now()));
    let report = kindling::admin::InProcess::new(&t.app.kindling)
        .lead("lead@example.co.jp")
        .await
        .unwrap();
    let text = kindling_local::inspect::lead_text(&report, Tokyo);
    assert!(
        text.contains("handed to sales #1 (hot) 2026-12-07 10:00")
            && text.contains("first marked 2026-12-07 15:00"),
        "{text}"
    );
    assert_eq!(
        t.lead("lead@example.co.jp")
            .await
            .recheck_at
            .filter(|r| *r > start + Duration::hours(30)),
        None
    );
    for hours in [36, 48, 72] {
        at(&t, start + Duration::hours(hours)).await;
    }
    assert!(follow_ups(&t).is_empty());
    // Counted: one hand-off alerted at once (the alert went out in the same minute), first
    // touched 5 hours after its alert, in time; marking again counts nothing more.
    kindling::admin::InProcess::new(&t.app.kindling)
        .mark_lead("lead@example.co.jp", &mark)
        .await
        .unwrap();
    let f = figures(&t).await;
    assert_eq!(
        (
            f.alerts,
            f.alert_delay_s,
            f.first_touches,
            f.touch_delay_h,
            f.in_time,
            f.in_time_rate
        ),
        (1, Some(0.0), 1, Some(5.0), 1, Some(1.0))
    );
    assert_eq!((f.reminders, f.escalations), (0, 0));
}

/// The follow-up figures of the last 12 weeks.
async fn figures(t: &TestApp) -> kindling::kpis::figures::FollowUp {
    kindling::admin::InProcess::new(&t.app.kindling)
        .kpis(&kindling::kpis::KpiQuery::default())
        .await
        .unwrap()
        .totals
        .follow_up
}

#[tokio::test]
async fn a_mark_after_the_reminder_stops_the_escalation() {
    let start = jst(12, 7, 10, 0);
    let t = app("", start);
    hand_off(&t).await;
    at(&t, start + Duration::hours(40)).await;
    assert_eq!(follow_ups(&t).len(), 1);
    let mark = MarkLead {
        status: "disqualified".into(),
        note: Some("student".into()),
        amount: None,
        currency: None,
    };
    kindling::admin::InProcess::new(&t.app.kindling)
        .mark_lead("lead@example.co.jp", &mark)
        .await
        .unwrap();
    at(&t, start + Duration::hours(48)).await;
    assert_eq!(follow_ups(&t), [(FollowUpKind::Reminder, "tanaka".into())]);
    // Marked 40 hours after the alert, before the 48-hour deadline.
    let f = figures(&t).await;
    assert_eq!(
        (
            f.reminders,
            f.escalations,
            f.first_touches,
            f.touch_delay_h,
            f.in_time
        ),
        (1, 0, 1, Some(40.0), 1)
    );
}

#[tokio::test]
async fn business_hours_skip_the_weekend_and_a_japanese_holiday() {
    // Friday 2026-11-20 17:00 in Tokyo; Monday 11-23 is 勤労感謝の日. Nine business hours: one on
    // Friday, eight on Tuesday (the reminder at 75 %: 6 h 45 min, Tuesday 14:45).
    let start = jst(11, 20, 17, 0);
    let t = app_with_hours(9, start);
    hand_off(&t).await;
    let h = t.lead("lead@example.co.jp").await.handoff.unwrap();
    assert_eq!(
        (h.remind_at, h.due),
        (jst(11, 24, 14, 45), jst(11, 24, 17, 0))
    );
    // The hot alert says the same deadline.
    let hot = t.notifier.alerts.lock().unwrap()[0].clone();
    assert_eq!(hot.follow_up_by, jst(11, 24, 17, 0));
    for when in [jst(11, 21, 12, 0), jst(11, 23, 17, 0), jst(11, 24, 14, 44)] {
        at(&t, when).await;
    }
    assert!(
        follow_ups(&t).is_empty(),
        "nothing over the weekend and the holiday"
    );
    at(&t, jst(11, 24, 14, 45)).await;
    at(&t, jst(11, 24, 17, 0)).await;
    assert_eq!(
        follow_ups(&t),
        [
            (FollowUpKind::Reminder, "tanaka".into()),
            (FollowUpKind::Escalation, "boss".into())
        ]
    );
}

fn app_with_hours(hours: u32, start: DateTime<Utc>) -> TestApp {
    let config = config_with(|toml| {
        let toml = toml
            .replace(
                "follow_up_hours = 48\n",
                &format!("follow_up_hours = {hours}\n"),
            )
            .replace(
                "escalate_to = \"kobayashi\"\n",
                "escalate_to = \"boss\"\nbusiness_hours = \"09:00-18:00\"\n",
            );
        format!(
            "{}\n{REPS}",
            kindling_tests::harness::without_shipped_routing(&toml)
        )
    });
    TestApp::with_config(config, start)
}

#[test]
fn bad_follow_up_settings_are_refused_with_their_line() {
    let shipped = || {
        std::fs::read_to_string(kindling_tests::harness::config_dir().join("kindling.toml"))
            .unwrap()
    };
    for (from, to, want) in [
        (
            "follow_up_hours = 48\n",
            "follow_up_hours = 48\nbusiness_hours = \"18:00-09:00\"\n",
            "alerts.business_hours",
        ),
        (
            "remind_at = \"75%\"\n",
            "remind_at = \"120%\"\n",
            "alerts.remind_at",
        ),
        (
            "escalate_to = \"kobayashi\"\n",
            "escalate_to = \"nobody\"\n",
            "alerts.escalate_to: \"nobody\" is not a [[reps]] id",
        ),
    ] {
        let toml = shipped().replace(from, to);
        assert_ne!(toml, shipped(), "{from} is in the shipped program");
        let err =
            kindling::config::Config::from_sources("kindling.toml", &toml, "templates", Vec::new())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
        assert!(
            err.contains(want) && err.contains("kindling.toml:"),
            "{to}: {err}"
        );
    }
}
