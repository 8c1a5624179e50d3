//! A/B tests of a broadcast: cells of the audience (say 2 × 10 %) each get a variant, with its
//! own subject, its own send time (the recipients' local hour with `local`), or both; after a
//! wait the rest gets the winner, judged by people's opens or clicks with the significance test
//! of step A/B tests ([`crate::sending::ab::judge`]), or the broadcast as written (A) when no
//! variant is significantly better.
//!
//! - A lead's cell is a stable hash of the lead and the broadcast: the same in every run, in the
//!   dry run and in the preview, and independent of sending order.
//! - The freeze writes the cells first, each recipient due at its variant's time; then the rest,
//!   all due at the decision: `wait_hours` after the last cell recipient is due.
//! - The first sender page at or after that time judges the cells' tallies and records the
//!   [`Decision`] on the broadcast, under its version: one decision however many senders run.
//! - The rest get the winner at its time of day (in their own zone with `local`), on the first
//!   day that time comes after the decision, so they get the hour that won.
//! - Only cell recipients count ([`super::ab_tally`]): each send, and the first human open and click of it (machine
//!   opens and scanner clicks never count), once each, in the tally series `bab:{broadcast}`.

use super::content::{lint, Content};
use super::{Audience, Schedule};
use crate::ids::TemplateId;
use crate::program::{Program, Sender};
use crate::sending::ab::{AbTest, Metric, VariantResult, Verdict};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most variants besides A.
pub const MAX_VARIANTS: usize = 4;
/// The cells' names: A is the broadcast as written.
pub const LABELS: [&str; MAX_VARIANTS + 1] = ["A", "B", "C", "D", "E"];
/// Longest wait before the decision.
pub const MAX_WAIT_HOURS: u32 = 7 * 24;
/// The rest is at least this share of the audience, in percent.
pub const MIN_REST_PERCENT: u32 = 10;

/// One variant: what differs from A. Neither may be `None` in both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Its subject by language (each a template, like the content's own), for every language
    /// of the content; `None`: A's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<BTreeMap<String, String>>,
    /// Its send time (in each lead's zone when the broadcast is `local`); `None`: A's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<NaiveDateTime>,
}

/// An approved A/B test: covered by the broadcast's hash like its content and schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// B, C, ...: A is the broadcast as written.
    pub variants: Vec<Variant>,
    /// Each cell's share of the audience (A's cell too), in percent.
    pub cell_percent: u8,
    pub metric: Metric,
    /// Hours after the last cell recipient is due before the winner is judged.
    pub wait_hours: u32,
    /// Sends each cell needs before a variant may win.
    pub sample: u64,
    /// e.g. 0.95: the winner's advantage must be significant at p < 0.05.
    pub confidence: f64,
}

/// What the test decided, kept on the broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    /// The cell whose variant the rest gets (0: A).
    pub winner: usize,
    /// What the judgement said: a winner, or why A stays (too few sends, not significant).
    pub verdict: Verdict,
    /// The cells' counts it judged.
    pub cells: Vec<VariantResult>,
}

/// An A/B test as a person writes it (the admin API's `ab`, the CLI's `--ab-*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub variants: Vec<VariantSpec>,
    #[serde(default = "default_cell")]
    pub cell_percent: u8,
    /// `open` or `click` (default).
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default = "default_wait")]
    pub wait_hours: u32,
    #[serde(default = "default_sample")]
    pub sample: u64,
    #[serde(default = "default_confidence")]
    pub confidence: f64,
}

/// Each cell's share of the audience, in percent, unless the test says otherwise.
pub const DEFAULT_CELL_PERCENT: u8 = 10;
/// Hours after the last cell is due before the winner is judged, unless said otherwise.
pub const DEFAULT_WAIT_HOURS: u32 = 4;
/// Sends each cell needs before a variant may win, unless said otherwise.
pub const DEFAULT_SAMPLE: u64 = 100;
/// The confidence a winner needs, unless said otherwise.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

fn default_cell() -> u8 {
    DEFAULT_CELL_PERCENT
}
fn default_wait() -> u32 {
    DEFAULT_WAIT_HOURS
}
fn default_sample() -> u64 {
    DEFAULT_SAMPLE
}
fn default_confidence() -> f64 {
    DEFAULT_CONFIDENCE
}

/// One variant as written: a subject (one for every language, or one per language), a time
/// ("2026-12-08 14:00"), or both.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    #[serde(default)]
    pub subject: Option<SubjectSpec>,
    #[serde(default)]
    pub at: Option<String>,
}

/// A variant's subject: the same for every language, or by language.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubjectSpec {
    All(String),
    ByLanguage(BTreeMap<String, String>),
}

impl Spec {
    /// The plan this spec makes for a broadcast of `content`; an error says what is wrong.
    pub fn plan(&self, content: &Content) -> std::result::Result<Plan, String> {
        let metric = match self.metric.as_deref() {
            None => Metric::Click,
            Some(m) => <Metric as crate::names::Named>::from_name(m).ok_or_else(|| {
                format!(
                    "ab.metric: {m:?} is not one of {}",
                    <Metric as crate::names::Named>::expected()
                )
            })?,
        };
        let mut variants = Vec::with_capacity(self.variants.len());
        for (i, v) in self.variants.iter().enumerate() {
            let label = LABELS.get(i + 1).copied().unwrap_or("?");
            let subject = v.subject.as_ref().map(|s| match s {
                SubjectSpec::All(s) => content
                    .parts
                    .keys()
                    .map(|l| (l.clone(), s.clone()))
                    .collect(),
                SubjectSpec::ByLanguage(m) => m.clone(),
            });
            let at =
                v.at.as_deref()
                    .map(|a| {
                        super::parse_time(a).ok_or_else(|| {
                            format!(
                            "ab variant {label}: at {a:?}: write a time like \"2026-12-08 14:00\""
                        )
                        })
                    })
                    .transpose()?;
            variants.push(Variant { subject, at });
        }
        Ok(Plan {
            variants,
            cell_percent: self.cell_percent,
            metric,
            wait_hours: self.wait_hours,
            sample: self.sample,
            confidence: self.confidence,
        })
    }
}

impl Plan {
    /// Cells: A and each variant.
    pub fn cells(&self) -> usize {
        self.variants.len() + 1
    }

    /// The test [`ab::judge`] decides on: the cells by label.
    pub fn test(&self) -> AbTest {
        AbTest {
            variants: LABELS[..self.cells()]
                .iter()
                .map(|l| TemplateId::new(*l))
                .collect(),
            metric: self.metric,
            sample: self.sample,
            confidence: self.confidence,
        }
    }
}

/// Checks a plan against the broadcast it is for: every error found, for people.
pub fn check(
    plan: &Plan,
    content: &Content,
    schedule: &Schedule,
    audience: &Audience,
    program: &Program,
    sender: &Sender,
) -> Vec<String> {
    let mut errors = Vec::new();
    if matches!(audience, Audience::RecipientsOf { .. }) {
        errors.push(
            "ab: a correction goes to exactly the original recipients; it has no A/B test".into(),
        );
    }
    if plan.variants.is_empty() || plan.variants.len() > MAX_VARIANTS {
        errors.push(format!("ab: give 1 to {MAX_VARIANTS} variants besides A"));
        return errors;
    }
    let share = plan.cell_percent as u32 * plan.cells() as u32;
    if plan.cell_percent == 0 || share + MIN_REST_PERCENT > 100 {
        errors.push(format!(
            "ab.cell_percent: {} cells of {} % leave less than {MIN_REST_PERCENT} % for the winner",
            plan.cells(),
            plan.cell_percent
        ));
    }
    if plan.wait_hours == 0 || plan.wait_hours > MAX_WAIT_HOURS {
        errors.push(format!("ab.wait_hours: 1 to {MAX_WAIT_HOURS}"));
    }
    if plan.sample == 0 || plan.sample > 1_000_000 {
        errors.push("ab.sample: 1 to 1000000 sends per cell".into());
    }
    if !(0.5..=0.999).contains(&plan.confidence) {
        errors.push("ab.confidence: between 0.5 and 0.999".into());
    }
    let mut seen: Vec<(Content, Schedule)> = vec![(content.clone(), *schedule)];
    for (i, v) in plan.variants.iter().enumerate() {
        let label = LABELS[i + 1];
        if v.subject.is_none() && v.at.is_none() {
            errors.push(format!(
                "ab variant {label}: give a subject, a time, or both"
            ));
            continue;
        }
        if let Some(s) = &v.subject {
            let langs: Vec<&String> = content.parts.keys().collect();
            if s.keys().collect::<Vec<_>>() != langs {
                errors.push(format!(
                    "ab variant {label}: give a subject for exactly the content's languages ({})",
                    content.parts.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            if let Some((l, _)) = s
                .iter()
                .find(|(_, t)| t.trim().is_empty() || t.len() > 998 || t.contains(['\r', '\n']))
            {
                errors.push(format!(
                    "ab variant {label}: the {l} subject must be one line of 1 to 998 bytes"
                ));
                continue;
            }
        }
        let c = v.content(content);
        for e in lint(&c, program, sender).errors {
            errors.push(format!("ab variant {label}: {e}"));
        }
        let s = v.schedule(schedule);
        if seen.iter().any(|(sc, ss)| *sc == c && *ss == s) {
            errors.push(format!(
                "ab variant {label}: the same mail at the same time as another cell"
            ));
        }
        seen.push((c, s));
    }
    errors
}

impl Variant {
    /// The schedule of this variant's cell: its time, else A's.
    pub fn schedule(&self, a: &Schedule) -> Schedule {
        Schedule {
            at: self.at.unwrap_or(a.at),
            local: a.local,
        }
    }

    /// The content of this variant's cell: A's with each language's subject line replaced.
    pub fn content(&self, a: &Content) -> Content {
        let Some(subjects) = &self.subject else {
            return a.clone();
        };
        let mut c = a.clone();
        for (lang, part) in &mut c.parts {
            if let Some(s) = subjects.get(lang) {
                let body = part.txt.split_once("\n\n").map_or("", |(_, b)| b);
                part.txt = format!("Subject: {s}\n\n{body}");
            }
        }
        c
    }
}
