//! `kindling check`: validates `config/` and renders every template once with a sample lead,
//! so that mistakes show up as file:line messages before deployment, not at send time.

use chrono::{TimeZone, Utc};
use kindling::config::Config;
use kindling::email::EmailAddress;
use kindling::ids::{EnrollmentId, LeadId};
use kindling::lead::Lead;
use kindling::mail::compose;
use kindling::sequence::SendKey;
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
    problems
}

/// Every problem found, as lines; empty when the configuration is good.
pub fn check(dir: &Path) -> (Option<Config>, Vec<String>) {
    let config = match Config::load(dir) {
        Ok(c) => c,
        Err(e) => return (None, e.0.iter().map(ToString::to_string).collect()),
    };
    let mut problems = Vec::new();
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
    let key = SendKey {
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
        match config.templates.render(id, lang, lang, &ctx) {
            Err(e) => problems.push(format!(
                "{}:{}: render: {e}",
                file.display(),
                e.line().unwrap_or(1)
            )),
            Ok(r) => match compose(&config, &keys, &lead, &key, lang, &r, at) {
                Err(e) => problems.push(format!("{}:1: {e}", file.display())),
                Ok(mail) => {
                    for p in compliance_problems(&mail.raw, &config) {
                        problems.push(format!("{}:1: {p}", file.display()));
                    }
                }
            },
        }
    }
    (Some(config), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::load(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_shipped_program_passes_and_every_built_mail_carries_the_compliance_parts() {
        let (_, problems) =
            check(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"));
        assert!(problems.is_empty(), "{problems:?}");
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
