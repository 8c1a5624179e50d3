//! Metrics for the stack's CloudWatch dashboard in the Embedded Metric Format: one JSON log
//! line per invocation that did something, which CloudWatch Logs turns into metrics of the
//! namespace `KINDLING_METRICS_NAMESPACE` (the stack sets `Kindling/<stack>`). Writing a log
//! line is all it costs: no API call on the request path.
//!
//! They count invocations' work (a redelivered event counts again); the exact, once-only figures
//! are the KPIs (`kindling kpis`).

use kindling::activities::classify::Agent;
use kindling::activities::ActivityKind;
use kindling::app::events::Event;
use kindling::app::ScheduleReport;
use kindling::deliverability::{Feedback, FeedbackKind};

/// The environment variable naming the namespace.
pub const NAMESPACE_ENV: &str = "KINDLING_METRICS_NAMESPACE";
/// The namespace without the variable (local runs of the functions).
pub const DEFAULT_NAMESPACE: &str = "Kindling";

/// Every metric a function emits, for the dashboard (`infra/`) and its test.
pub const NAMES: [&str; 16] = [
    "StepsSent",
    "BroadcastsSent",
    "SendingPaused",
    "DigestsSent",
    "PersonOpens",
    "MachineOpens",
    "PersonClicks",
    "ScannerClicks",
    "FormSubmissions",
    "Unsubscribes",
    "HotLeads",
    "FollowUpReminders",
    "FollowUpEscalations",
    "HardBounces",
    "SoftBounces",
    "Complaints",
];

/// The EMF line of `metrics` (all counts) at `at_ms`, or `None` when there is nothing to say.
pub fn line(namespace: &str, at_ms: i64, metrics: &[(&'static str, u64)]) -> Option<String> {
    if metrics.is_empty() {
        return None;
    }
    let mut doc = serde_json::json!({
        // A level, so that Lambda's JSON log filtering keeps it at INFO.
        "level": "INFO",
        "message": "metrics",
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"}))
                    .collect::<Vec<_>>(),
            }],
        },
    });
    for (name, value) in metrics {
        doc[*name] = serde_json::json!(value);
    }
    Some(doc.to_string())
}

/// Writes the line of `metrics` to standard output (the function's log).
pub fn emit(metrics: &[(&'static str, u64)]) {
    let namespace = std::env::var(NAMESPACE_ENV).unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    if let Some(l) = line(&namespace, chrono::Utc::now().timestamp_millis(), metrics) {
        println!("{l}");
    }
}

/// What a schedule run did.
pub fn of_schedule(r: &ScheduleReport) -> Vec<(&'static str, u64)> {
    vec![
        ("StepsSent", r.steps.sent.len() as u64),
        ("BroadcastsSent", r.broadcasts.sent.len() as u64),
        ("SendingPaused", u64::from(r.steps.paused.is_some())),
        (
            "DigestsSent",
            r.digest.as_ref().map_or(0, |d| d.sent.len() as u64),
        ),
    ]
}

/// What an event handled by the score or notify function was.
pub fn of_event(e: &Event) -> Vec<(&'static str, u64)> {
    match e {
        Event::ActivityRecorded(a) => {
            let person = matches!(a.attrs.agent, None | Some(Agent::Human));
            let name = match a.kind {
                ActivityKind::EmailOpen if person => "PersonOpens",
                ActivityKind::EmailOpen => "MachineOpens",
                ActivityKind::EmailClick if person => "PersonClicks",
                ActivityKind::EmailClick => "ScannerClicks",
                ActivityKind::Unsubscribed => "Unsubscribes",
                k if k.is_form_submission() => "FormSubmissions",
                _ => return Vec::new(),
            };
            vec![(name, 1)]
        }
        Event::LeadBecameHot(_) => vec![("HotLeads", 1)],
        Event::FollowUpDue(f) => match f.kind {
            kindling::scoring::events::FollowUpKind::Reminder => vec![("FollowUpReminders", 1)],
            kindling::scoring::events::FollowUpKind::Escalation => {
                vec![("FollowUpEscalations", 1)]
            }
        },
        _ => Vec::new(),
    }
}

/// What an SES feedback report counted.
pub fn of_feedback(fb: &Feedback) -> Vec<(&'static str, u64)> {
    let name = match fb.kind {
        FeedbackKind::HardBounce => "HardBounces",
        FeedbackKind::SoftBounce => "SoftBounces",
        FeedbackKind::Complaint => "Complaints",
        FeedbackKind::Delivery => return Vec::new(),
    };
    vec![(name, fb.recipients.len() as u64)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_document_whose_metrics_are_its_keys() {
        let l = line(
            "Kindling/test",
            1_765_000_000_000,
            &[("StepsSent", 3), ("SendingPaused", 0)],
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Kindling/test");
        assert_eq!(v["_aws"]["Timestamp"], 1_765_000_000_000_i64);
        let names: Vec<&str> = cw["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["StepsSent", "SendingPaused"]);
        assert_eq!(v["StepsSent"], 3);
        assert_eq!(v["SendingPaused"], 0);
        assert_eq!(cw["Dimensions"], serde_json::json!([[]]));
        assert!(!l.contains('\n'), "one log line");
        assert_eq!(line("K", 0, &[]), None);
    }

    #[test]
    fn every_metric_a_function_emits_is_named_for_the_dashboard() {
        let mut r = ScheduleReport::default();
        r.steps.paused = Some("bounce rate".into());
        let fb = |kind| Feedback {
            id: "f".into(),
            kind,
            recipients: vec![kindling::email::EmailAddress::parse("a@example.jp").unwrap()],
            at: chrono::Utc::now(),
            counts_for_breaker: true,
        };
        let mut emitted: Vec<&str> = of_schedule(&r).into_iter().map(|m| m.0).collect();
        for k in [
            FeedbackKind::HardBounce,
            FeedbackKind::SoftBounce,
            FeedbackKind::Complaint,
        ] {
            emitted.extend(of_feedback(&fb(k)).into_iter().map(|m| m.0));
        }
        assert!(of_feedback(&fb(FeedbackKind::Delivery)).is_empty());
        for name in emitted {
            assert!(NAMES.contains(&name), "{name}");
        }
        assert_eq!(of_schedule(&r)[2], ("SendingPaused", 1));
    }
}
