//! Mail templates: `templates/<id>.<lang>.txt` (first line `Subject: ...`, a blank line, then the
//! text body) and `templates/<id>.<lang>.html` (the HTML body, auto-escaped), rendered with
//! minijinja. `{{ link("https://...") }}` marks a tracked link; the mail builder signs it.

use crate::diag::{ConfigError, Diag};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use minijinja::{Environment, Error as TplError, ErrorKind, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeSet;

/// Marker that `link()` leaves in rendered output: `[[kindling-link:<base64url of the URL>]]`.
pub const LINK_MARKER: &str = "[[kindling-link:";

/// A rendered mail before links are signed and the footer is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every template of the program, compiled once.
#[derive(Clone)]
pub struct Templates {
    env: Environment<'static>,
    /// `(id, lang)` pairs with both a .txt and an .html file.
    available: BTreeSet<(String, String)>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("available", &self.available)
            .finish()
    }
}

fn link(url: String) -> Result<String, TplError> {
    match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => Ok(format!(
            "{LINK_MARKER}{}]]",
            URL_SAFE_NO_PAD.encode(u.as_str())
        )),
        _ => Err(TplError::new(
            ErrorKind::InvalidOperation,
            format!("link(): {url:?} is not an absolute http(s) URL"),
        )),
    }
}

/// The destinations of the `link()` calls in a rendered part, in order, each once.
pub fn link_targets(rendered: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = rendered;
    while let Some(start) = rest.find(LINK_MARKER) {
        let after = &rest[start + LINK_MARKER.len()..];
        let Some(end) = after.find("]]") else { break };
        if let Some(url) = URL_SAFE_NO_PAD
            .decode(&after[..end])
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            if !out.contains(&url) {
                out.push(url);
            }
        }
        rest = &after[end + 2..];
    }
    out
}

impl Templates {
    /// Compiles `(file name, source)` pairs; returns what compiled and every problem found.
    pub(crate) fn compile(
        dir: &str,
        sources: Vec<(String, String)>,
    ) -> (Templates, Vec<ConfigError>) {
        let mut env = environment(UndefinedBehavior::Chainable);
        let mut errors = Vec::new();
        let mut txt = BTreeSet::new();
        let mut html = BTreeSet::new();
        for (name, src) in sources {
            let file = format!("{dir}/{name}");
            let mut d = Diag::new(&file, &src);
            let parts: Vec<&str> = name.split('.').collect();
            let [id, lang, ext] = parts.as_slice() else {
                if !name.starts_with('.') {
                    d.at(
                        0,
                        "template file names look like <id>.<lang>.txt or <id>.<lang>.html",
                    );
                }
                errors.append(&mut d.errors);
                continue;
            };
            let key = ((*id).to_owned(), (*lang).to_owned());
            match *ext {
                "txt" => {
                    if !src.starts_with("Subject:") || !src.contains("\n\n") {
                        d.at(0, "a .txt template starts with a line \"Subject: ...\", then a blank line, then the body");
                    }
                    txt.insert(key);
                }
                "html" => {
                    html.insert(key);
                }
                _ => d.at(0, "template file names end in .txt or .html"),
            }
            if let Err(e) = env.add_template_owned(name.clone(), src.clone()) {
                let offset = e
                    .range()
                    .map(|r| r.start)
                    .or_else(|| e.line().map(|l| line_offset(&src, l)))
                    .unwrap_or(0);
                d.at(
                    offset,
                    format!(
                        "template syntax: {}",
                        e.detail().unwrap_or("invalid template")
                    ),
                );
            }
            errors.append(&mut d.errors);
        }
        for (id, lang) in txt.symmetric_difference(&html) {
            let missing = if txt.contains(&(id.clone(), lang.clone())) {
                "html"
            } else {
                "txt"
            };
            errors.push(ConfigError {
                file: format!("{dir}/{id}.{lang}.{missing}"),
                line: 1,
                column: 1,
                message: format!("template {id:?} ({lang}) needs both a .txt and an .html file; this one is missing"),
            });
        }
        let available = txt.intersection(&html).cloned().collect();
        (Templates { env, available }, errors)
    }

    /// The `.txt` and `.html` sources of template `id` in `lang`, as written.
    pub fn sources(&self, id: &str, lang: &str) -> Option<(String, String)> {
        let txt = self.env.get_template(&format!("{id}.{lang}.txt")).ok()?;
        let html = self.env.get_template(&format!("{id}.{lang}.html")).ok()?;
        Some((txt.source().to_owned(), html.source().to_owned()))
    }

    /// The languages template `id` is written in.
    pub fn languages(&self, id: &str) -> Vec<String> {
        self.available
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// True if template `id` exists in `lang`.
    pub fn has(&self, id: &str, lang: &str) -> bool {
        self.available.contains(&(id.to_owned(), lang.to_owned()))
    }

    /// Every `(id, lang)` pair, for checks and previews.
    pub fn all(&self) -> impl Iterator<Item = &(String, String)> {
        self.available.iter()
    }

    /// Renders template `id` in `lang`, falling back to `default_lang`.
    pub fn render<C: Serialize>(
        &self,
        id: &str,
        lang: &str,
        default_lang: &str,
        ctx: &C,
    ) -> Result<RenderedMail, TplError> {
        let lang = if self.has(id, lang) {
            lang
        } else {
            default_lang
        };
        let ctx = minijinja::Value::from_serialize(ctx);
        let text_all = self
            .env
            .get_template(&format!("{id}.{lang}.txt"))?
            .render(&ctx)?;
        let html = self
            .env
            .get_template(&format!("{id}.{lang}.html"))?
            .render(&ctx)?;
        split_rendered(&text_all, html)
    }
}

/// The template language every mail uses: `link()`, HTML auto-escaped in `.html` templates,
/// trailing newlines kept; `undefined` says what a missing variable does (step templates are
/// lenient, broadcasts strict: see [`crate::broadcasts::content`]).
pub(crate) fn environment(undefined: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.add_function("link", link);
    env
}

/// A rendered `.txt` part (`Subject: ...`, a blank line, the body) and `.html` part as a mail.
pub(crate) fn split_rendered(text_all: &str, html: String) -> Result<RenderedMail, TplError> {
    let (head, text) = text_all.split_once("\n\n").unwrap_or((text_all, ""));
    let subject = head
        .strip_prefix("Subject:")
        .unwrap_or(head)
        .trim()
        .replace(['\r', '\n'], " ");
    if subject.is_empty() {
        return Err(TplError::new(
            ErrorKind::InvalidOperation,
            "the subject rendered empty",
        ));
    }
    Ok(RenderedMail {
        subject,
        text: text.to_owned(),
        html,
    })
}

fn line_offset(src: &str, line: usize) -> usize {
    src.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}
