//! `[[triggers]]`: behavioural triggers, checked against the known page categories, forms and
//! sequences.

use super::{Condition, Trigger};
use crate::activities::ActivityKind;
use crate::activities::Matcher;
use crate::diag::duration;
use crate::diag::{choice, Diag};
use crate::events::Audience;
use crate::names::Named;
use crate::sending::schedule::Offset;
use std::collections::HashSet;

/// Checks `[[triggers]]`, in file order.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    raw: &[raw::Trigger],
    categories: &HashSet<&str>,
    forms: &HashSet<String>,
    sequences: &HashSet<String>,
    segments: &HashSet<String>,
) -> Vec<Trigger> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for t in raw {
        let id = t.id.get_ref();
        crate::diag::new_id(d, &mut ids, &t.id, "triggers", "trigger");
        let w = t.when.get_ref();
        let bad = |d: &mut Diag<'_>, m: String| d.span(&t.when, format!("triggers.when: {m}"));
        let after = || {
            w.after.as_deref().map(|a| {
                Offset::parse(a)
                    .map(|o| o.approx())
                    .map_err(|m| format!("after: {m}"))
            })
        };
        let condition = match (&w.kind, &w.form_abandoned, w.unopened_mails) {
            _ if w.entered_segment.is_some() => {
                let seg = w.entered_segment.as_deref().unwrap_or_default();
                let alone = w.kind.is_none()
                    && w.form_abandoned.is_none()
                    && w.unopened_mails.is_none()
                    && w.after.is_none();
                if !alone {
                    bad(
                        d,
                        "entered_segment stands alone (the segment says the rest)".into(),
                    );
                    None
                } else if !segments.contains(seg) {
                    bad(d, format!("entered_segment: unknown segment {seg:?}"));
                    None
                } else {
                    Some(Condition::EnteredSegment(seg.into()))
                }
            }
            (Some(kind), None, None) => {
                if w.after.is_some() {
                    bad(
                        d,
                        "`after` goes with form_abandoned or unopened_mails; counts use `within`"
                            .into(),
                    );
                }
                let kind = kind.0.as_ref().copied().map_err(|other| {
                    bad(
                        d,
                        format!(
                            "unknown activity kind {other:?} (one of: {})",
                            ActivityKind::expected()
                        ),
                    )
                });
                if let Some(c) = &w.page_category {
                    if !categories.contains(c.as_str()) {
                        bad(d, format!("no [[pages]] entry has category {c:?}"));
                    }
                }
                if let Some(fm) = &w.form {
                    if !forms.contains(fm) {
                        bad(d, format!("unknown form {fm:?}"));
                    }
                }
                if w.url.as_ref().is_some_and(|u| !u.starts_with('/')) {
                    bad(d, r#"url: a path such as "/pricing" or "/docs/*""#.into());
                }
                let at_least = w.count.unwrap_or(1);
                if at_least == 0 {
                    bad(d, "count must be at least 1".into());
                }
                let within = match &w.within {
                    None => Some(chrono::Duration::days(30)),
                    Some(x) => Offset::parse(x)
                        .map(|o| o.approx())
                        .map_err(|m| bad(d, format!("within: {m}")))
                        .ok()
                        .filter(|x| *x > chrono::Duration::zero()),
                };
                match (kind, within) {
                    (Ok(kind), Some(within)) => Some(Condition::Count {
                        matcher: Matcher {
                            kind,
                            page_category: w.page_category.clone(),
                            form_id: w.form.as_deref().map(Into::into),
                            url: w.url.clone(),
                        },
                        at_least: at_least.max(1),
                        within,
                    }),
                    _ => None,
                }
            }
            (None, Some(form), None) => {
                if !forms.contains(form) {
                    bad(d, format!("form_abandoned: unknown form {form:?}"));
                }
                match after() {
                    Some(Ok(after)) => Some(Condition::FormAbandoned {
                        form_id: form.clone(),
                        after,
                    }),
                    Some(Err(m)) => {
                        bad(d, m);
                        None
                    }
                    None => {
                        bad(d, r#"form_abandoned needs `after` (e.g. "1h")"#.into());
                        None
                    }
                }
            }
            (None, None, Some(mails)) => {
                if mails == 0 {
                    bad(d, "unopened_mails must be at least 1".into());
                }
                match after() {
                    Some(Ok(after)) => Some(Condition::Unopened {
                        mails: mails.max(1),
                        after,
                    }),
                    Some(Err(m)) => {
                        bad(d, m);
                        None
                    }
                    None => {
                        bad(d, r#"unopened_mails needs `after` (e.g. "3d")"#.into());
                        None
                    }
                }
            }
            _ => {
                bad(d, "give exactly one of kind (with count/within), form_abandoned, unopened_mails or entered_segment".into());
                None
            }
        };
        if w.kind.is_none()
            && (w.count.is_some()
                || w.within.is_some()
                || w.page_category.is_some()
                || w.form.is_some()
                || w.url.is_some())
        {
            d.span(
                &t.when,
                "triggers.when: count, within, page_category, form and url go with kind",
            );
        }
        if let Some(s) = &t.enroll {
            if !sequences.contains(s.get_ref()) {
                d.span(
                    s,
                    format!("triggers.enroll: unknown sequence {:?}", s.get_ref()),
                );
            }
        }
        let alert = t
            .alert
            .as_ref()
            .and_then(|a| choice(d, a, "triggers.alert"))
            .map(|team| match team {
                raw::Team::Sales => Audience::Sales,
                raw::Team::Support => Audience::Support,
            });
        if t.enroll.is_none() && t.alert.is_none() {
            d.span(&t.id, "triggers: give enroll, alert or both");
        }
        let cooldown = t
            .cooldown
            .as_ref()
            .and_then(|c| duration(d, c, "triggers.cooldown"));
        if let Some(condition) = condition {
            out.push(Trigger {
                id: id.as_str().into(),
                condition,
                enroll: t.enroll.as_ref().map(|s| s.get_ref().as_str().into()),
                alert,
                cooldown,
            });
        }
    }
    out
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::activities::ActivityKind;
    use crate::diag::{Choice, S};
    use serde::Deserialize;

    /// Who a trigger's alert goes to (ops alerts come from the breaker, not from triggers).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Team {
        Sales,
        Support,
    }

    crate::named!(Team {
        Sales = "sales",
        Support = "support",
    });

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Trigger {
        pub id: S<String>,
        pub when: S<When>,
        pub enroll: Option<S<String>>,
        pub alert: Option<S<Choice<Team>>>,
        pub cooldown: Option<S<String>>,
    }

    /// One of: `kind` (+ filters, `count`, `within`); `form_abandoned` + `after`;
    /// `unopened_mails` + `after`; `entered_segment`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct When {
        pub kind: Option<Choice<ActivityKind>>,
        pub page_category: Option<String>,
        pub form: Option<String>,
        pub url: Option<String>,
        pub count: Option<u32>,
        pub within: Option<String>,
        pub form_abandoned: Option<String>,
        pub unopened_mails: Option<u32>,
        pub after: Option<String>,
        pub entered_segment: Option<String>,
    }
}
