//! Email addresses: parsed once, normalized for uniqueness.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A syntactically valid address, normalized: trimmed, lower-cased, and with an international
/// domain in its ASCII (Punycode) form, `user@bücher.example` as `user@xn--bcher-kva.example`.
///
/// Lower-casing the local part is not strictly RFC 5321, but every mailbox provider that B2B
/// leads use treats it case-insensitively, and one person must map to one lead.
///
/// The local part must be ASCII: Amazon SES does not support SMTPUTF8 (RFC 6531), so a mail to
/// `josé@example.com` could never be delivered, and such an address is refused when it is
/// entered rather than accepted and silently never mailed. Every address is therefore 7-bit, and
/// every header that carries one is valid without SMTPUTF8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEmail {
    /// Not an address at all.
    #[error("not a valid email address")]
    Malformed,
    /// Non-ASCII before the `@`, which needs SMTPUTF8.
    #[error("the part before @ must be ASCII: international addresses like josé@example.com cannot be delivered by the mail provider (no SMTPUTF8)")]
    NonAsciiLocalPart,
}

/// Longest address (RFC 5321's path limit less the angle brackets).
const MAX_LEN: usize = 254;

impl EmailAddress {
    /// Parses and normalizes an address typed into a form.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        use InvalidEmail::{Malformed, NonAsciiLocalPart};
        let s = raw.trim().to_lowercase();
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Malformed);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(Malformed)?;
        if local.is_empty() || local.len() > 64 {
            return Err(Malformed);
        }
        if !local.is_ascii() {
            return Err(NonAsciiLocalPart);
        }
        // UTS #46 with the STD3 rules and DNS lengths: maps and checks the domain, and gives
        // its A-labels (a domain that is already ASCII comes back as it is, lower-cased).
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| Malformed)?;
        if domain.len() < 3 || !domain.contains('.') {
            return Err(Malformed);
        }
        let s = format!("{local}@{domain}");
        if s.len() > MAX_LEN {
            return Err(Malformed);
        }
        // lettre's parser enforces the rest of RFC 5322's dot-atom grammar.
        lettre::Address::from_str(&s).map_err(|_| Malformed)?;
        Ok(Self(s))
    }

    /// The domain for people: its Unicode form (`bücher.example`) where it is international.
    pub fn domain_for_display(&self) -> String {
        let (unicode, ok) = idna::domain_to_unicode(self.domain());
        if ok.is_ok() {
            unicode
        } else {
            self.domain().to_owned()
        }
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part (after `@`).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_whitespace() {
        let e = EmailAddress::parse("  Taro.Sato@Example.CO.JP ").unwrap();
        assert_eq!(e.as_str(), "taro.sato@example.co.jp");
        assert_eq!(e.domain(), "example.co.jp");
    }

    #[test]
    fn international_domains_become_punycode_and_stay_one_lead() {
        let e = EmailAddress::parse("User@Bücher.Example").unwrap();
        assert_eq!(e.as_str(), "user@xn--bcher-kva.example");
        assert_eq!(e.domain_for_display(), "bücher.example");
        assert_eq!(
            EmailAddress::parse("user@xn--bcher-kva.example").unwrap(),
            e,
            "the A-label and the U-label are one address"
        );
        let jp = EmailAddress::parse("info@例え.jp").unwrap();
        assert_eq!(jp.as_str(), "info@xn--r8jz45g.jp");
        assert!(jp.as_str().is_ascii());
        // Full-width characters map to ASCII (UTS #46), as browsers do.
        assert_eq!(
            EmailAddress::parse("a@ｅｘａｍｐｌｅ.jp").unwrap().as_str(),
            "a@example.jp"
        );
        // The stored form parses back to itself (stores round-trip it through `try_from`).
        assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e);
    }

    #[test]
    fn a_non_ascii_local_part_is_refused_with_its_own_reason() {
        for raw in ["josé@example.com", "太郎@example.jp", "üser@bücher.example"] {
            assert_eq!(
                EmailAddress::parse(raw),
                Err(InvalidEmail::NonAsciiLocalPart),
                "{raw}"
            );
        }
        assert!(InvalidEmail::NonAsciiLocalPart
            .to_string()
            .contains("SMTPUTF8"));
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@example..com",
            "a@exa\nmple.com",
            "a@exam ple.com",
            "a@-example.com",
            "a@exa_mple.com",
            "a@xn--zz.example",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
