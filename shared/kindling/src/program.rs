//! Program-wide settings every capability reads: the program's name, public URL, default zone
//! and language, and who mails are from (`[program]` and `[sender]`).

use crate::diag::{email, non_empty, Diag};
use crate::email::EmailAddress;
use chrono_tz::Tz;

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
    /// Where kindling.js sends its beacons, if not to the origin it was loaded from: on AWS the
    /// beacon function's URL (the stack's `beaconUrl` setting, `KINDLING_BEACON_URL`), without a
    /// trailing slash. Not a config key.
    pub beacon_url: Option<String>,
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

/// True if `s` can be the namespace of a `List-Id`: lower-case DNS labels (`[a-z0-9-]`, not
/// starting or ending with `-`) joined by dots, at least two, at most 200 characters.
pub fn is_list_namespace(s: &str) -> bool {
    s.len() <= 200
        && s.split('.').count() >= 2
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Checks `[program]` and `[sender]`. The program is always built (an unknown zone reads as
/// UTC after its error is reported); the sender only when its addresses are valid.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    p: &raw::Program,
    s: &raw::Sender,
) -> (Program, Option<Sender>) {
    let public_url = non_empty(d, &p.public_url, "program.public_url");
    if let Err(why) = check_public_url(&public_url) {
        d.span(&p.public_url, format!("program.public_url: {why}"));
    }
    let default_zone = p
        .default_time_zone
        .get_ref()
        .parse::<Tz>()
        .map_err(|_| {
            d.span(
                &p.default_time_zone,
                format!(
                    "program.default_time_zone: unknown time zone {:?}",
                    p.default_time_zone.get_ref()
                ),
            )
        })
        .ok();
    let default_language = non_empty(d, &p.default_language, "program.default_language");
    let from_address = email(d, &s.from_address, "sender.from_address");
    let list_id = match &p.list_id {
        Some(v) => {
            if !is_list_namespace(v.get_ref()) {
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
        name: non_empty(d, &p.name, "program.name"),
        public_url: public_url.trim_end_matches('/').to_owned(),
        default_zone: default_zone.unwrap_or(Tz::UTC),
        default_language: default_language.clone(),
        respect_gpc: p.respect_gpc,
        beacon_url: None,
        list_id,
    };

    let reply_to = s
        .reply_to
        .as_ref()
        .and_then(|r| email(d, r, "sender.reply_to"));
    let unsubscribe_mailto = email(d, &s.unsubscribe_mailto, "sender.unsubscribe_mailto");
    let from_name = non_empty(d, &s.from_name, "sender.from_name");
    let postal_address = non_empty(d, &s.postal_address, "sender.postal_address");
    let contact = non_empty(d, &s.contact, "sender.contact");
    let sender = (|| {
        Some(Sender {
            from_name,
            from_address: from_address?,
            reply_to,
            postal_address,
            contact,
            unsubscribe_mailto: unsubscribe_mailto?,
        })
    })();
    (program, sender)
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Program {
        pub name: S<String>,
        pub public_url: S<String>,
        pub default_time_zone: S<String>,
        pub default_language: S<String>,
        /// The namespace of every mail's `List-Id` (RFC 2919), a domain the sender controls.
        pub list_id: Option<S<String>>,
        /// kindling.js sends nothing when the browser signals Global Privacy Control or Do Not Track.
        #[serde(default = "yes")]
        pub respect_gpc: bool,
    }

    fn yes() -> bool {
        true
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Sender {
        pub from_name: S<String>,
        pub from_address: S<String>,
        pub reply_to: Option<S<String>>,
        pub postal_address: S<String>,
        pub contact: S<String>,
        pub unsubscribe_mailto: S<String>,
    }
}
