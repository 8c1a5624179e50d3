//! The scenario sheet (シナリオ設計シート): the program as the table marketers plan it in, one row
//! per sequence step (trigger mails are the steps of the sequences triggers enroll in). Columns:
//! what enrolls the lead (a form, a trigger, a segment entry), the buying stage the mails are
//! written for, when the step goes, its subject (each A/B variant), its first line, its links
//! (CTAs), and what comes next (the next step, the exit goals, the alerts). `kindling scenario`
//! prints it as Markdown or CSV; `kindling check` warns about the empty cells that matter.

use crate::config::Config;
use crate::sending::templates::link_targets;
use crate::sequences::config::Sequence;
use crate::triggers::Condition;
use serde::Serialize;

/// One row of the sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetRow {
    /// What enrolls a lead in the sequence: `form whitepaper`, `trigger pricing_interest (3×
    /// page_view (pricing) within 7d)`, `segment X entered (trigger Y)`; `;`-separated.
    pub entry: String,
    /// The stage's id and label, or empty.
    pub stage: String,
    pub sequence: String,
    pub step: u32,
    /// `day 3, 10:00–17:00 business_days`.
    pub timing: String,
    /// The subject of each variant (`A: … / B: …` for an A/B test).
    pub subject: String,
    /// The body's first line after the salutation.
    pub first_line: String,
    /// The links the mail tracks, in order.
    pub cta: Vec<String>,
    /// The next step, the exit goals, alerts sent alongside.
    pub next: String,
}

/// The columns, in order.
pub const COLUMNS: [&str; 9] = [
    "segment or entry",
    "stage",
    "sequence",
    "step",
    "timing",
    "subject",
    "first line",
    "CTA links",
    "next action",
];

impl SheetRow {
    fn cells(&self) -> [String; 9] {
        [
            self.entry.clone(),
            self.stage.clone(),
            self.sequence.clone(),
            self.step.to_string(),
            self.timing.clone(),
            self.subject.clone(),
            self.first_line.clone(),
            self.cta.join(" "),
            self.next.clone(),
        ]
    }
}

/// The sample lead's name: lines naming it are salutations, not content.
const SAMPLE_NAME: &str = "Sample";

/// A sample lead for rendering: a name and an address, nothing else (fallbacks show).
fn sample_context(config: &Config) -> serde_json::Value {
    serde_json::json!({
        "lead": { "email": "sample@example.com", "name": SAMPLE_NAME },
        "program": { "name": config.program.name },
        "sender": { "name": config.sender.from_name, "postal_address": config.sender.postal_address, "contact": config.sender.contact },
    })
}

/// What enrolls a lead in `seq`.
fn entries(config: &Config, seq: &Sequence) -> String {
    let mut out = Vec::new();
    for f in config
        .forms
        .iter()
        .filter(|f| f.sequences.contains(&seq.id))
    {
        out.push(format!("form {}", f.id));
    }
    for t in config
        .triggers
        .iter()
        .filter(|t| t.enroll.as_ref() == Some(&seq.id))
    {
        out.push(match &t.condition {
            Condition::EnteredSegment(s) => {
                let label = config
                    .segments
                    .iter()
                    .find(|x| x.id == *s)
                    .and_then(|x| x.label.as_deref())
                    .map(|l| format!(" {l}"))
                    .unwrap_or_default();
                format!("segment {s}{label} entered (trigger {})", t.id)
            }
            c => format!("trigger {} ({})", t.id, describe(c)),
        });
    }
    out.join("; ")
}

fn describe(c: &Condition) -> String {
    match c {
        Condition::Count {
            matcher,
            at_least,
            within,
        } => format!(
            "{at_least}× {} within {}",
            matcher.describe(),
            crate::triggers::human(*within)
        ),
        Condition::FormAbandoned { form_id, after } => format!(
            "form {form_id} started, not sent within {}",
            crate::triggers::human(*after)
        ),
        Condition::Unopened { mails, after } => format!(
            "last {mails} mails unopened for {}",
            crate::triggers::human(*after)
        ),
        Condition::EnteredSegment(s) => format!("entered segment {s}"),
    }
}

/// The sheet: every sequence's steps, in file order.
pub fn scenario_sheet(config: &Config) -> Vec<SheetRow> {
    let ctx = sample_context(config);
    let lang = &config.program.default_language;
    let mut rows = Vec::new();
    for seq in &config.sequences {
        let entry = entries(config, seq);
        let stage = seq.stage.as_ref().map_or_else(String::new, |id| {
            let label = config
                .stages
                .iter()
                .find(|s| s.id == *id)
                .and_then(|s| s.label.as_deref());
            match label {
                Some(l) => format!("{id} {l}"),
                None => id.to_string(),
            }
        });
        let alerts: Vec<String> = config
            .triggers
            .iter()
            .filter(|t| t.enroll.as_ref() == Some(&seq.id))
            .filter_map(|t| t.alert.map(|a| format!("alerts {} ({})", a.as_str(), t.id)))
            .collect();
        let exits = if seq.exit_when.is_empty() {
            String::new()
        } else {
            let goals: Vec<String> = seq.exit_when.iter().map(|g| g.name()).collect();
            format!("exits when {}", goals.join(", "))
        };
        for (i, step) in seq.steps.iter().enumerate() {
            let variants: Vec<&str> = match &step.ab {
                Some(ab) => ab.variants.iter().map(|v| v.as_str()).collect(),
                None => vec![step.template.as_str()],
            };
            let mut subjects = Vec::new();
            let mut first_line = String::new();
            let mut cta: Vec<String> = Vec::new();
            for (n, v) in variants.iter().enumerate() {
                let Ok(r) = config.templates.render(v, lang, lang, &ctx) else {
                    continue;
                };
                let name = (b'A' + u8::try_from(n % 26).unwrap_or(0)) as char;
                subjects.push(if variants.len() > 1 {
                    format!("{name}: {}", r.subject)
                } else {
                    r.subject.clone()
                });
                if n == 0 {
                    // After the salutation (the line that names the sample lead).
                    first_line = r
                        .text
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty() && !l.contains(SAMPLE_NAME))
                        .unwrap_or("")
                        .to_owned();
                }
                for l in link_targets(&r.text)
                    .into_iter()
                    .chain(link_targets(&r.html))
                {
                    if !cta.contains(&l) {
                        cta.push(l);
                    }
                }
            }
            let mut timing = step.at.to_string();
            if let Some(w) = &step.window {
                timing.push_str(&format!(
                    ", {}–{} {}",
                    w.start.format("%H:%M"),
                    w.end.format("%H:%M"),
                    crate::names::Named::name(w.days)
                ));
            }
            let mut next = vec![match seq.steps.get(i + 1) {
                Some(n) => format!("step {} at {}", i + 1, n.at),
                None => "end".to_owned(),
            }];
            next.extend((!exits.is_empty()).then(|| exits.clone()));
            if i == 0 {
                next.extend(alerts.iter().cloned());
            }
            rows.push(SheetRow {
                entry: entry.clone(),
                stage: stage.clone(),
                sequence: seq.id.to_string(),
                step: u32::try_from(i).unwrap_or(u32::MAX),
                timing,
                subject: subjects.join(" / "),
                first_line: first_line.clone(),
                cta,
                next: next.join("; "),
            });
        }
    }
    rows
}

/// The sheet as a Markdown table.
pub fn to_markdown(rows: &[SheetRow]) -> String {
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "| {} |\n|{}\n",
        COLUMNS.join(" | "),
        "---|".repeat(COLUMNS.len())
    );
    for r in rows {
        let cells: Vec<String> = r.cells().iter().map(|c| esc(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The sheet as CSV (RFC 4180: a field with a comma, quote or line break is quoted, quotes
/// doubled), header first, CRLF line ends, for spreadsheets.
pub fn to_csv(rows: &[SheetRow]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    let line =
        |cells: &[String]| cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",") + "\r\n";
    let mut out = line(&COLUMNS.map(str::to_owned));
    for r in rows {
        out.push_str(&line(&r.cells()));
    }
    out
}

/// What `kindling check` warns about: a step whose mail has no tracked link (nothing to click,
/// so no CTA and no click signal) and a sequence of several steps with no exit goal (it mails
/// every later step whatever the lead does; a one-mail sequence needs none).
pub fn sheet_warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for seq in &config.sequences {
        if seq.exit_when.is_empty() && seq.steps.len() > 1 {
            out.push(format!(
                "sequence {:?} has no exit goal (exit_when): it mails every later step whatever the lead does",
                seq.id.as_str()
            ));
        }
    }
    for r in scenario_sheet(config) {
        if r.cta.is_empty() {
            out.push(format!(
                "sequence {:?} step {}: the mail has no tracked link (link(\"https://...\")): no CTA, and no click to learn from",
                r.sequence, r.step
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_program_is_a_full_sheet() {
        let c = crate::config::tests::shipped();
        let rows = scenario_sheet(&c);
        let steps: usize = c.sequences.iter().map(|s| s.steps.len()).sum();
        assert_eq!(rows.len(), steps);
        let first = &rows[0];
        assert_eq!(first.sequence, "document_followup");
        assert_eq!(first.entry, "form whitepaper");
        assert!(first.stage.starts_with("interest"), "{first:?}");
        assert_eq!(first.timing, "at once");
        assert!(!first.subject.is_empty() && !first.first_line.is_empty());
        assert!(first.next.starts_with("step 1 at day 3"), "{}", first.next);
        let invite = rows
            .iter()
            .find(|r| r.sequence == "consultation_invite")
            .unwrap();
        assert!(
            invite
                .entry
                .contains("trigger pricing_interest (3× page_view (pricing) within 7d)"),
            "{}",
            invite.entry
        );
        assert!(
            invite.next.contains("alerts sales (pricing_interest)"),
            "{}",
            invite.next
        );
        assert!(
            invite.timing.contains("10:00–17:00 business_days"),
            "{}",
            invite.timing
        );
        let ab = rows
            .iter()
            .find(|r| r.sequence == "different_angle")
            .unwrap();
        assert!(
            ab.subject.starts_with("A: ") && ab.subject.contains(" / B: "),
            "{}",
            ab.subject
        );
        assert!(sheet_warnings(&c).is_empty(), "{:?}", sheet_warnings(&c));
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_markdown_escapes_pipes() {
        let row = SheetRow {
            entry: "form a, form b".into(),
            stage: String::new(),
            sequence: "s".into(),
            step: 0,
            timing: "at once".into(),
            subject: "say \"hi\"".into(),
            first_line: "a | b".into(),
            cta: vec!["https://x.jp/a".into(), "https://x.jp/b".into()],
            next: "end".into(),
        };
        let csv = to_csv(std::slice::from_ref(&row));
        let line = csv.lines().nth(1).unwrap();
        assert_eq!(
            line,
            r#""form a, form b",,s,0,at once,"say ""hi""",a | b,https://x.jp/a https://x.jp/b,end"#
        );
        assert!(csv.ends_with("\r\n"));
        let md = to_markdown(&[row]);
        assert!(md.contains(r"a \| b"), "{md}");
        assert_eq!(md.lines().count(), 3);
    }

    #[test]
    fn empty_cells_that_matter_are_warned_about() {
        let mut c = crate::config::tests::shipped();
        c.sequences[0].exit_when.clear();
        let w = sheet_warnings(&c);
        assert!(
            w.iter()
                .any(|w| w.contains("document_followup") && w.contains("no exit goal")),
            "{w:?}"
        );
    }
}
