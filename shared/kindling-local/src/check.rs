//! `kindling check`: validates `config/` and renders every template once with a sample lead,
//! so that mistakes show up as file:line messages before deployment, not at send time.

use chrono::{TimeZone, Utc};
use kindling::config::Config;
use kindling::email::EmailAddress;
use kindling::ids::{EnrollmentId, LeadId};
use kindling::leads::Lead;
use kindling::message::MessageKey;
use kindling::sending::mail::{compose, Addressing};
use kindling::token::SigningKeys;
use std::path::Path;

/// What a built marketing mail lacks of what the law and RFC 8058 require: the sender's name
/// and postal address and a working opt-out link in both parts (特定電子メール法, CAN-SPAM), and
/// the one-click `List-Unsubscribe` headers. Kindling appends these itself, so a template cannot
/// forget them; this is the check that a mail really carries them, made before deployment.
pub fn compliance_problems(raw: &[u8], config: &Config) -> Vec<String> {
    let Some(msg) = mail_parser::MessageParser::default().parse(raw) else {
        return vec!["the built mail does not parse as MIME".into()];
    };
    let mut problems = Vec::new();
    let unsubscribe = format!("{}/u/", config.program.public_url);
    let parts = [
        ("text", msg.body_text(0).map(|b| b.into_owned())),
        ("HTML", msg.body_html(0).map(|b| b.into_owned())),
    ];
    for (part, body) in parts {
        let Some(body) = body else {
            problems.push(format!("the mail has no {part} part"));
            continue;
        };
        for (what, needle) in [
            ("the sender's name", config.sender.from_name.as_str()),
            (
                "the sender's postal address",
                config.sender.postal_address.as_str(),
            ),
            ("an opt-out link", unsubscribe.as_str()),
        ] {
            if !body.contains(needle) {
                problems.push(format!("the {part} part lacks {what}"));
            }
        }
    }
    let header = |name: &str| {
        msg.headers()
            .iter()
            .any(|h| h.name().eq_ignore_ascii_case(name))
    };
    for name in ["List-Unsubscribe", "List-Unsubscribe-Post"] {
        if !header(name) {
            problems.push(format!("the mail lacks the {name} header (RFC 8058)"));
        }
    }
    if !header("List-Id") {
        problems.push("the mail lacks the List-Id header (RFC 2919)".to_owned());
    }
    problems
}

/// Fewest characters of visible text an HTML template should have. A template of a link or a
/// picture and little else, beside the open pixel, is what image spam looks like; filters
/// score it so (SpamAssassin's `HTML_IMAGE_ONLY_*`, BENCHMARKS.md).
pub const MIN_HTML_TEXT_CHARS: usize = 30;
/// Most images of a template's own per this many characters of text before it counts as
/// image-heavy (the open pixel is not counted).
pub const TEXT_CHARS_PER_IMAGE: usize = 200;

/// The visible text of an HTML fragment, roughly: tags and comments removed, entities left.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = match rest[i..].find('>') {
            Some(j) => &rest[i + j + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Warnings about a template's HTML as rendered for the sample lead (before Kindling adds the
/// footer and the pixel): near-empty, or image-heavy. Neither stops a deployment.
pub fn html_warnings(html: &str) -> Vec<String> {
    let chars = visible_text(html).chars().count();
    let images = html.to_ascii_lowercase().matches("<img").count();
    let mut w = Vec::new();
    if chars < MIN_HTML_TEXT_CHARS {
        w.push(format!(
            "the HTML part has {chars} characters of text (under {MIN_HTML_TEXT_CHARS}): beside the open pixel it looks image-only to spam filters"
        ));
    }
    if images > 0 && chars < images * TEXT_CHARS_PER_IMAGE {
        w.push(format!(
            "the HTML part has {images} image(s) and {chars} characters of text: image-heavy mail is filtered and unreadable with images off; write at least {TEXT_CHARS_PER_IMAGE} characters per image"
        ));
    }
    w
}

/// What `kindling check` found.
#[derive(Debug, Default)]
pub struct Report {
    pub config: Option<Config>,
    /// Errors: the configuration must not be deployed.
    pub problems: Vec<String>,
    /// Advice: deployable, but worth a look.
    pub warnings: Vec<String>,
}

/// Every problem and warning found, as `file:line: message` lines.
pub fn check(dir: &Path) -> Report {
    let config = match Config::load(dir) {
        Ok(c) => c,
        Err(e) => {
            return Report {
                problems: e.0.iter().map(ToString::to_string).collect(),
                ..Report::default()
            }
        }
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let keys = SigningKeys::new(vec![("check".into(), vec![0; 32])])
        .unwrap_or_else(|_| unreachable!("a valid fixed key"));
    let at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let Ok(email) = EmailAddress::parse("sample@example.com") else {
        unreachable!("a valid fixed address")
    };
    let mut lead = Lead::new(LeadId::new("sample"), email, at);
    lead.profile.name = Some("Sample".into());
    let key = MessageKey::Step {
        lead_id: lead.id.clone(),
        enrollment_id: EnrollmentId::new("check"),
        step: 0,
    };
    let ctx = serde_json::json!({
        "lead": { "email": "sample@example.com", "name": "Sample" },
        "program": { "name": config.program.name },
        "sender": { "name": config.sender.from_name, "postal_address": config.sender.postal_address, "contact": config.sender.contact },
    });
    for (id, lang) in config.templates.all() {
        let file = dir.join("templates").join(format!("{id}.{lang}.txt"));
        let html_file = dir.join("templates").join(format!("{id}.{lang}.html"));
        let r = match config.templates.render(id, lang, lang, &ctx) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!(
                    "{}:{}: render: {e}",
                    file.display(),
                    e.line().unwrap_or(1)
                ));
                continue;
            }
        };
        for w in html_warnings(&r.html) {
            warnings.push(format!("{}:1: warning: {w}", html_file.display()));
        }
        let to = Addressing {
            lead: &lead,
            key: &key,
            language: lang,
            list: id,
            topic: None,
        };
        match compose(&config.mail_origin(), &keys, &to, &r, at) {
            Err(e) => problems.push(format!("{}:1: {e}", file.display())),
            Ok(mail) => {
                for p in compliance_problems(&mail.raw, &config) {
                    problems.push(format!("{}:1: {p}", file.display()));
                }
            }
        }
    }
    // The scenario sheet's empty cells that matter, at the sequence they are about.
    let toml_file = dir.join("kindling.toml");
    let toml = std::fs::read_to_string(&toml_file).unwrap_or_default();
    for w in kindling::admin::scenario::sheet_warnings(&config) {
        let line = w
            .split('"')
            .nth(1)
            .and_then(|seq| {
                let needle = format!("id = \"{seq}\"");
                toml.lines().position(|l| l.trim() == needle)
            })
            .map_or(1, |i| i + 1);
        warnings.push(format!("{}:{line}: warning: {w}", toml_file.display()));
    }
    Report {
        config: Some(config),
        problems,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_empty_and_image_heavy_html_is_warned_about() {
        assert!(html_warnings(&format!("<p>{}</p>", "あ".repeat(30))).is_empty());
        let empty = html_warnings("<p>Hi <b>there</b></p>");
        assert_eq!(empty.len(), 1);
        assert!(empty[0].contains("8 characters of text"), "{empty:?}");
        let heavy = html_warnings(&format!(
            "<p>{}</p><img src=\"a.png\"><IMG src=\"b.png\">",
            "x".repeat(300)
        ));
        assert_eq!(heavy.len(), 1);
        assert!(
            heavy[0].contains("2 image(s) and 300 characters"),
            "{heavy:?}"
        );
        assert_eq!(
            visible_text("<p>a</p>\n<!-- c --><p>b &amp; c</p>"),
            "a b &amp; c"
        );
    }

    fn config() -> Config {
        Config::load(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_shipped_program_passes_and_every_built_mail_carries_the_compliance_parts() {
        let report =
            check(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn a_mail_without_the_address_the_opt_out_or_the_headers_is_reported() {
        let c = config();
        let raw = format!(
            "From: {} <news@example.jp>\r\nTo: a@example.jp\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello from {}\r\n",
            "Kindling", c.sender.from_name
        );
        let problems = compliance_problems(raw.as_bytes(), &c);
        for want in [
            "the text part lacks the sender's postal address",
            "the text part lacks an opt-out link",
            "the mail lacks the List-Unsubscribe header (RFC 8058)",
            "the mail lacks the List-Unsubscribe-Post header (RFC 8058)",
            "the mail lacks the List-Id header (RFC 2919)",
        ] {
            assert!(problems.iter().any(|p| p == want), "{want}: {problems:?}");
        }
        assert!(
            !problems
                .iter()
                .any(|p| p.contains("text part lacks the sender's name")),
            "{problems:?}"
        );
    }
}
