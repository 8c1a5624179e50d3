//! The nurture program: `config/kindling.toml` plus `config/templates/`, parsed once at start
//! into typed, validated values. Every problem is reported with file:line, all at once.
//!
//! Each capability owns its section: its types, its file format (`raw`) and its checks
//! (`validate`), in its `config.rs` (`scoring/config.rs` for `[scoring]`, `sequences/config.rs`
//! for `[[sequences]]`, ...). This module loads the files, runs every section's checks in an
//! order that lets a section refer to the ids of another, and assembles the [`Config`].

mod raw;

use crate::activities::pages::PageCategory;
use crate::diag::{ConfigError, ConfigErrors, Diag};
use crate::forms::config::Form;
use crate::program::{Program, Sender};
use crate::sending::templates::Templates;
use crate::sequences::config::{Sequence, Step};
use crate::triggers::Trigger;
use crate::{alerts, deliverability, scoring, sending};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashSet;
use std::path::Path;

/// The validated program.
#[derive(Debug, Clone)]
pub struct Config {
    pub program: Program,
    pub sender: Sender,
    /// Version of the consent wording that forms show; stored with each consent record.
    pub consent_text_version: String,
    pub scoring: scoring::config::Settings,
    pub pages: Vec<PageCategory>,
    pub sending: sending::config::Settings,
    pub deliverability: deliverability::config::Settings,
    pub alerts: alerts::config::Settings,
    pub forms: Vec<Form>,
    pub sequences: Vec<Sequence>,
    pub templates: Templates,
    /// Behavioural triggers, in file order.
    pub triggers: Vec<Trigger>,
    /// Segments, in file order.
    pub segments: Vec<crate::segments::Segment>,
    /// Buying stages, in order.
    pub stages: Vec<crate::segments::stages::Stage>,
    /// `[[reps]]` and `[[routing]]`: who owns a lead handed to sales.
    pub routing: crate::routing::Settings,
    pub broadcasts: crate::broadcasts::config::Settings,
    /// `[api]`: the request limits and the send rate they carry.
    pub api: crate::web::limits::Limits,
    /// `[kpis]`: targets, the influence window, the default currency.
    pub kpis: crate::kpis::config::Settings,
    /// Where each table of `kindling.toml` first starts (`stages`, `scoring.rules`, ...), and
    /// the first step A/B test (`ab`): the evidence `kindling diagnose` cites.
    pub lines: std::collections::BTreeMap<String, usize>,
    /// The scoring sections' fingerprint (see [`scoring::state::fingerprint`]).
    pub score_print: u64,
    /// `[digest]`: the weekly KPI mail (none without the section).
    pub digest: Option<crate::kpis::config::Digest>,
    /// `[crm]`: the CRM sync, both ways (none without the section).
    pub crm: Option<crate::crm::config::Settings>,
}

/// Name under which `kindling.toml` is reported.
pub const CONFIG_FILE: &str = "kindling.toml";

impl Config {
    /// Loads and validates `dir/kindling.toml` and `dir/templates/`. Errors name files as
    /// `dir/...` so that an editor can jump to them.
    pub fn load(dir: &Path) -> Result<Config, ConfigErrors> {
        let toml_path = dir.join(CONFIG_FILE);
        let toml_name = toml_path.display().to_string();
        let src = std::fs::read_to_string(&toml_path).map_err(|e| io_error(&toml_name, &e))?;
        let templates_dir = dir.join("templates");
        let mut sources = Vec::new();
        let entries = std::fs::read_dir(&templates_dir)
            .map_err(|e| io_error(&templates_dir.display().to_string(), &e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| io_error(&templates_dir.display().to_string(), &e))?
                .path();
            if path.is_file() {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let body = std::fs::read_to_string(&path)
                    .map_err(|e| io_error(&path.display().to_string(), &e))?;
                sources.push((name, body));
            }
        }
        Self::from_sources(
            &toml_name,
            &src,
            &templates_dir.display().to_string(),
            sources,
        )
    }

    /// Parses and validates from memory: `templates` are `(file name, source)` pairs named like
    /// `doc_thanks.ja.txt` and `doc_thanks.ja.html`.
    pub fn from_sources(
        toml_name: &str,
        src: &str,
        templates_dir: &str,
        templates: Vec<(String, String)>,
    ) -> Result<Config, ConfigErrors> {
        let mut d = Diag::new(toml_name, src);
        let file: raw::File = match toml::from_str(src) {
            Ok(f) => f,
            Err(e) => {
                d.at(e.span().map_or(0, |s| s.start), e.message().to_owned());
                return Err(ConfigErrors(d.errors));
            }
        };
        let (templates, mut template_errors) = Templates::compile(templates_dir, templates);
        let config = validate(&mut d, file, templates).map(|mut c| {
            c.lines = table_lines(src);
            c
        });
        let mut errors = d.errors;
        errors.append(&mut template_errors);
        match config {
            Some(c) if errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors(errors)),
        }
    }

    /// The line (from 1) of a table of `kindling.toml`, as [`Config::lines`] holds them.
    pub fn line(&self, table: &str) -> Option<usize> {
        self.lines.get(table).copied()
    }

    /// The category of a page, from the path of its URL.
    pub fn page_category(&self, url: &str) -> Option<&str> {
        crate::activities::pages::page_category(&self.pages, url)
    }

    /// The form with this id.
    pub fn form(&self, id: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.id == id)
    }

    /// The sequence with this id.
    pub fn sequence(&self, id: &str) -> Option<&Sequence> {
        self.sequences.iter().find(|s| s.id == id)
    }

    /// The sections scoring reads.
    pub fn for_scoring(&self) -> scoring::Sections<'_> {
        scoring::Sections {
            scoring: &self.scoring,
            triggers: &self.triggers,
            stages: &self.stages,
            segments: &self.segments,
            routing: &self.routing,
            follow_up: self.alerts.clock,
            realert_cooldown: self.alerts.realert_cooldown,
            default_zone: self.program.default_zone,
            fingerprint: self.score_print,
        }
    }

    /// Who mails are from and where their links point.
    pub fn mail_origin(&self) -> crate::sending::mail::Origin<'_> {
        crate::sending::mail::Origin {
            program: &self.program,
            sender: &self.sender,
        }
    }

    /// The sections step mail reads.
    pub fn for_sequences(&self) -> crate::sequences::Sections<'_> {
        crate::sequences::Sections {
            program: &self.program,
            sender: &self.sender,
            sequences: &self.sequences,
            sending: &self.sending,
            templates: &self.templates,
        }
    }

    /// The earliest instant at or after `at` when `step` may go out to a lead in `zone`: outside
    /// quiet hours and inside the step's window.
    pub fn send_time(&self, step: &Step, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        self.for_sequences().send_time(step, at, zone)
    }

    /// When `step` of an enrollment made at `enrolled_at` is due, for a lead in `zone`: its
    /// offset (business days under the holiday calendar), then [`Config::send_time`].
    pub fn step_due(&self, step: &Step, enrolled_at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        self.for_sequences().step_due(step, enrolled_at, zone)
    }
}

fn io_error(name: &str, e: &std::io::Error) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        file: name.to_owned(),
        line: 1,
        column: 1,
        message: e.to_string(),
    }])
}

/// Every section's checks, each given the ids it may refer to.
fn validate(d: &mut Diag<'_>, f: raw::File, templates: Templates) -> Option<Config> {
    let (program, sender) = crate::program::validate(d, &f.program, &f.sender);
    let consent_text_version = crate::forms::config::consent_text_version(d, &f.consent);
    let pages = crate::activities::pages::validate(d, &f.pages);
    let categories: HashSet<&str> = pages.iter().map(|p| p.category.as_str()).collect();
    let form_ids: HashSet<&str> = f.forms.iter().map(|x| x.id.get_ref().as_str()).collect();
    let sequence_ids: HashSet<&str> = f
        .sequences
        .iter()
        .map(|x| x.id.get_ref().as_str())
        .collect();
    let scoring = scoring::config::validate(d, &f.scoring, &categories, &form_ids, &sequence_ids);
    let sending = sending::config::validate(
        d,
        &f.sending.quiet_hours,
        &f.sending.cap,
        &f.sending.holidays,
    );
    let mut deliverability = deliverability::config::validate(
        d,
        f.sending.breaker.as_ref(),
        f.sending.soft_bounces.as_ref(),
    );
    (deliverability.topics, deliverability.one_click) =
        deliverability::topics::validate(d, &f.topics, f.unsubscribe.as_ref());
    for s in &f.sequences {
        deliverability::topics::check_reference(
            d,
            &deliverability.topics,
            &s.id,
            s.topic.as_ref(),
            "sequences",
        );
    }
    let (sequences, seq_ids) = crate::sequences::config::validate(
        d,
        &f.sequences,
        &form_ids,
        &templates,
        &program.default_language,
        &sending.quiet_hours,
    );
    let (forms, seen_forms) = crate::forms::config::validate(d, &f.forms, &seq_ids);
    let stages = crate::segments::stages::validate(d, &f.stages, &categories, &seen_forms);
    let stage_ids: HashSet<String> = stages.iter().map(|s| s.id.to_string()).collect();
    for s in &f.sequences {
        if let Some(st) = &s.stage {
            if !stage_ids.contains(st.get_ref()) {
                d.span(
                    st,
                    format!("sequences.stage: {:?} is not a [[stages]] id", st.get_ref()),
                );
            }
        }
    }
    let raw_reps: HashSet<String> = f.reps.iter().map(|r| r.id.get_ref().clone()).collect();
    let segments = crate::segments::config::validate(
        d,
        &f.segments,
        &categories,
        &seen_forms,
        &stage_ids,
        &raw_reps,
    );
    let segment_ids = f.segments.iter().map(|s| s.id.get_ref().clone()).collect();
    let routing = crate::routing::config::validate(
        d,
        &f.reps,
        &f.routing,
        &crate::segments::config::Refs {
            categories: &categories,
            forms: &seen_forms,
            stages: Some(&stage_ids),
            reps: None,
        },
        &segment_ids,
    );
    let rep_ids = routing.reps.iter().map(|r| r.id.clone()).collect();
    let alerts = alerts::config::validate(d, &f.alerts, sending.holidays, &rep_ids);
    let triggers = crate::triggers::config::validate(
        d,
        &f.triggers,
        &categories,
        &seen_forms,
        &seq_ids,
        &segment_ids,
    );
    let broadcasts = crate::broadcasts::config::validate(d, f.broadcasts.as_ref());
    let api = crate::web::limits::validate(d, f.api.as_ref());
    let kpis = crate::kpis::config::validate(d, &f.kpis);
    let digest = crate::kpis::config::validate_digest(d, f.digest.as_ref());
    let crm = crate::crm::config::validate(d, f.crm.as_ref());
    let mut config = Config {
        program,
        sender: sender?,
        consent_text_version,
        scoring,
        pages,
        sending,
        deliverability,
        alerts,
        forms,
        sequences,
        templates,
        triggers,
        segments,
        stages,
        routing,
        broadcasts,
        api,
        kpis,
        lines: Default::default(),
        digest,
        crm,
        score_print: 0,
    };
    config.score_print = scoring::state::fingerprint(&config.for_scoring());
    Some(config)
}

#[cfg(test)]
pub(crate) mod tests;

/// The first line of each table header (`[kpis]`, `[[stages]]` as `stages`) and of the first
/// step A/B test (`ab = {`, as `ab`).
fn table_lines(src: &str) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for (i, line) in src.lines().enumerate() {
        let t = line.trim_start();
        let name = if t.starts_with('[') {
            t.trim_start_matches('[')
                .split(']')
                .next()
                .map(|n| n.trim().to_owned())
        } else if t.contains("ab = {") && !t.starts_with('#') {
            Some("ab".to_owned())
        } else {
            None
        };
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            out.entry(n).or_insert(i + 1);
        }
    }
    out
}
