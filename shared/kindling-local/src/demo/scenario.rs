//! The demo's scenario as data: the people and their timed steps, read from a TOML file
//! (`scenario.toml` beside this file is the default) and checked before anything is played.

use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use kindling::sending::schedule::resolve_local;
use serde::Deserialize;

/// The scenario `kindling demo` plays unless given another.
pub const DEFAULT: &str = include_str!("scenario.toml");

/// Someone who takes part.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
    pub company: String,
    pub title: String,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub company_size: Option<String>,
    /// IANA zone: the step times are this person's local times.
    pub zone: String,
    pub language: String,
    /// The id kindling.js keeps in this person's browser.
    pub visitor: String,
}

impl Person {
    /// The person's zone (checked when the scenario is read).
    pub fn tz(&self) -> Tz {
        self.zone.parse().unwrap_or(Tz::UTC)
    }
}

/// One mail of a sequence, as the person received it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailRef {
    pub sequence: String,
    pub step: u32,
}

/// What a person does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// A kindling.js page view from the person's browser.
    Visit(String),
    /// A form submission from that browser.
    Submit(String),
    /// kindling.js `form_start`: typing into a form, and leaving without sending it.
    StartForm { page: String, form: String },
    /// Opening a mail.
    Open(MailRef),
    /// Apple Mail Privacy Protection's proxy fetching a mail's images on delivery.
    ProxyOpen(MailRef),
    /// Clicking link number `link` of a mail.
    Click {
        sequence: String,
        step: u32,
        link: u16,
    },
    /// Following the unsubscribe link: its page (changes nothing) or RFC 8058's one-click POST.
    Unsubscribe(Unsubscribe),
    /// Saving the preference page with these topics unchecked (the others stay checked).
    LeaveTopics(Vec<String>),
}

/// How a person unsubscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unsubscribe {
    Page,
    OneClick,
}

/// A broadcast the program's marketer sends during the scenario: created, dry-run, approved by
/// a second person and scheduled at `created` (the program's zone), sent at `at`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoBroadcast {
    pub id: String,
    pub name: String,
    /// The segment it goes to.
    pub segment: String,
    /// A template of templates/.
    pub template: String,
    /// Its `[[topics]]` id.
    #[serde(default)]
    pub topic: Option<String>,
    /// "YYYY-MM-DD HH:MM": in each lead's zone with `local`, else in the program's.
    pub at: String,
    #[serde(default)]
    pub local: bool,
    /// "YYYY-MM-DD HH:MM" in the program's zone.
    pub created: String,
    pub by: String,
    pub approver: String,
}

/// A step, resolved: when (UTC), who (an index into [`Scenario::people`]) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub who: usize,
    pub act: Act,
}

/// A checked scenario, its steps in time order.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub start: DateTime<Utc>,
    pub days: i64,
    /// Base of the page URLs people visit.
    pub site: String,
    pub people: Vec<Person>,
    pub steps: Vec<Step>,
    pub broadcasts: Vec<DemoBroadcast>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    start: String,
    days: i64,
    site: String,
    people: Vec<Person>,
    steps: Vec<toml::Table>,
    #[serde(default)]
    broadcasts: Vec<DemoBroadcast>,
}

const ACTIONS: [&str; 8] = [
    "visit",
    "submit",
    "start_form",
    "open",
    "proxy_open",
    "click",
    "unsubscribe",
    "leave_topics",
];

impl Scenario {
    /// Reads and checks a scenario: known zones and people, local times that parse, exactly one
    /// action per step. Errors name the step by its number (from 1).
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        let f: File = toml::from_str(text).context("scenario")?;
        let start = DateTime::parse_from_rfc3339(&f.start)
            .with_context(|| format!("start: {:?} is not an RFC 3339 time", f.start))?
            .with_timezone(&Utc);
        if !(1..=366).contains(&f.days) {
            bail!("days: {} is not between 1 and 366", f.days);
        }
        for p in &f.people {
            if p.zone.parse::<Tz>().is_err() {
                bail!("people {}: unknown zone {:?}", p.id, p.zone);
            }
            if f.people.iter().filter(|q| q.id == p.id).count() > 1 {
                bail!("people: {} is listed twice", p.id);
            }
        }
        let mut steps = Vec::with_capacity(f.steps.len());
        for (i, raw) in f.steps.into_iter().enumerate() {
            let n = i + 1;
            steps.push(step(raw, &f.people).with_context(|| format!("step {n}"))?);
        }
        for b in &f.broadcasts {
            for (key, v) in [("at", &b.at), ("created", &b.created)] {
                NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M").with_context(|| {
                    format!(
                        "broadcast {}: {key} {v:?} is not like \"2026-11-10 10:00\"",
                        b.id
                    )
                })?;
            }
        }
        // Stable: steps at the same minute keep their file order.
        steps.sort_by_key(|s| s.at);
        Ok(Scenario {
            start,
            days: f.days,
            site: f.site.trim_end_matches('/').to_owned(),
            people: f.people,
            steps,
            broadcasts: f.broadcasts,
        })
    }

    /// When the scenario ends.
    pub fn end(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::days(self.days)
    }
}

fn step(mut raw: toml::Table, people: &[Person]) -> anyhow::Result<Step> {
    let who = match raw.remove("who") {
        Some(toml::Value::String(s)) => s,
        _ => bail!("needs who = \"<person id>\""),
    };
    let who = people
        .iter()
        .position(|p| p.id == who)
        .with_context(|| format!("who: no person {who:?}"))?;
    let at = match raw.remove("at") {
        Some(toml::Value::String(s)) => s,
        _ => bail!("needs at = \"YYYY-MM-DD HH:MM\""),
    };
    let local = NaiveDateTime::parse_from_str(&at, "%Y-%m-%d %H:%M")
        .with_context(|| format!("at: {at:?} is not like \"2026-10-28 10:05\""))?;
    if let Some(other) = raw.keys().find(|k| !ACTIONS.contains(&k.as_str())) {
        bail!("{other:?} is not one of who, at, {}", ACTIONS.join(", "));
    }
    if raw.len() != 1 {
        bail!("needs exactly one of {}", ACTIONS.join(", "));
    }
    let act: Act = toml::Value::Table(raw).try_into()?;
    Ok(Step {
        at: resolve_local(people[who].tz(), local),
        who,
        act,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"
start = "2026-10-28T00:00:00Z"
days = 2
site = "https://example.jp/"
people = [{ id = "a", email = "a@example.jp", name = "A", company = "C", title = "T", zone = "Asia/Tokyo", language = "ja", visitor = "v-a" }]
"#;

    fn with_steps(steps: &str) -> anyhow::Result<Scenario> {
        Scenario::parse(&format!("{HEAD}steps = [{steps}]"))
    }

    #[test]
    fn the_shipped_scenario_reads_and_is_in_time_order() {
        let s = Scenario::parse(DEFAULT).unwrap();
        assert_eq!(s.people.len(), 6);
        assert_eq!(s.steps.len(), 28);
        assert!(s.steps.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(s.steps.iter().all(|st| st.at >= s.start && st.at < s.end()));
        assert!(s
            .steps
            .iter()
            .any(|st| st.act == Act::LeaveTopics(vec!["newsletter".into()])));
    }

    #[test]
    fn steps_are_local_times_and_each_action_reads_as_its_kind() {
        let s = with_steps(
            r#"{ who = "a", at = "2026-10-28 10:05", visit = "/" },
               { who = "a", at = "2026-10-28 09:00", click = { sequence = "s", step = 1, link = 2 } },
               { who = "a", at = "2026-10-28 09:30", unsubscribe = "one_click" }"#,
        )
        .unwrap();
        assert_eq!(s.site, "https://example.jp");
        assert_eq!(s.steps[0].at.to_rfc3339(), "2026-10-28T00:00:00+00:00");
        assert_eq!(
            s.steps[0].act,
            Act::Click {
                sequence: "s".into(),
                step: 1,
                link: 2
            }
        );
        assert_eq!(s.steps[1].act, Act::Unsubscribe(Unsubscribe::OneClick));
        assert_eq!(s.steps[2].act, Act::Visit("/".into()));
    }

    #[test]
    fn a_bad_step_is_refused_with_its_number_and_why() {
        for (steps, why) in [
            (
                r#"{ who = "b", at = "2026-10-28 10:05", visit = "/" }"#,
                "no person \"b\"",
            ),
            (r#"{ who = "a", at = "10:05", visit = "/" }"#, "is not like"),
            (
                r#"{ who = "a", at = "2026-10-28 10:05" }"#,
                "exactly one of",
            ),
            (
                r#"{ who = "a", at = "2026-10-28 10:05", visit = "/", submit = "f" }"#,
                "exactly one of",
            ),
            (
                r#"{ who = "a", at = "2026-10-28 10:05", fly = "/" }"#,
                "\"fly\" is not one of",
            ),
            (
                r#"{ who = "a", at = "2026-10-28 10:05", unsubscribe = "maybe" }"#,
                "unknown variant",
            ),
        ] {
            let e = format!("{:#}", with_steps(steps).unwrap_err());
            assert!(e.starts_with("step 1: ") && e.contains(why), "{steps}: {e}");
        }
    }
}
