//! `[[segments]]`: each a `when` condition over who a lead is and what it did, checked against
//! the known page categories and forms, every problem reported with its line.
//!
//! ```toml
//! [[segments]]
//! id = "manufacturing_managers_pricing"
//! label = "製造業 × 部長職 × 価格ページ3回閲覧"
//! [segments.when]
//! all = [
//!   { industry = { any_of = ["manufacturing", "製造業"] } },
//!   { title = { contains_any = ["部長", "director"] } },
//!   { kind = "page_view", page_category = "pricing", count = 3, within = "30d" },
//! ]
//! ```

use super::{Cond, Measure, Recent, Segment};
use crate::activities::{ActivityKind, Matcher};
use crate::diag::duration;
use crate::diag::{choice, Diag, S};
use crate::leads::attrs::{Field, Test};
use crate::leads::SalesStatus;
use crate::names::Named;
use std::collections::HashSet;

/// How deep `all`, `any` and `not` may nest.
pub const MAX_DEPTH: usize = 8;

/// The keys a condition is one of (with `kind` come `page_category`, `form`, `url`, `count`
/// and `within`).
const HEADS: &str = "all, any, not, industry, title, company, company_size, region, email_domain, language, time_zone, budget, authority, need, timeline, score, fit, engagement, temperature, mql, kind, opened, clicked, unopened, consent, sales_status, stage or owner";

/// Checks `[[segments]]`: unique ids, one condition per table, known page categories and forms.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    raw: &[raw::Segment],
    categories: &HashSet<&str>,
    forms: &HashSet<String>,
    stages: &HashSet<String>,
    reps: &HashSet<String>,
) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for s in raw {
        let id = s.id.get_ref();
        crate::diag::new_id(d, &mut ids, &s.id, "segments", "segment");
        let refs = Refs {
            categories,
            forms,
            stages: Some(stages),
            reps: Some(reps),
        };
        if let Some(when) = cond(d, &s.when, &refs, 0) {
            out.push(Segment {
                id: id.as_str().into(),
                label: s.label.clone(),
                when,
                definition: definition(s.when.get_ref()),
            });
        }
    }
    out
}

pub(crate) struct Refs<'a> {
    pub(crate) categories: &'a HashSet<&'a str>,
    pub(crate) forms: &'a HashSet<String>,
    /// The `[[stages]]` ids (`None` inside a stage's own condition).
    pub(crate) stages: Option<&'a HashSet<String>>,
    /// The `[[reps]]` ids (`None` where an owner cannot be asked for: stages, routing).
    pub(crate) reps: Option<&'a HashSet<String>>,
}

/// A condition as written, as JSON (the keys given, nothing else): what `segment show` and
/// `GET /admin/segments/{id}` print.
fn definition(c: &raw::Cond) -> serde_json::Value {
    fn prune(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => m
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, prune(v)))
                .collect(),
            serde_json::Value::Array(a) => a.into_iter().map(prune).collect(),
            other => other,
        }
    }
    prune(serde_json::to_value(c).unwrap_or_default())
}

pub(crate) fn cond(
    d: &mut Diag<'_>,
    c: &S<raw::Cond>,
    refs: &Refs<'_>,
    depth: usize,
) -> Option<Cond> {
    let r = c.get_ref();
    if depth > MAX_DEPTH {
        d.span(
            c,
            format!("segments: conditions nest at most {MAX_DEPTH} deep"),
        );
        return None;
    }
    let attrs = [
        (Field::Industry, &r.industry),
        (Field::Title, &r.title),
        (Field::Company, &r.company),
        (Field::CompanySize, &r.company_size),
        (Field::Region, &r.region),
        (Field::EmailDomain, &r.email_domain),
        (Field::Language, &r.language),
        (Field::TimeZone, &r.time_zone),
        (Field::Budget, &r.budget),
        (Field::Authority, &r.authority),
        (Field::Need, &r.need),
        (Field::Timeline, &r.timeline),
    ];
    let scores = [
        (Measure::Total, &r.score),
        (Measure::Fit, &r.fit),
        (Measure::Engagement, &r.engagement),
    ];
    let heads = [
        r.all.is_some(),
        r.any.is_some(),
        r.not.is_some(),
        r.temperature.is_some(),
        r.mql.is_some(),
        r.kind.is_some(),
        r.opened.is_some(),
        r.clicked.is_some(),
        r.unopened.is_some(),
        r.consent.is_some(),
        r.sales_status.is_some(),
        r.stage.is_some(),
        r.owner.is_some(),
    ]
    .into_iter()
    .chain(attrs.iter().map(|(_, v)| v.is_some()))
    .chain(scores.iter().map(|(_, v)| v.is_some()))
    .filter(|h| *h)
    .count();
    if r.kind.is_none()
        && (r.page_category.is_some()
            || r.form.is_some()
            || r.url.is_some()
            || r.count.is_some()
            || r.within.is_some())
    {
        d.span(
            c,
            "segments: page_category, form, url, count and within go with kind",
        );
        return None;
    }
    if heads != 1 {
        d.span(
            c,
            format!("segments: a condition is exactly one of {HEADS} ({heads} given)"),
        );
        return None;
    }
    let list = |d: &mut Diag<'_>, cs: &[S<raw::Cond>], key: &str| {
        if cs.is_empty() {
            d.span(c, format!("segments: {key} needs at least one condition"));
        }
        cs.iter()
            .map(|x| cond(d, x, refs, depth + 1))
            .collect::<Option<Vec<_>>>()
    };
    if let Some(cs) = &r.all {
        return list(d, cs, "all").map(Cond::All);
    }
    if let Some(cs) = &r.any {
        return list(d, cs, "any").map(Cond::Any);
    }
    if let Some(x) = &r.not {
        return cond(d, x, refs, depth + 1).map(|x| Cond::Not(Box::new(x)));
    }
    for (field, v) in attrs {
        if let Some(t) = v {
            return attr_test(d, t, field).map(|test| Cond::Attr { field, test });
        }
    }
    for (of, v) in scores {
        if let Some(b) = v {
            let (at_least, below) = (b.get_ref().at_least, b.get_ref().below);
            if at_least.is_none() && below.is_none() {
                d.span(b, "segments: a score bound needs at_least, below or both");
                return None;
            }
            if let (Some(lo), Some(hi)) = (at_least, below) {
                if lo >= hi {
                    d.span(
                        b,
                        format!("segments: at_least ({lo}) must be below below ({hi})"),
                    );
                    return None;
                }
            }
            return Some(Cond::Score {
                of,
                at_least,
                below,
            });
        }
    }
    if let Some(ts) = &r.temperature {
        let mut out = Vec::new();
        for t in ts.get_ref() {
            out.push(choice(d, t, "segments.temperature")?);
        }
        if out.is_empty() {
            d.span(
                ts,
                "segments.temperature: name at least one of cold, warm or hot",
            );
            return None;
        }
        return Some(Cond::Temperature(out));
    }
    if let Some(m) = r.mql {
        return Some(Cond::Mql(m));
    }
    if let Some(m) = r.consent {
        return Some(Cond::Consent(m));
    }
    if let Some(os) = &r.owner {
        let Some(known) = refs.reps else {
            d.span(os, "owner: only a segment's condition can name owners");
            return None;
        };
        let mut out = Vec::new();
        for o in os.get_ref() {
            match o.as_str() {
                "none" => out.push(None),
                id if known.contains(id) => out.push(Some(id.to_owned())),
                other => {
                    d.span(
                        os,
                        format!("segments.owner: {other:?} is not a [[reps]] id (or none)"),
                    );
                    return None;
                }
            }
        }
        return Some(Cond::Owner(out));
    }
    if let Some(ss) = &r.sales_status {
        let mut out = Vec::new();
        for s in ss.get_ref() {
            match s.as_str() {
                "none" => out.push(None),
                other => match SalesStatus::parse(other) {
                    Some(st) => out.push(Some(st)),
                    None => {
                        d.span(ss, format!("segments.sales_status: {other:?} is not one of none, working, won, lost or disqualified"));
                        return None;
                    }
                },
            }
        }
        return Some(Cond::SalesStatus(out));
    }
    if let Some(ss) = &r.stage {
        let Some(known) = refs.stages else {
            d.span(ss, "stages: a stage's condition cannot name stages");
            return None;
        };
        let mut out = Vec::new();
        for s in ss.get_ref() {
            match s.as_str() {
                "none" => out.push(None),
                other if known.contains(other) => out.push(Some(other.into())),
                other => {
                    let mut names: Vec<_> = known.iter().map(String::as_str).collect();
                    names.sort_unstable();
                    d.span(
                        ss,
                        format!(
                            "segments.stage: {other:?} is not a [[stages]] id (one of none, {})",
                            names.join(", ")
                        ),
                    );
                    return None;
                }
            }
        }
        if out.is_empty() {
            d.span(ss, "segments.stage: name at least one stage (or none)");
            return None;
        }
        return Some(Cond::Stage(out));
    }
    if let Some(k) = &r.kind {
        return did(d, c, k, refs);
    }
    for (clicks, v) in [(false, &r.opened), (true, &r.clicked)] {
        if let Some(w) = v {
            let key = if clicks { "clicked" } else { "opened" };
            let recent = match (&w.get_ref().within, w.get_ref().last) {
                (Some(within), None) => {
                    Recent::Within(duration(d, within, &format!("segments.{key}.within"))?)
                }
                (None, Some(n)) if n >= 1 => Recent::LastMails(n),
                _ => {
                    d.span(w, format!("segments.{key}: give within = \"30d\" or last = 3 (at least 1), not both"));
                    return None;
                }
            };
            return Some(Cond::Engaged { clicks, recent });
        }
    }
    if let Some(u) = &r.unopened {
        let n = u.get_ref().last;
        if n == 0 {
            d.span(u, "segments.unopened: last must be at least 1");
            return None;
        }
        return Some(Cond::Unopened(n));
    }
    None
}

fn attr_test(d: &mut Diag<'_>, t: &S<raw::AttrTest>, field: Field) -> Option<Test> {
    let r = t.get_ref();
    let key = format!("segments.{}", field.name());
    let test = match (&r.any_of, &r.contains_any, &r.between) {
        (Some(v), None, None) if !v.is_empty() => Test::AnyOf(v.clone()),
        (None, Some(v), None) if !v.is_empty() => Test::ContainsAny(v.clone()),
        (None, None, Some([lo, hi])) if lo <= hi => Test::Between(*lo, *hi),
        _ => {
            d.span(
                t,
                format!("{key}: give one of any_of = [..], contains_any = [..] or between = [low, high] (low ≤ high)"),
            );
            return None;
        }
    };
    Some(test)
}

fn did(
    d: &mut Diag<'_>,
    c: &S<raw::Cond>,
    k: &S<crate::diag::Choice<ActivityKind>>,
    refs: &Refs<'_>,
) -> Option<Cond> {
    let r = c.get_ref();
    let kind = choice(d, k, "segments.kind")?;
    if let Some(pc) = &r.page_category {
        if !refs.categories.contains(pc.get_ref().as_str()) {
            d.span(
                pc,
                format!(
                    "segments.page_category: unknown category {:?}",
                    pc.get_ref()
                ),
            );
            return None;
        }
    }
    if let Some(f) = &r.form {
        if !refs.forms.contains(f.get_ref()) {
            d.span(f, format!("segments.form: unknown form {:?}", f.get_ref()));
            return None;
        }
    }
    let within = match &r.within {
        Some(w) => Some(duration(d, w, "segments.within")?),
        None => None,
    };
    let at_least = r.count.unwrap_or(1);
    if at_least == 0 {
        d.span(c, "segments.count: at least 1");
        return None;
    }
    Some(Cond::Did {
        matcher: Matcher {
            kind,
            page_category: r.page_category.as_ref().map(|s| s.get_ref().clone()),
            form_id: r.form.as_ref().map(|s| s.get_ref().as_str().into()),
            url: r.url.clone(),
        },
        at_least,
        within,
    })
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw;
