//! `[[sequences]]`: series of step mails, their steps, exit goals and re-entry.

use crate::diag::duration;
use crate::diag::{time_of_day, Diag};
use crate::names::Named;
use crate::sending::ab::AbTest;
use crate::sending::schedule::{Offset, QuietHours, SendWindow, WindowDays};
use crate::sending::templates::Templates;
use std::collections::HashSet;

/// When an enrollment stops early (checked at the moment each step would be sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitGoal {
    /// The lead turned hot: sales takes over.
    BecameHot,
    /// The lead requested a consultation after enrolling.
    ConsultationBooked,
    /// The lead submitted this form after enrolling.
    Submitted(String),
    /// The lead unsubscribed (always stops mail; as a goal it is recorded as reached).
    Unsubscribed,
    /// Sales marked the lead (working, won, lost, disqualified).
    SalesMarked,
}

impl ExitGoal {
    /// The name in configuration and in an ended enrollment's reason.
    pub fn name(&self) -> String {
        match self {
            ExitGoal::BecameHot => "became_hot".into(),
            ExitGoal::ConsultationBooked => "consultation_booked".into(),
            ExitGoal::Submitted(f) => format!("submitted:{f}"),
            ExitGoal::Unsubscribed => "unsubscribed".into(),
            ExitGoal::SalesMarked => "sales_marked".into(),
        }
    }

    /// Whether the goal needs the lead's activities to be decided.
    pub fn reads_activities(&self) -> bool {
        matches!(self, ExitGoal::ConsultationBooked | ExitGoal::Submitted(_))
    }
}

/// Whether a lead may enter a sequence again after an earlier enrollment in it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reentry {
    /// One enrollment per lead, ever.
    Never,
    /// Again once the previous enrollment ended and at least this long after it began.
    After(chrono::Duration),
}

/// The least re-entry interval: shorter ones would let a redelivered event enroll a lead twice.
pub const MIN_REENTRY_HOURS: i64 = 24;

/// A series of step mails.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub id: crate::ids::SequenceId,
    pub exit_when: Vec<ExitGoal>,
    pub steps: Vec<Step>,
    /// When steps of two sequences are due for one lead at once, the higher priority is sent
    /// first and the other waits (for the frequency cap, if that is now full).
    pub priority: i32,
    pub reentry: Reentry,
    /// The buying stage its mails are written for (the scenario sheet's column).
    pub stage: Option<crate::ids::StageId>,
    /// The topic its mails belong to: a lead that left it gets none of them.
    pub topic: Option<crate::ids::TopicId>,
}

/// One mail of a sequence, due `at` after enrollment, sent within its `window` if it has one.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Offset,
    /// The step's mail; with an A/B test, its first variant.
    pub template: crate::ids::TemplateId,
    pub window: Option<SendWindow>,
    pub ab: Option<AbTest>,
}

/// The least A/B sample per variant: below it the z-test's normal approximation is unsound.
pub const MIN_AB_SAMPLE: u64 = 30;

/// Checks `[[sequences]]`: goals name known forms, templates exist in the default language.
/// Returns the sequences and their ids.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    raw: &[raw::Sequence],
    form_ids: &HashSet<&str>,
    templates: &Templates,
    default_language: &str,
    quiet_hours: &QuietHours,
) -> (Vec<Sequence>, HashSet<String>) {
    let mut sequences = Vec::new();
    let mut seq_ids = HashSet::new();
    for s in raw {
        crate::diag::new_id(d, &mut seq_ids, &s.id, "sequences", "sequence");
        if s.steps.is_empty() {
            d.span(&s.id, format!("sequence {:?} has no steps", s.id.get_ref()));
        }
        let exit_when = s
            .exit_when
            .iter()
            .filter_map(|g| match g.get_ref().as_str() {
                "became_hot" => Some(ExitGoal::BecameHot),
                "consultation_booked" => Some(ExitGoal::ConsultationBooked),
                "unsubscribed" => Some(ExitGoal::Unsubscribed),
                "sales_marked" => Some(ExitGoal::SalesMarked),
                other => match other.strip_prefix("submitted:") {
                    Some(form) if form_ids.contains(form) => {
                        Some(ExitGoal::Submitted(form.to_owned()))
                    }
                    Some(form) => {
                        d.span(g, format!("sequences.exit_when: unknown form {form:?}"));
                        None
                    }
                    None => {
                        d.span(
                            g,
                            format!("sequences.exit_when: unknown goal {other:?} (one of: became_hot, consultation_booked, submitted:<form>, unsubscribed, sales_marked)"),
                        );
                        None
                    }
                },
            })
            .collect();
        let mut steps = Vec::new();
        let mut previous = None;
        for st in &s.steps {
            let at = Offset::parse(st.at.get_ref())
                .map_err(|m| d.span(&st.at, format!("sequences.steps.at: {m}")))
                .ok();
            if let (Some(at), Some(prev)) = (at, previous) {
                if at < prev {
                    d.span(
                        &st.at,
                        "sequences.steps.at: steps must be in order of their offsets",
                    );
                }
            }
            previous = at.or(previous);
            if !templates.has(st.template.get_ref(), default_language) {
                d.span(
                    &st.template,
                    format!(
                        "sequences.steps.template: no template {:?} in language {default_language:?} (expected templates/{0}.{default_language}.txt and .html)",
                        st.template.get_ref()
                    ),
                );
            }
            let window = st.window.as_ref().and_then(|w| {
                let at = w.span().start;
                let r = w.get_ref();
                let start = time_of_day(d, at, &r.start, "sequences.steps.window.start");
                let end = time_of_day(d, at, &r.end, "sequences.steps.window.end");
                let days = match r.days.as_ref().map(|c| &c.0) {
                    None => Some(WindowDays::Every),
                    Some(Ok(days)) => Some(*days),
                    Some(Err(other)) => {
                        d.span(w, format!("sequences.steps.window.days: {other:?} is not one of {}", WindowDays::expected()));
                        None
                    }
                };
                let (start, end, days) = (start?, end?, days?);
                if start >= end {
                    d.span(w, "sequences.steps.window: start must be before end (same day)");
                    return None;
                }
                let mut minute = start;
                let mut opens = false;
                while minute < end {
                    opens |= !quiet_hours.contains(minute);
                    minute += chrono::Duration::minutes(1);
                }
                if !opens {
                    d.span(w, "sequences.steps.window: the window lies inside the quiet hours, so it never opens");
                    return None;
                }
                Some(SendWindow { start, end, days })
            });
            let ab = st.ab.as_ref().and_then(|a| {
                let r = a.get_ref();
                let mut ok = true;
                let mut variants: Vec<crate::ids::TemplateId> =
                    vec![st.template.get_ref().as_str().into()];
                for v in &r.with {
                    if variants.iter().any(|t| t == v) {
                        d.span(a, format!("sequences.steps.ab.with: {v:?} is already a variant"));
                        ok = false;
                    } else if !templates.has(v, default_language) {
                        d.span(a, format!("sequences.steps.ab.with: no template {v:?} in language {default_language:?}"));
                        ok = false;
                    }
                    variants.push(v.as_str().into());
                }
                if r.with.is_empty() {
                    d.span(a, "sequences.steps.ab.with: name at least one other template");
                    ok = false;
                }
                let metric = match r.metric.as_ref().map(|c| &c.0) {
                    None => crate::sending::ab::Metric::Click,
                    Some(Ok(metric)) => *metric,
                    Some(Err(other)) => {
                        d.span(a, format!("sequences.steps.ab.metric: {other:?} is not one of {}", crate::sending::ab::Metric::expected()));
                        ok = false;
                        crate::sending::ab::Metric::Click
                    }
                };
                if r.sample < MIN_AB_SAMPLE {
                    d.span(a, format!("sequences.steps.ab.sample: at least {MIN_AB_SAMPLE} sends per variant"));
                    ok = false;
                }
                let confidence = r.confidence.unwrap_or(0.95);
                if !(0.5..1.0).contains(&confidence) {
                    d.span(a, "sequences.steps.ab.confidence: between 0.5 and 1 (e.g. 0.95)");
                    ok = false;
                }
                ok.then_some(AbTest {
                    variants,
                    metric,
                    sample: r.sample,
                    confidence,
                })
            });
            steps.push(Step {
                at: at.unwrap_or(Offset::Minutes(0)),
                template: st.template.get_ref().as_str().into(),
                window,
                ab,
            });
        }
        let reentry = match &s.reentry {
            None => Reentry::Never,
            Some(r) if r.get_ref() == "never" => Reentry::Never,
            Some(r) => match duration(d, r, "sequences.reentry") {
                Some(gap) if gap >= chrono::Duration::hours(MIN_REENTRY_HOURS) => {
                    Reentry::After(gap)
                }
                Some(_) => {
                    d.span(
                        r,
                        format!("sequences.reentry: at least {MIN_REENTRY_HOURS}h (or \"never\"), so that a redelivered event cannot enroll a lead twice"),
                    );
                    Reentry::Never
                }
                None => Reentry::Never,
            },
        };
        sequences.push(Sequence {
            id: s.id.get_ref().as_str().into(),
            exit_when,
            steps,
            priority: s.priority,
            reentry,
            stage: s.stage.as_ref().map(|x| x.get_ref().as_str().into()),
            topic: s.topic.as_ref().map(|x| x.get_ref().as_str().into()),
        });
    }

    (sequences, seq_ids)
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::{Choice, S};
    use crate::sending::ab::Metric;
    use crate::sending::schedule::WindowDays;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Sequence {
        pub id: S<String>,
        #[serde(default)]
        pub exit_when: Vec<S<String>>,
        /// Higher goes first when two sequences' steps compete for the frequency cap (default 0).
        #[serde(default)]
        pub priority: i32,
        /// `never` (default) or a duration such as `30d`: the least time between two entries.
        pub reentry: Option<S<String>>,
        /// The buying stage its mails are written for: a `[[stages]]` id.
        pub stage: Option<S<String>>,
        /// The topic its mails belong to: a `[[topics]]` id (required when topics exist).
        pub topic: Option<S<String>>,
        pub steps: Vec<Step>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Step {
        pub at: S<String>,
        pub template: S<String>,
        pub window: Option<S<Window>>,
        pub ab: Option<S<Ab>>,
    }

    /// An A/B test of a step: `template` against each template in `with`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Ab {
        pub with: Vec<String>,
        /// `click` (default) or `open`.
        pub metric: Option<Choice<Metric>>,
        /// Sends per variant before a winner may be chosen.
        pub sample: u64,
        /// Default 0.95.
        pub confidence: Option<f64>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Window {
        pub start: String,
        pub end: String,
        #[serde(default)]
        pub days: Option<Choice<WindowDays>>,
    }
}
