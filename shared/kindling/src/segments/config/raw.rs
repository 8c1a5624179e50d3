//! `[[segments]]` as written in `kindling.toml`.

use crate::activities::ActivityKind;
use crate::diag::{Choice, S};
use crate::leads::Temperature;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub id: S<String>,
    pub label: Option<String>,
    pub when: S<Cond>,
}

/// One condition: exactly one of its keys (with `kind`, its filters).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cond {
    pub all: Option<Vec<S<Cond>>>,
    pub any: Option<Vec<S<Cond>>>,
    pub not: Option<Box<S<Cond>>>,
    pub industry: Option<S<AttrTest>>,
    pub title: Option<S<AttrTest>>,
    pub company: Option<S<AttrTest>>,
    pub company_size: Option<S<AttrTest>>,
    pub region: Option<S<AttrTest>>,
    pub email_domain: Option<S<AttrTest>>,
    pub language: Option<S<AttrTest>>,
    pub time_zone: Option<S<AttrTest>>,
    pub budget: Option<S<AttrTest>>,
    pub authority: Option<S<AttrTest>>,
    pub need: Option<S<AttrTest>>,
    pub timeline: Option<S<AttrTest>>,
    pub score: Option<S<Bounds>>,
    pub fit: Option<S<Bounds>>,
    pub engagement: Option<S<Bounds>>,
    pub temperature: Option<S<Vec<S<Choice<Temperature>>>>>,
    pub mql: Option<bool>,
    pub kind: Option<S<Choice<ActivityKind>>>,
    pub page_category: Option<S<String>>,
    pub form: Option<S<String>>,
    pub url: Option<String>,
    pub count: Option<u32>,
    pub within: Option<S<String>>,
    pub opened: Option<S<MailWindow>>,
    pub clicked: Option<S<MailWindow>>,
    pub unopened: Option<S<Last>>,
    pub consent: Option<bool>,
    pub sales_status: Option<S<Vec<String>>>,
    pub stage: Option<S<Vec<String>>>,
    /// The rep who owns the lead: `[[reps]]` ids, or `none`.
    pub owner: Option<S<Vec<String>>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttrTest {
    pub any_of: Option<Vec<String>>,
    pub contains_any: Option<Vec<String>>,
    pub between: Option<[u32; 2]>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub at_least: Option<i64>,
    pub below: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailWindow {
    pub within: Option<S<String>>,
    pub last: Option<u32>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Last {
    pub last: u32,
}
