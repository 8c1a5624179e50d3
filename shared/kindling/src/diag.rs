//! Diagnostics for the configuration: every problem located (file:line:column) and reported at
//! once, and the checks that every section's validation shares.

use crate::email::EmailAddress;
use crate::names::Named;
use chrono::NaiveTime;
use serde::Deserialize;
use std::fmt;
use toml::Spanned;

/// A value as written, with where it was written.
pub(crate) type S<T> = Spanned<T>;

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

    /// The line (from 1) of a byte offset of the file.
    pub(crate) fn line(&self, offset: usize) -> usize {
        line_col(self.src, offset).0
    }

    pub(crate) fn span<T>(&mut self, v: &Spanned<T>, message: impl Into<String>) {
        self.at(v.span().start, message);
    }
}

/// An enum-like value as written: its variant, or the name that is none (reported with the
/// value's span when the file is validated, so every bad name is reported at once).
#[derive(Debug)]
pub struct Choice<T>(pub Result<T, String>);

impl<'de, T: Named> Deserialize<'de> for Choice<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Choice(T::from_name(&name).ok_or(name)))
    }
}

/// As written (the variant's name, or the name that is none).
impl<T: Named> serde::Serialize for Choice<T> {
    fn serialize<Z: serde::Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        match &self.0 {
            Ok(v) => z.serialize_str(v.name()),
            Err(name) => z.serialize_str(name),
        }
    }
}

/// The variant a value names, or an error at its span saying what it may be.
pub(crate) fn choice<T: Named>(d: &mut Diag<'_>, v: &Spanned<Choice<T>>, key: &str) -> Option<T> {
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

/// Checks a section's id: unique among `seen` (which it joins) and of `[A-Za-z0-9_-]`, so it
/// can be part of a key or a URL. `noun` names it in the error: `forms: duplicate form id`.
pub(crate) fn new_id(
    d: &mut Diag<'_>,
    seen: &mut std::collections::HashSet<String>,
    v: &Spanned<String>,
    section: &str,
    noun: &str,
) {
    let id = v.get_ref();
    if !seen.insert(id.clone()) {
        d.span(v, format!("{section}: duplicate {noun} id {id:?}"));
    }
    if !crate::ids::is_valid_id(id) {
        d.span(
            v,
            format!("{section}.id: use letters, digits, '-' and '_' only"),
        );
    }
}

pub(crate) fn non_empty(d: &mut Diag<'_>, v: &Spanned<String>, key: &str) -> String {
    if v.get_ref().trim().is_empty() {
        d.span(v, format!("{key} must not be empty"));
    }
    v.get_ref().trim().to_owned()
}

pub(crate) fn email(d: &mut Diag<'_>, v: &Spanned<String>, key: &str) -> Option<EmailAddress> {
    EmailAddress::parse(v.get_ref())
        .map_err(|_| {
            d.span(
                v,
                format!("{key}: {:?} is not a valid email address", v.get_ref()),
            )
        })
        .ok()
}

pub(crate) fn time_of_day(
    d: &mut Diag<'_>,
    offset: usize,
    v: &str,
    key: &str,
) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(v, "%H:%M")
        .map_err(|_| d.at(offset, format!("{key}: {v:?} is not a time like \"22:00\"")))
        .ok()
}

/// `"2%"`, `"0.08 %"` → 0.02, 0.0008.
pub(crate) fn parse_percent(s: &str) -> Option<f64> {
    let n: f64 = s.trim().strip_suffix('%')?.trim().parse().ok()?;
    n.is_finite().then_some(n / 100.0)
}

/// A length like `30m`, `12h` or `7d` ([`crate::offset::Offset`], business days as 7/5 of a
/// day).
pub(crate) fn duration(
    d: &mut Diag<'_>,
    v: &Spanned<String>,
    key: &str,
) -> Option<chrono::Duration> {
    crate::offset::Offset::parse(v.get_ref())
        .map(|o| o.approx())
        .map_err(|m| d.span(v, format!("{key}: {m}")))
        .ok()
}
