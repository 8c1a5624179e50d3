//! `[crm]`: what goes to the CRM and how, and which CRMs may write back.
//!
//! ```toml
//! [crm]
//! changes = ["created", "updated", "mql", "hot", "stage", "owner", "segment"]
//! webhook_url = "https://crm-bridge.example.jp/kindling"   # locally; KINDLING_CRM_WEBHOOK_URL overrides
//! recipe = "hubspot"                                       # the API destination's body on AWS
//!
//! [[crm.sources]]
//! id = "salesforce"                                        # POST /hooks/crm/salesforce
//! secret_env = "KINDLING_CRM_SECRET_SALESFORCE"
//! ```

use super::events::Change;
use super::recipes::Recipe;
use super::webhook::Secret;
use crate::diag::{Choice, Diag, S};
use std::collections::{BTreeSet, HashSet};

/// The variable that holds the outbound webhook's signing secret, unless `webhook_secret_env`
/// names another.
pub const DEFAULT_WEBHOOK_SECRET_ENV: &str = "KINDLING_CRM_WEBHOOK_SECRET";

/// The validated section.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The changes that send an upsert.
    pub changes: BTreeSet<Change>,
    /// Where the local runtime posts the signed webhook (`None`: it keeps nothing to send).
    pub webhook_url: Option<String>,
    /// The variable holding the webhook's `whsec_` secret.
    pub webhook_secret_env: String,
    /// The body the API destination sends on AWS.
    pub recipe: Recipe,
    /// The CRMs that may call `POST /hooks/crm/{source}`.
    pub sources: Vec<Source>,
}

/// A CRM that writes back.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name in the path.
    pub id: String,
    /// The variable holding its `whsec_` secret (several, space-separated, while one rotates).
    pub secret_env: String,
    /// The secrets read from `secret_env` by the runtime ([`Settings::read_secrets`]); none: only
    /// an IAM-signed request (AWS) is accepted.
    pub secrets: Vec<Secret>,
}

impl Settings {
    /// Whether an upsert goes out on `change`.
    pub fn syncs(&self, change: Change) -> bool {
        self.changes.contains(&change)
    }

    /// Reads every source's secrets from the environment `var` gives; an unset variable leaves
    /// the source without (it then refuses signed hooks). Returns what could not be parsed.
    pub fn read_secrets(&mut self, var: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let mut problems = Vec::new();
        for s in &mut self.sources {
            let Some(value) = var(&s.secret_env) else {
                continue;
            };
            s.secrets.clear();
            for one in value.split_ascii_whitespace() {
                match Secret::parse(one) {
                    Ok(secret) => s.secrets.push(secret),
                    Err(e) => problems.push(format!("{}: {e}", s.secret_env)),
                }
            }
        }
        problems
    }

    /// The source called `id`.
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }
}

/// Checks `[crm]`.
pub(crate) fn validate(d: &mut Diag<'_>, raw: Option<&raw::Crm>) -> Option<Settings> {
    let raw = raw?;
    let mut changes = BTreeSet::new();
    match &raw.changes {
        None => changes.extend(Change::ALL),
        Some(list) => {
            for c in list {
                if let Some(c) = crate::diag::choice(d, c, "crm.changes") {
                    changes.insert(c);
                }
            }
        }
    }
    let webhook_url = raw.webhook_url.as_ref().and_then(|u| {
        match url::Url::parse(u.get_ref()) {
            Ok(p) if matches!(p.scheme(), "https" | "http") && p.host().is_some() => {
                Some(u.get_ref().clone())
            }
            _ => {
                d.span(u, "crm.webhook_url: an http(s) URL such as https://crm-bridge.example.jp/kindling");
                None
            }
        }
    });
    let recipe = raw
        .recipe
        .as_ref()
        .and_then(|r| crate::diag::choice(d, r, "crm.recipe"))
        .unwrap_or(Recipe::Kindling);
    let env_name = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    if let Some(v) = &raw.webhook_secret_env {
        if !env_name(v.get_ref()) {
            d.span(
                v,
                "crm.webhook_secret_env: an environment variable's name (A-Z, 0-9, _)",
            );
        }
    }
    let mut ids = HashSet::new();
    let mut sources = Vec::new();
    for s in &raw.sources {
        crate::diag::new_id(d, &mut ids, &s.id, "crm.sources", "source");
        let env = s.secret_env.get_ref();
        if env.is_empty()
            || !env
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            d.span(
                &s.secret_env,
                "crm.sources.secret_env: an environment variable's name (A-Z, 0-9, _)",
            );
        }
        sources.push(Source {
            id: s.id.get_ref().clone(),
            secret_env: env.clone(),
            secrets: Vec::new(),
        });
    }
    Some(Settings {
        changes,
        webhook_url,
        webhook_secret_env: raw
            .webhook_secret_env
            .as_ref()
            .map(|v| v.get_ref().clone())
            .unwrap_or_else(|| DEFAULT_WEBHOOK_SECRET_ENV.to_owned()),
        recipe,
        sources,
    })
}

/// The section as written.
pub(crate) mod raw {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Crm {
        pub changes: Option<Vec<S<Choice<Change>>>>,
        pub webhook_url: Option<S<String>>,
        pub webhook_secret_env: Option<S<String>>,
        pub recipe: Option<S<Choice<Recipe>>>,
        #[serde(default)]
        pub sources: Vec<Source>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Source {
        pub id: S<String>,
        pub secret_env: S<String>,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{errors_of, shipped_toml};

    #[test]
    fn bad_crm_settings_are_named_with_their_line() {
        let toml = shipped_toml()
            .replace(
                "recipe = \"kindling\"",
                "recipe = \"pipedrive\"\nwebhook_url = \"ftp://x\"\nwebhook_secret_env = \"my-secret\"",
            )
            .replace("\"owner\", \"segment\"]", "\"owner\", \"won\"]")
            .replace("secret_env = \"KINDLING_CRM_SECRET_SALESFORCE\"", "secret_env = \"lower\"");
        let errors = errors_of(&toml).join("\n");
        for needle in [
            "crm.recipe: \"pipedrive\"",
            "crm.webhook_url",
            "crm.webhook_secret_env",
            "crm.changes: \"won\"",
            "crm.sources.secret_env",
        ] {
            assert!(errors.contains(needle), "{needle} in {errors}");
        }
        assert!(errors_of(&shipped_toml()).is_empty());
    }
}
