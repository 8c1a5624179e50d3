//! The latest submission of each form, kept on the lead: what a sequence's `submitted:<form>` and
//! `consultation_booked` exit goals read at every send, so that a send reads the lead and not the
//! activity log.

use crate::activities::{Activity, ActivityKind};
use crate::ids::FormId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When the lead last submitted each form, and last asked for a consultation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submissions {
    /// The latest submission of each form (any activity of the form but its start), by form id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub forms: BTreeMap<FormId, DateTime<Utc>>,
    /// The latest `consultation_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation: Option<DateTime<Utc>>,
}

fn later(slot: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    if slot.is_none_or(|t| t < at) {
        *slot = Some(at);
    }
}

impl Submissions {
    /// Takes in `a` if it is a submission.
    pub fn note(&mut self, a: &Activity) {
        if let Some(form) = &a.attrs.form_id {
            if a.kind != ActivityKind::FormStarted {
                let slot = self.forms.entry(form.clone()).or_insert(a.at);
                *slot = (*slot).max(a.at);
            }
        }
        if a.kind == ActivityKind::ConsultationRequest {
            later(&mut self.consultation, a.at);
        }
    }

    /// The submissions of a whole log.
    pub fn of_log<'a>(log: impl IntoIterator<Item = &'a Activity>) -> Self {
        let mut s = Self::default();
        for a in log {
            s.note(a);
        }
        s
    }

    /// Takes in another's submissions: the later of each.
    pub fn merge(&mut self, other: &Self) {
        for (form, &at) in &other.forms {
            let slot = self.forms.entry(form.clone()).or_insert(at);
            *slot = (*slot).max(at);
        }
        if let Some(at) = other.consultation {
            later(&mut self.consultation, at);
        }
    }

    /// Whether `form` was submitted at or after `since`.
    pub fn submitted_since(&self, form: &str, since: DateTime<Utc>) -> bool {
        self.forms.get(form).is_some_and(|&at| at >= since)
    }

    /// Whether a consultation was requested at or after `since`.
    pub fn consulted_since(&self, since: DateTime<Utc>) -> bool {
        self.consultation.is_some_and(|at| at >= since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activities::{Attrs, Subject};
    use crate::ids::{ActivityId, LeadId};
    use chrono::TimeZone;

    fn act(kind: ActivityKind, form: Option<&str>, minute: u32) -> Activity {
        Activity {
            id: ActivityId::new(format!("a{minute}")),
            subject: Subject::Lead(LeadId::new("l")),
            kind,
            at: Utc.with_ymd_and_hms(2026, 12, 1, 9, minute, 0).unwrap(),
            attrs: Attrs {
                form_id: form.map(FormId::from),
                ..Attrs::default()
            },
        }
    }

    #[test]
    fn keeps_the_latest_submission_of_each_form_and_not_starts() {
        let log = [
            act(ActivityKind::DocumentDownload, Some("wp"), 10),
            act(ActivityKind::DocumentDownload, Some("wp"), 5),
            act(ActivityKind::FormStarted, Some("demo"), 20),
            act(ActivityKind::ConsultationRequest, Some("demo"), 15),
            act(ActivityKind::PageView, None, 30),
        ];
        let s = Submissions::of_log(&log);
        assert_eq!(s.forms.len(), 2);
        assert_eq!(s.forms["wp"], log[0].at);
        assert_eq!(s.forms["demo"], log[3].at, "a start is not a submission");
        assert_eq!(s.consultation, Some(log[3].at));
        assert!(s.submitted_since("wp", log[0].at));
        assert!(!s.submitted_since("wp", log[0].at + chrono::Duration::seconds(1)));
        assert!(!s.submitted_since("other", log[1].at));
        assert!(s.consulted_since(log[3].at));
        assert!(!s.consulted_since(log[2].at));
    }

    #[test]
    fn merging_takes_the_later_of_each_in_either_order() {
        let a = Submissions::of_log(&[act(ActivityKind::FormSubmitted, Some("x"), 10)]);
        let b = Submissions::of_log(&[
            act(ActivityKind::FormSubmitted, Some("x"), 5),
            act(ActivityKind::ConsultationRequest, Some("y"), 7),
        ]);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.forms["x"], a.forms["x"]);
        assert_eq!(ab.consultation, b.consultation);
    }
}
