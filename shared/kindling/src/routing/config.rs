//! `[[reps]]` and `[[routing]]`: the sales reps and the rules that pick a lead's owner.
//!
//! ```toml
//! [[reps]]
//! id = "tanaka"
//! name = "田中"
//! email = "tanaka@example.jp"
//! team = "enterprise"
//!
//! [[routing]]
//! id = "large_companies"
//! when = { company_size = { between = [1000, 10000000] } }
//! team = "enterprise"
//!
//! [[routing]]
//! id = "everyone_else"   # no condition: the fallback
//! rep = "sato"
//! ```

use super::{Rep, Rule, Settings, Target};
use crate::diag::Diag;
use crate::segments::config::Refs;
use std::collections::HashSet;

/// Checks the reps (unique ids, addresses) and the rules (unique ids, one of `rep` or `team`,
/// each naming a rep, a team with members, a known segment; conditions as for segments).
pub(crate) fn validate(
    d: &mut Diag<'_>,
    reps: &[raw::Rep],
    rules: &[raw::Rule],
    refs: &Refs<'_>,
    segments: &HashSet<String>,
) -> Settings {
    let mut s = Settings::default();
    let mut ids = HashSet::new();
    for r in reps {
        crate::diag::new_id(d, &mut ids, &r.id, "reps", "rep");
        let email = crate::diag::email(d, &r.email, "reps.email");
        if let Some(email) = email {
            s.reps.push(Rep {
                id: r.id.get_ref().clone(),
                name: r.name.clone(),
                email,
                team: r.team.clone(),
            });
        }
    }
    let mut rule_ids = HashSet::new();
    for r in rules {
        crate::diag::new_id(d, &mut rule_ids, &r.id, "routing", "rule");
        let to = match (&r.rep, &r.team) {
            (Some(rep), None) => {
                if !ids.contains(rep.get_ref()) {
                    d.span(
                        rep,
                        format!("routing.rep: {:?} is not a [[reps]] id", rep.get_ref()),
                    );
                }
                Target::Rep(rep.get_ref().clone())
            }
            (None, Some(team)) => {
                if !reps.iter().any(|x| x.team.as_ref() == Some(team.get_ref())) {
                    d.span(
                        team,
                        format!("routing.team: no [[reps]] has team = {:?}", team.get_ref()),
                    );
                }
                Target::Team(team.get_ref().clone())
            }
            _ => {
                d.span(&r.id, "routing: give one of rep or team");
                continue;
            }
        };
        if let Some(seg) = &r.segment {
            if !segments.contains(seg.get_ref()) {
                d.span(
                    seg,
                    format!(
                        "routing.segment: {:?} is not a [[segments]] id",
                        seg.get_ref()
                    ),
                );
            }
        }
        let when = match &r.when {
            Some(c) => match crate::segments::config::cond(d, c, refs, 0) {
                Some(c) => Some(c),
                None => continue,
            },
            None => None,
        };
        s.rules.push(Rule {
            id: r.id.get_ref().clone(),
            when,
            segment: r.segment.as_ref().map(|x| x.get_ref().as_str().into()),
            to,
        });
    }
    s
}

/// The sections as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Rep {
        pub id: S<String>,
        pub name: Option<String>,
        pub email: S<String>,
        pub team: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Rule {
        pub id: S<String>,
        pub when: Option<S<crate::segments::config::raw::Cond>>,
        pub segment: Option<S<String>>,
        pub rep: Option<S<String>>,
        pub team: Option<S<String>>,
    }
}
