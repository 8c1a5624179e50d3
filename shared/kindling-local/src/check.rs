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
            Ok(r) => {
                if let Err(e) = compose(&config, &keys, &lead, &key, lang, &r, at) {
                    problems.push(format!("{}:1: {e}", file.display()));
                }
            }
        }
    }
    (Some(config), problems)
}
