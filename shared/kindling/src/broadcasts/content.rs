//! A broadcast's content: the same template language as step mail (`link()`, the lead's
//! fields, fallbacks), stored with the broadcast so an issue needs no redeploy and an approved
//! broadcast cannot change under its approval.
//!
//! Broadcasts render strictly (minijinja's `SemiStrict`): printing a field the lead does not
//! have is an error, while `lead.name or "ご担当者"` and `lead.name | default(...)` are its
//! fallbacks. So [`lint`] can prove at creation that every variable resolves or falls back for
//! any recipient (it renders for a lead with nothing but an address), and a dry run names each
//! recipient whose mail would not render.

use crate::leads::Lead;
use crate::program::{Program, Sender};
use crate::sending::mail::MailContext;
use crate::sending::templates::{environment, split_rendered, RenderedMail, Templates};
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest content accepted, all parts of all languages (a DynamoDB item holds 400 KB).
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;

/// One language's parts, as written: `Subject: ...`, a blank line and the text body; the HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub txt: String,
    pub html: String,
}

/// The content of a broadcast, by language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// Where it came from, for people: `template newsletter` or `dir news/2026-12`.
    pub source: String,
    pub parts: BTreeMap<String, Part>,
}

impl Content {
    /// A copy of config template `id`, every language.
    pub fn from_template(templates: &Templates, id: &str) -> Result<Content, String> {
        let mut parts = BTreeMap::new();
        for lang in templates.languages(id) {
            if let Some((txt, html)) = templates.sources(id, &lang) {
                parts.insert(lang, Part { txt, html });
            }
        }
        if parts.is_empty() {
            return Err(format!("no template {id:?} in templates/"));
        }
        Ok(Content {
            source: format!("template {id}"),
            parts,
        })
    }

    /// Content from files named `<lang>.txt` and `<lang>.html` (or `<anything>.<lang>.txt`).
    pub fn from_files(source: &str, files: &[(String, String)]) -> Result<Content, String> {
        let mut txt = BTreeMap::new();
        let mut html = BTreeMap::new();
        for (name, body) in files {
            let mut it = name.rsplit('.');
            let (Some(ext), Some(lang)) = (it.next(), it.next()) else {
                continue;
            };
            if lang.is_empty() || !lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!("{name}: name it <lang>.txt or <lang>.html"));
            }
            match ext {
                "txt" => txt.insert(lang.to_owned(), body.clone()),
                "html" => html.insert(lang.to_owned(), body.clone()),
                _ => continue,
            };
        }
        let mut parts = BTreeMap::new();
        for (lang, t) in txt {
            let Some(h) = html.remove(&lang) else {
                return Err(format!("{lang}.txt has no {lang}.html beside it"));
            };
            parts.insert(lang, Part { txt: t, html: h });
        }
        if let Some(lang) = html.keys().next() {
            return Err(format!("{lang}.html has no {lang}.txt beside it"));
        }
        if parts.is_empty() {
            return Err(format!("{source}: no <lang>.txt and <lang>.html files"));
        }
        Ok(Content {
            source: source.to_owned(),
            parts,
        })
    }

    /// Compiles every part (strictly: see the module).
    pub fn compile(&self) -> Result<Compiled, String> {
        let mut env = environment(UndefinedBehavior::SemiStrict);
        for (lang, p) in &self.parts {
            env.add_template_owned(format!("{lang}.txt"), p.txt.clone())
                .map_err(|e| format!("{lang}.txt: {e}"))?;
            env.add_template_owned(format!("{lang}.html"), p.html.clone())
                .map_err(|e| format!("{lang}.html: {e}"))?;
        }
        Ok(Compiled {
            env,
            languages: self.parts.keys().cloned().collect(),
        })
    }

    /// Bytes of every part.
    pub fn size(&self) -> usize {
        self.parts
            .values()
            .map(|p| p.txt.len() + p.html.len())
            .sum()
    }
}

/// Compiled content, ready to render for each recipient.
pub struct Compiled {
    env: Environment<'static>,
    languages: Vec<String>,
}

impl Compiled {
    /// The language a lead gets: its own if written, else the program's default.
    pub fn language<'a>(&'a self, lead: &'a Lead, default: &'a str) -> &'a str {
        match lead.profile.language.as_deref() {
            Some(l) if self.languages.iter().any(|x| x == l) => l,
            _ => default,
        }
    }

    /// Renders the mail for one lead in `lang`.
    pub fn render(&self, lang: &str, ctx: &MailContext<'_>) -> Result<RenderedMail, String> {
        let ctx = minijinja::Value::from_serialize(ctx);
        let txt = self
            .env
            .get_template(&format!("{lang}.txt"))
            .and_then(|t| t.render(&ctx))
            .map_err(describe)?;
        let html = self
            .env
            .get_template(&format!("{lang}.html"))
            .and_then(|t| t.render(&ctx))
            .map_err(describe)?;
        split_rendered(&txt, html).map_err(describe)
    }
}

/// A render error as one line: what and where.
fn describe(e: minijinja::Error) -> String {
    let mut s = e.to_string();
    if let (Some(name), Some(line)) = (e.name(), e.line()) {
        s = format!("{name}:{line}: {}", e.detail().unwrap_or(&s));
    }
    s
}

/// What [`lint`] found: errors refuse the content, warnings are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lint {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Lints content as strictly as `kindling check` lints config: it must compile; it must be
/// written in the program's default language (the fallback of every other); rendered for a
/// lead with nothing but an address, every language must render (every variable resolves or
/// falls back), start with a subject and carry no untracked link (every `href` to the web goes
/// through `link()`, so clicks count and the redirect is signed). Kindling adds the footer
/// (sender, postal address, opt-out link), the pixel, `List-Id` and the RFC 8058 headers
/// itself, so content cannot leave them out.
pub fn lint(content: &Content, program: &Program, sender: &Sender) -> Lint {
    let mut out = Lint::default();
    if content.size() > MAX_CONTENT_BYTES {
        out.errors.push(format!(
            "content is {} bytes; at most {MAX_CONTENT_BYTES}",
            content.size()
        ));
    }
    if !content.parts.contains_key(&program.default_language) {
        out.errors.push(format!(
            "no {lang}.txt/{lang}.html: the program's default language is the fallback of every lead",
            lang = program.default_language
        ));
    }
    let compiled = match content.compile() {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(format!("template syntax: {e}"));
            return out;
        }
    };
    let bare = Lead::new(
        crate::ids::LeadId::new("lint"),
        crate::email::EmailAddress::parse("lint@example.com").expect("a valid address"),
        chrono::DateTime::UNIX_EPOCH,
    );
    let ctx = MailContext::new(program, sender, &bare);
    for (lang, part) in &content.parts {
        if !part.txt.starts_with("Subject:") {
            out.errors.push(format!(
                "{lang}.txt: starts with a line \"Subject: ...\", then a blank line, then the body"
            ));
        }
        let untracked = |out: &mut Lint, url: String| {
            out.errors.push(format!(
                "{lang}: link {url:?} is not tracked; write {{{{ link(\"{url}\") }}}}"
            ))
        };
        match compiled.render(lang, &ctx) {
            Err(e) => {
                out.errors.push(format!(
                    "{lang}: does not render for a lead with only an address (give each field a fallback, like lead.name or \"...\"): {e}"
                ));
                // What cannot be rendered is still read as written, so every problem is named
                // at once: a literal href is untracked whatever the fields hold.
                if let Some(url) = untracked_link(&part.html) {
                    untracked(&mut out, url);
                }
            }
            Ok(r) => {
                for part in [&r.text, &r.html] {
                    if let Some(url) = untracked_link(part) {
                        untracked(&mut out, url);
                    }
                }
                if crate::sending::templates::link_targets(&r.html).is_empty() {
                    out.warnings
                        .push(format!("{lang}: no tracked link; clicks cannot be counted"));
                }
            }
        }
    }
    out
}

/// The first `href="http..."` in a rendered part that `link()` did not make.
fn untracked_link(rendered: &str) -> Option<String> {
    let lower = rendered.to_ascii_lowercase();
    for quote in ['"', '\''] {
        let needle = format!("href={quote}http");
        if let Some(i) = lower.find(&needle) {
            let start = i + "href=".len() + 1;
            let end = rendered[start..]
                .find(quote)
                .map_or(rendered.len(), |e| start + e);
            return Some(rendered[start..end].to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(txt: &str, html: &str) -> Vec<(String, String)> {
        vec![
            ("ja.txt".into(), txt.into()),
            ("ja.html".into(), html.into()),
        ]
    }

    fn config() -> crate::Config {
        crate::config::tests::shipped()
    }

    #[test]
    fn every_problem_is_named_at_once_even_when_the_content_does_not_render() {
        let c = config();
        let content = Content::from_files(
            "dir x",
            &files(
                "Subject: {{ lead.name }}\n\nHello",
                "<p><a href=\"https://example.com/\">x</a></p>",
            ),
        )
        .unwrap();
        let l = lint(&content, &c.program, &c.sender);
        assert_eq!(l.errors.len(), 2, "{:?}", l.errors);
        assert!(l.errors[0].contains("does not render"), "{:?}", l.errors);
        assert!(
            l.errors[1].contains("\"https://example.com/\" is not tracked"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn a_field_without_fallback_is_refused_and_a_fallback_passes() {
        let c = config();
        let bad = Content::from_files(
            "t",
            &files(
                "Subject: hi\n\n{{ lead.company }} 様\n{{ link(\"https://example.jp/a\") }}\n",
                "<p>{{ link(\"https://example.jp/a\") }}</p>",
            ),
        )
        .unwrap();
        let l = lint(&bad, &c.program, &c.sender);
        assert_eq!(l.errors.len(), 1, "{l:?}");
        assert!(l.errors[0].contains("fallback"), "{l:?}");
        let good = Content::from_files(
            "t",
            &files(
                "Subject: hi\n\n{{ lead.company or \"貴社\" }} 様\n",
                "<p><a href=\"{{ link(\"https://example.jp/a\") }}\">a</a></p>",
            ),
        )
        .unwrap();
        assert_eq!(lint(&good, &c.program, &c.sender), Lint::default());
    }

    #[test]
    fn untracked_links_missing_subject_default_language_and_syntax_are_errors() {
        let c = config();
        let raw = Content::from_files(
            "t",
            &files(
                "no subject\n\nbody",
                "<a href=\"https://example.jp/x\">x</a>",
            ),
        )
        .unwrap();
        let l = lint(&raw, &c.program, &c.sender);
        assert!(l.errors.iter().any(|e| e.contains("Subject")), "{l:?}");
        assert!(l.errors.iter().any(|e| e.contains("not tracked")), "{l:?}");
        let en = Content::from_files(
            "t",
            &[
                ("en.txt".into(), "Subject: x\n\n{% if %}".into()),
                ("en.html".into(), "<p>x</p>".into()),
            ],
        )
        .unwrap();
        let l = lint(&en, &c.program, &c.sender);
        assert!(l.errors.iter().any(|e| e.contains("default language")));
        assert!(l.errors.iter().any(|e| e.contains("syntax")), "{l:?}");
    }

    #[test]
    fn files_pair_up_by_language() {
        assert!(Content::from_files("t", &[("ja.txt".into(), "x".into())]).is_err());
        assert!(Content::from_files("t", &[("ja.html".into(), "x".into())]).is_err());
        let c = Content::from_files(
            "t",
            &[
                ("news.ja.txt".into(), "a".into()),
                ("news.ja.html".into(), "b".into()),
                ("README".into(), "ignored".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.parts.keys().collect::<Vec<_>>(), ["ja"]);
    }
}
