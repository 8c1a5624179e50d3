//! The nurture program: `config/kindling.toml` plus `config/templates/`, parsed once at start
//! into typed, validated values. Every problem is reported with file:line, all at once.

mod raw;

use crate::sending::templates::Templates;

use crate::activities::ActivityKind;
use crate::email::EmailAddress;
use crate::events::Audience;
use crate::names::Named;
use crate::scoring::{FitRule, FitTest, Mql, Repeat, Rule, Thresholds};
use crate::sending::ab::AbTest;
use crate::sending::calendar::Holidays;
use crate::sending::schedule::{FrequencyCap, Offset, QuietHours, SendWindow, WindowDays};
use crate::triggers::{Condition, Matcher, Trigger};
use chrono::NaiveTime;
use chrono_tz::Tz;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// The validated program.
#[derive(Debug, Clone)]
pub struct Config {
    pub program: Program,
    pub sender: Sender,
    /// Version of the consent wording that forms show; stored with each consent record.
    pub consent_text_version: String,
    pub thresholds: Thresholds,
    pub rules: Vec<Rule>,
    /// Fit rules over lead fields (industry, title, company size, email domain).
    pub fit_rules: Vec<FitRule>,
    pub pages: Vec<PageCategory>,
    pub quiet_hours: QuietHours,
    pub cap: FrequencyCap,
    /// Public holidays that are not business days (business-day offsets and windows).
    pub holidays: Holidays,
    /// How long sales has to follow up a hot lead before it is escalated.
    pub follow_up: chrono::Duration,
    pub forms: Vec<Form>,
    pub sequences: Vec<Sequence>,
    pub templates: Templates,
    /// Behavioural triggers, in file order.
    pub triggers: Vec<Trigger>,
    /// What makes a lead marketing-qualified.
    pub mql: Mql,
    /// A lead that turns hot again within this long of its last alert does not alert again.
    pub realert_cooldown: chrono::Duration,
    /// When step mails pause for bounces or complaints.
    pub breaker: crate::deliverability::Breaker,
    /// When repeated soft bounces suppress an address.
    pub soft_bounces: crate::deliverability::SoftBounces,
}

/// Program-wide settings.
#[derive(Debug, Clone)]
pub struct Program {
    pub name: String,
    /// Base of every tracking, click and unsubscribe URL, without a trailing slash.
    pub public_url: String,
    pub default_zone: Tz,
    pub default_language: String,
    /// kindling.js stays silent under Global Privacy Control or Do Not Track.
    pub respect_gpc: bool,
    /// The namespace of every mail's `List-Id` (RFC 2919): `kindling.<sender's domain>` unless
    /// set. Each sequence is a list in it (`document-followup.kindling.example.jp`).
    pub list_id: String,
}

/// Who mails are from; every mail's footer carries this (anti-spam law in Japan and CAN-SPAM).
#[derive(Debug, Clone)]
pub struct Sender {
    pub from_name: String,
    pub from_address: EmailAddress,
    pub reply_to: Option<EmailAddress>,
    pub postal_address: String,
    pub contact: String,
    pub unsubscribe_mailto: EmailAddress,
}

/// URL path patterns that put a page view in a category (`/pricing`, `/cases/*`).
#[derive(Debug, Clone)]
pub struct PageCategory {
    pub category: String,
    pub paths: Vec<String>,
}

impl PageCategory {
    fn matches(&self, path: &str) -> bool {
        self.paths.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p || path.strip_suffix('/') == Some(p.as_str()),
        })
    }
}

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
    pub id: String,
    pub activity: ActivityKind,
    pub thank_you_url: String,
    pub consent: ConsentPolicy,
    pub sequences: Vec<String>,
}

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
    pub id: String,
    pub exit_when: Vec<ExitGoal>,
    pub steps: Vec<Step>,
    /// When steps of two sequences are due for one lead at once, the higher priority is sent
    /// first and the other waits (for the frequency cap, if that is now full).
    pub priority: i32,
    pub reentry: Reentry,
}

/// One mail of a sequence, due `at` after enrollment, sent within its `window` if it has one.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: Offset,
    /// The step's mail; with an A/B test, its first variant.
    pub template: String,
    pub window: Option<SendWindow>,
    pub ab: Option<AbTest>,
}

/// The least A/B sample per variant: below it the z-test's normal approximation is unsound.
pub const MIN_AB_SAMPLE: u64 = 30;

/// One problem in the configuration, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Line and column (1-based, in characters) of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let mut end = offset;
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let before = &src[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Collects located errors while validating one file.
pub(crate) struct Diag<'a> {
    file: &'a str,
    src: &'a str,
    pub(crate) errors: Vec<ConfigError>,
}

impl<'a> Diag<'a> {
    pub(crate) fn new(file: &'a str, src: &'a str) -> Self {
        Self {
            file,
            src,
            errors: Vec::new(),
        }
    }

    pub(crate) fn at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, column) = line_col(self.src, offset);
        self.errors.push(ConfigError {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        });
    }

    fn span<T>(&mut self, v: &Spanned<T>, message: impl Into<String>) {
        self.at(v.span().start, message);
    }
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
        let config = validate(&mut d, file, templates);
        let mut errors = d.errors;
        errors.append(&mut template_errors);
        match config {
            Some(c) if errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors(errors)),
        }
    }

    /// The category of a page, from the path of its URL.
    pub fn page_category(&self, url: &str) -> Option<&str> {
        let path = url::Url::parse(url)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| url.to_owned());
        self.pages
            .iter()
            .find(|p| p.matches(&path))
            .map(|p| p.category.as_str())
    }

    /// The form with this id.
    pub fn form(&self, id: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.id == id)
    }

    /// The sequence with this id.
    pub fn sequence(&self, id: &str) -> Option<&Sequence> {
        self.sequences.iter().find(|s| s.id == id)
    }

    /// The earliest instant at or after `at` when `step` may go out to a lead in `zone`: outside
    /// quiet hours and inside the step's window.
    pub fn send_time(
        &self,
        step: &Step,
        at: chrono::DateTime<chrono::Utc>,
        zone: Tz,
    ) -> chrono::DateTime<chrono::Utc> {
        crate::sending::schedule::next_send_time(
            at,
            zone,
            &self.quiet_hours,
            step.window.as_ref(),
            self.holidays,
        )
    }

    /// When `step` of an enrollment made at `enrolled_at` is due, for a lead in `zone`: its
    /// offset (business days under the holiday calendar), then [`Config::send_time`].
    pub fn step_due(
        &self,
        step: &Step,
        enrolled_at: chrono::DateTime<chrono::Utc>,
        zone: Tz,
    ) -> chrono::DateTime<chrono::Utc> {
        self.send_time(step, step.at.due_at(enrolled_at, zone, self.holidays), zone)
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

/// The variant a value names, or an error at its span saying what it may be.
fn choice<T: Named>(d: &mut Diag<'_>, v: &Spanned<raw::Choice<T>>, key: &str) -> Option<T> {
    match &v.get_ref().0 {
        Ok(t) => Some(*t),
        Err(name) => {
            d.span(
                v,
                format!("{key}: {name:?} is not one of {}", T::expected()),
            );
            None
        }
    }
}

fn non_empty(d: &mut Diag<'_>, v: &Spanned<String>, key: &str) -> String {
    if v.get_ref().trim().is_empty() {
        d.span(v, format!("{key} must not be empty"));
    }
    v.get_ref().trim().to_owned()
}

fn email(d: &mut Diag<'_>, v: &Spanned<String>, key: &str) -> Option<EmailAddress> {
    EmailAddress::parse(v.get_ref())
        .map_err(|_| {
            d.span(
                v,
                format!("{key}: {:?} is not a valid email address", v.get_ref()),
            )
        })
        .ok()
}

fn time_of_day(d: &mut Diag<'_>, offset: usize, v: &str, key: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(v, "%H:%M")
        .map_err(|_| d.at(offset, format!("{key}: {v:?} is not a time like \"22:00\"")))
        .ok()
}

/// Checks a base URL for links in mails: https, or http on a loopback host (a laptop). RFC 8058
/// one-click unsubscribe needs https; mail clients refuse a plain-http unsubscribe URL.
pub fn check_public_url(url: &str) -> std::result::Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "{url:?} must be https (RFC 8058 one-click unsubscribe needs it; http only on a loopback host)"
        )),
    }
}

fn validate(d: &mut Diag<'_>, f: raw::File, templates: Templates) -> Option<Config> {
    let public_url = non_empty(d, &f.program.public_url, "program.public_url");
    if let Err(why) = check_public_url(&public_url) {
        d.span(&f.program.public_url, format!("program.public_url: {why}"));
    }
    let default_zone = f
        .program
        .default_time_zone
        .get_ref()
        .parse::<Tz>()
        .map_err(|_| {
            d.span(
                &f.program.default_time_zone,
                format!(
                    "program.default_time_zone: unknown time zone {:?}",
                    f.program.default_time_zone.get_ref()
                ),
            )
        })
        .ok();
    let default_language = non_empty(d, &f.program.default_language, "program.default_language");
    let from_address = email(d, &f.sender.from_address, "sender.from_address");
    let list_id = match &f.program.list_id {
        Some(v) => {
            if !crate::sending::mail::is_list_namespace(v.get_ref()) {
                d.span(
                    v,
                    format!(
                        "program.list_id: {:?} is not a lower-case domain such as \"news.example.jp\" (RFC 2919)",
                        v.get_ref()
                    ),
                );
            }
            v.get_ref().clone()
        }
        None => format!(
            "kindling.{}",
            from_address
                .as_ref()
                .map(|a| a.domain())
                .unwrap_or("invalid")
        ),
    };
    let program = Program {
        name: non_empty(d, &f.program.name, "program.name"),
        public_url: public_url.trim_end_matches('/').to_owned(),
        default_zone: default_zone.unwrap_or(Tz::UTC),
        default_language: default_language.clone(),
        respect_gpc: f.program.respect_gpc,
        list_id,
    };

    let reply_to = f
        .sender
        .reply_to
        .as_ref()
        .and_then(|r| email(d, r, "sender.reply_to"));
    let unsubscribe_mailto = email(d, &f.sender.unsubscribe_mailto, "sender.unsubscribe_mailto");
    let from_name = non_empty(d, &f.sender.from_name, "sender.from_name");
    let postal_address = non_empty(d, &f.sender.postal_address, "sender.postal_address");
    let contact = non_empty(d, &f.sender.contact, "sender.contact");
    let consent_text_version = non_empty(d, &f.consent.text_version, "consent.text_version");

    let (hot, warm) = (*f.scoring.hot.get_ref(), *f.scoring.warm.get_ref());
    if warm >= hot {
        d.span(
            &f.scoring.warm,
            format!("scoring.warm ({warm}) must be below scoring.hot ({hot})"),
        );
    }

    let pages: Vec<PageCategory> = f
        .pages
        .iter()
        .map(|p| {
            for path in &p.paths {
                if !path.get_ref().starts_with('/') {
                    d.span(
                        path,
                        format!("pages.paths: {:?} must start with '/'", path.get_ref()),
                    );
                }
            }
            PageCategory {
                category: non_empty(d, &p.category, "pages.category"),
                paths: p.paths.iter().map(|s| s.get_ref().clone()).collect(),
            }
        })
        .collect();
    let categories: HashSet<&str> = pages.iter().map(|p| p.category.as_str()).collect();

    let form_ids: HashSet<&str> = f.forms.iter().map(|x| x.id.get_ref().as_str()).collect();
    let sequence_ids: HashSet<&str> = f
        .sequences
        .iter()
        .map(|x| x.id.get_ref().as_str())
        .collect();
    let mut rule_ids = HashSet::new();
    let mut rules = Vec::new();
    for r in &f.scoring.rules {
        if !rule_ids.insert(r.id.get_ref().clone()) {
            d.span(
                &r.id,
                format!("scoring.rules: duplicate rule id {:?}", r.id.get_ref()),
            );
        }
        let kind = choice(d, &r.kind, "scoring.rules.kind").ok_or(());
        if let Some(c) = &r.page_category {
            if !categories.contains(c.get_ref().as_str()) {
                d.span(
                    c,
                    format!(
                        "scoring.rules.page_category: no [[pages]] entry has category {:?}",
                        c.get_ref()
                    ),
                );
            }
        }
        if let Some(fm) = &r.form {
            if !form_ids.contains(fm.get_ref().as_str()) {
                d.span(
                    fm,
                    format!("scoring.rules.form: unknown form {:?}", fm.get_ref()),
                );
            }
        }
        let repeat = match &r.repeat {
            None => Repeat::Every,
            Some(v) => choice(d, v, "scoring.rules.repeat").unwrap_or_default(),
        };
        if let Some(u) = &r.url {
            if !u.get_ref().starts_with('/') {
                d.span(
                    u,
                    "scoring.rules.url: a path such as \"/pricing\" or \"/docs/*\"".to_owned(),
                );
            }
        }
        if let Some(sq) = &r.sequence {
            if !sequence_ids.contains(sq.get_ref().as_str()) {
                d.span(
                    sq,
                    format!(
                        "scoring.rules.sequence: unknown sequence {:?}",
                        sq.get_ref()
                    ),
                );
            }
        }
        for (limit, key) in [
            (&r.max_per_day, "max_per_day"),
            (&r.max_per_week, "max_per_week"),
            (&r.half_life_days, "half_life_days"),
        ] {
            if let Some(v) = limit {
                if *v.get_ref() == 0 {
                    d.span(v, format!("scoring.rules.{key}: must be at least 1"));
                }
            }
        }
        if let Some(m) = &r.max_points {
            if *m.get_ref() == 0 || m.get_ref().signum() != r.points.signum() {
                d.span(
                    m,
                    "scoring.rules.max_points: a cap with the sign of points, not 0".to_owned(),
                );
            }
        }
        if let Ok(kind) = kind {
            rules.push(Rule {
                id: r.id.get_ref().clone(),
                kind,
                page_category: r.page_category.as_ref().map(|s| s.get_ref().clone()),
                form_id: r.form.as_ref().map(|s| s.get_ref().clone()),
                url: r.url.as_ref().map(|s| s.get_ref().clone()),
                sequence_id: r.sequence.as_ref().map(|s| s.get_ref().clone()),
                step: r.step,
                points: r.points,
                repeat,
                max_per_day: r.max_per_day.as_ref().map(|v| *v.get_ref()),
                max_per_week: r.max_per_week.as_ref().map(|v| *v.get_ref()),
                max_points: r.max_points.as_ref().map(|v| *v.get_ref()),
                half_life_days: r.half_life_days.as_ref().map(|v| *v.get_ref()),
            });
        }
    }

    let mut fit_rules = Vec::new();
    for r in &f.scoring.fit {
        if !rule_ids.insert(r.id.get_ref().clone()) {
            d.span(
                &r.id,
                format!("scoring.fit: duplicate rule id {:?}", r.id.get_ref()),
            );
        }
        let field = choice(d, &r.field, "scoring.fit.field");
        let test = match (&r.any_of, &r.contains_any, &r.between) {
            (Some(v), None, None) if !v.is_empty() => Some(FitTest::AnyOf(v.clone())),
            (None, Some(v), None) if !v.is_empty() => Some(FitTest::ContainsAny(v.clone())),
            (None, None, Some(b)) if b.get_ref()[0] <= b.get_ref()[1] => {
                Some(FitTest::Between(b.get_ref()[0], b.get_ref()[1]))
            }
            _ => {
                d.span(
                    &r.id,
                    "scoring.fit: give exactly one of any_of, contains_any (non-empty) or between = [low, high]".to_owned(),
                );
                None
            }
        };
        if let (Some(field), Some(test)) = (field, test) {
            fit_rules.push(FitRule {
                id: r.id.get_ref().clone(),
                field,
                test,
                points: r.points,
            });
        }
    }

    let qh = f.sending.quiet_hours.get_ref();
    let qh_at = f.sending.quiet_hours.span().start;
    let quiet_hours = match (
        time_of_day(d, qh_at, &qh.start, "sending.quiet_hours.start"),
        time_of_day(d, qh_at, &qh.end, "sending.quiet_hours.end"),
    ) {
        (Some(start), Some(end)) => QuietHours { start, end },
        _ => QuietHours::NONE,
    };
    let cap_raw = f.sending.cap.get_ref();
    if cap_raw.max == 0 || cap_raw.window_hours == 0 {
        d.span(
            &f.sending.cap,
            "sending.cap: max and window_hours must be at least 1",
        );
    }
    let cap = FrequencyCap {
        max: cap_raw.max.max(1),
        window: chrono::Duration::hours(i64::from(cap_raw.window_hours.max(1))),
    };
    let holidays = match &f.sending.holidays {
        None => Holidays::None,
        Some(h) => choice(d, h, "sending.holidays").unwrap_or_default(),
    };

    let breaker = breaker(d, f.sending.breaker.as_ref());
    let soft_bounces = soft_bounces(d, f.sending.soft_bounces.as_ref());

    let mut sequences = Vec::new();
    let mut seq_ids = HashSet::new();
    for s in &f.sequences {
        if !seq_ids.insert(s.id.get_ref().clone()) {
            d.span(
                &s.id,
                format!("sequences: duplicate sequence id {:?}", s.id.get_ref()),
            );
        }
        if !crate::ids::is_valid_id(s.id.get_ref()) {
            d.span(&s.id, "sequences.id: use letters, digits, '-' and '_' only");
        }
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
            if !templates.has(st.template.get_ref(), &default_language) {
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
                let mut variants = vec![st.template.get_ref().clone()];
                for v in &r.with {
                    if variants.contains(v) {
                        d.span(a, format!("sequences.steps.ab.with: {v:?} is already a variant"));
                        ok = false;
                    } else if !templates.has(v, &default_language) {
                        d.span(a, format!("sequences.steps.ab.with: no template {v:?} in language {default_language:?}"));
                        ok = false;
                    }
                    variants.push(v.clone());
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
                template: st.template.get_ref().clone(),
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
            id: s.id.get_ref().clone(),
            exit_when,
            steps,
            priority: s.priority,
            reentry,
        });
    }

    let mut forms = Vec::new();
    let mut seen_forms = HashSet::new();
    for fm in &f.forms {
        if !seen_forms.insert(fm.id.get_ref().clone()) {
            d.span(
                &fm.id,
                format!("forms: duplicate form id {:?}", fm.id.get_ref()),
            );
        }
        if !crate::ids::is_valid_id(fm.id.get_ref()) {
            d.span(&fm.id, "forms.id: use letters, digits, '-' and '_' only");
        }
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
            id: fm.id.get_ref().clone(),
            activity: activity.unwrap_or(ActivityKind::FormSubmitted),
            thank_you_url: non_empty(d, &fm.thank_you_url, "forms.thank_you_url"),
            consent,
            sequences: fm.sequences.iter().map(|s| s.get_ref().clone()).collect(),
        });
    }

    let mql = match &f.scoring.mql {
        None => Mql {
            min_total: hot,
            min_fit: None,
            min_engagement: None,
        },
        Some(m) => {
            let r = m.get_ref();
            if r.min_total.is_none() && r.min_fit.is_none() && r.min_engagement.is_none() {
                d.span(
                    m,
                    "scoring.mql: give at least one of min_total, min_fit, min_engagement",
                );
            }
            Mql {
                min_total: r.min_total.unwrap_or(i64::MIN),
                min_fit: r.min_fit,
                min_engagement: r.min_engagement,
            }
        }
    };
    let realert_cooldown = match &f.alerts.realert_cooldown {
        None => chrono::Duration::days(7),
        Some(v) => duration(d, v, "alerts.realert_cooldown").unwrap_or_default(),
    };
    let triggers = triggers(d, &f.triggers, &categories, &seen_forms, &seq_ids);

    let sender = Sender {
        from_name,
        from_address: from_address?,
        reply_to,
        postal_address,
        contact,
        unsubscribe_mailto: unsubscribe_mailto?,
    };
    default_zone?;
    Some(Config {
        program,
        sender,
        consent_text_version,
        thresholds: Thresholds { hot, warm },
        rules,
        fit_rules,
        pages,
        quiet_hours,
        cap,
        holidays,
        follow_up: chrono::Duration::hours(i64::from(f.alerts.follow_up_hours)),
        forms,
        sequences,
        templates,
        triggers,
        mql,
        realert_cooldown,
        breaker,
        soft_bounces,
    })
}

/// `[sending.breaker]`: each field defaults; rates below where SES reviews accounts.
fn breaker(
    d: &mut Diag<'_>,
    raw: Option<&Spanned<raw::Breaker>>,
) -> crate::deliverability::Breaker {
    use crate::deliverability::{
        percent as pct, Breaker, MAX_WINDOW_DAYS, SES_REVIEW_BOUNCE_RATE, SES_REVIEW_COMPLAINT_RATE,
    };
    let mut b = Breaker::default();
    let Some(raw) = raw else { return b };
    let r = raw.get_ref();
    let mut rate = |v: &Option<Spanned<String>>, key: &str, review: f64, into: &mut f64| {
        let Some(v) = v else { return };
        match parse_percent(v.get_ref()) {
            Some(x) if x > 0.0 && x < review => *into = x,
            Some(_) => d.span(
                v,
                format!(
                    "sending.breaker.{key}: above 0 and below {} (where SES reviews the account)",
                    pct(review)
                ),
            ),
            None => d.span(
                v,
                format!("sending.breaker.{key}: a percentage like \"2%\""),
            ),
        }
    };
    rate(
        &r.bounce_rate,
        "bounce_rate",
        SES_REVIEW_BOUNCE_RATE,
        &mut b.bounce_rate,
    );
    rate(
        &r.complaint_rate,
        "complaint_rate",
        SES_REVIEW_COMPLAINT_RATE,
        &mut b.complaint_rate,
    );
    if let Some(w) = &r.window {
        if let Some(window) = duration(d, w, "sending.breaker.window") {
            if window < chrono::Duration::hours(1)
                || window > chrono::Duration::days(MAX_WINDOW_DAYS)
            {
                d.span(
                    w,
                    format!("sending.breaker.window: from 1h to {MAX_WINDOW_DAYS}d"),
                );
            } else {
                b.window = window;
            }
        }
    }
    if let Some(m) = &r.min_sends {
        if *m.get_ref() < 100 {
            d.span(
                m,
                "sending.breaker.min_sends: at least 100 (fewer sends say nothing about a rate)",
            );
        } else {
            b.min_sends = *m.get_ref();
        }
    }
    b
}

/// `[sending.soft_bounces]`: each field defaults.
fn soft_bounces(
    d: &mut Diag<'_>,
    raw: Option<&Spanned<raw::SoftBounces>>,
) -> crate::deliverability::SoftBounces {
    use crate::deliverability::{SoftBounces, MAX_SOFT_BOUNCE_COUNT, MAX_WINDOW_DAYS};
    let mut b = SoftBounces::default();
    let Some(raw) = raw else { return b };
    let r = raw.get_ref();
    if let Some(c) = &r.count {
        let n = *c.get_ref();
        if (2..=MAX_SOFT_BOUNCE_COUNT).contains(&n) {
            b.count = n;
        } else {
            d.span(
                c,
                format!("sending.soft_bounces.count: from 2 to {MAX_SOFT_BOUNCE_COUNT} (one soft bounce is a full mailbox for a day, not a dead address)"),
            );
        }
    }
    if let Some(w) = &r.within {
        if let Some(within) = duration(d, w, "sending.soft_bounces.within") {
            if within < chrono::Duration::days(1)
                || within > chrono::Duration::days(MAX_WINDOW_DAYS)
            {
                d.span(
                    w,
                    format!("sending.soft_bounces.within: from 1d to {MAX_WINDOW_DAYS}d"),
                );
            } else {
                b.within = within;
            }
        }
    }
    b
}

/// `"2%"`, `"0.08 %"` → 0.02, 0.0008.
fn parse_percent(s: &str) -> Option<f64> {
    let n: f64 = s.trim().strip_suffix('%')?.trim().parse().ok()?;
    n.is_finite().then_some(n / 100.0)
}

/// A length like `30m`, `12h` or `7d`.
fn duration(d: &mut Diag<'_>, v: &Spanned<String>, key: &str) -> Option<chrono::Duration> {
    Offset::parse(v.get_ref())
        .map(|o| o.approx())
        .map_err(|m| d.span(v, format!("{key}: {m}")))
        .ok()
}

fn triggers(
    d: &mut Diag<'_>,
    raw: &[raw::Trigger],
    categories: &HashSet<&str>,
    forms: &HashSet<String>,
    sequences: &HashSet<String>,
) -> Vec<Trigger> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for t in raw {
        let id = t.id.get_ref();
        if !ids.insert(id.clone()) {
            d.span(&t.id, format!("triggers: duplicate trigger id {id:?}"));
        }
        if !crate::ids::is_valid_id(id) {
            d.span(&t.id, "triggers.id: use letters, digits, '-' and '_' only");
        }
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
                            form_id: w.form.clone(),
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
                bad(d, "give exactly one of kind (with count/within), form_abandoned or unopened_mails".into());
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
                id: id.clone(),
                condition,
                enroll: t.enroll.as_ref().map(|s| s.get_ref().clone()),
                alert,
                cooldown,
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
