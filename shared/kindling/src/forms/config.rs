//! `[[forms]]` and `[consent]`: the web forms leads submit, and the version of the consent
//! wording they show.

use crate::activities::ActivityKind;
use crate::diag::{choice, non_empty, Diag};
use std::collections::HashSet;

/// Whether a form may be submitted without ticking the consent box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentPolicy {
    /// Submission is refused (422) without consent.
    Required,
    /// The lead is recorded; without consent it receives no marketing mail.
    Optional,
}

crate::named!(ConsentPolicy {
    Required = "required",
    Optional = "optional",
});

/// A web form that leads submit.
#[derive(Debug, Clone)]
pub struct Form {
    pub id: crate::ids::FormId,
    pub activity: ActivityKind,
    pub thank_you_url: String,
    pub consent: ConsentPolicy,
    pub sequences: Vec<crate::ids::SequenceId>,
}

/// Checks `[[forms]]`: each names a form activity and known sequences. Returns the forms and
/// their ids.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    raw: &[raw::Form],
    seq_ids: &HashSet<String>,
) -> (Vec<Form>, HashSet<String>) {
    let mut forms = Vec::new();
    let mut seen_forms = HashSet::new();
    for fm in raw {
        crate::diag::new_id(d, &mut seen_forms, &fm.id, "forms", "form");
        let activity = fm
            .activity
            .get_ref()
            .parse::<ActivityKind>()
            .ok()
            .filter(|k| {
                matches!(
                    k,
                    ActivityKind::FormSubmitted
                        | ActivityKind::DocumentDownload
                        | ActivityKind::SeminarSignup
                        | ActivityKind::ConsultationRequest
                )
            });
        if activity.is_none() {
            d.span(&fm.activity, format!("forms.activity: {:?} is not one of form_submitted, document_download, seminar_signup, consultation_request", fm.activity.get_ref()));
        }
        let consent = match &fm.consent {
            None => ConsentPolicy::Required,
            Some(c) => choice(d, c, "forms.consent").unwrap_or(ConsentPolicy::Required),
        };
        for s in &fm.sequences {
            if !seq_ids.contains(s.get_ref()) {
                d.span(
                    s,
                    format!("forms.sequences: unknown sequence {:?}", s.get_ref()),
                );
            }
        }
        forms.push(Form {
            id: fm.id.get_ref().as_str().into(),
            activity: activity.unwrap_or(ActivityKind::FormSubmitted),
            thank_you_url: non_empty(d, &fm.thank_you_url, "forms.thank_you_url"),
            consent,
            sequences: fm
                .sequences
                .iter()
                .map(|s| s.get_ref().as_str().into())
                .collect(),
        });
    }

    (forms, seen_forms)
}

/// Checks `[consent]`: the version of the wording forms show, stored with each consent record.
pub(crate) fn consent_text_version(d: &mut Diag<'_>, c: &raw::Consent) -> String {
    non_empty(d, &c.text_version, "consent.text_version")
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use super::ConsentPolicy;
    use crate::diag::{Choice, S};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Form {
        pub id: S<String>,
        pub activity: S<String>,
        pub thank_you_url: S<String>,
        #[serde(default)]
        pub consent: Option<S<Choice<ConsentPolicy>>>,
        #[serde(default)]
        pub sequences: Vec<S<String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Consent {
        pub text_version: S<String>,
    }
}
