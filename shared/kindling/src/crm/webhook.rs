//! Standard Webhooks (<https://www.standardwebhooks.com>): a webhook is signed with
//! HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the secret's bytes (given
//! as `whsec_` and base64), and sent as `webhook-signature: v1,<base64>` (several space-separated
//! when a secret rotates). A receiver accepts it only if one signature matches and the timestamp
//! is within its tolerance of now (the clock's, a port), and drops an id it has seen.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a webhook's timestamp may be from now, either way (the scheme's default).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;
/// The three headers.
pub const ID: &str = "webhook-id";
pub const TIMESTAMP: &str = "webhook-timestamp";
pub const SIGNATURE: &str = "webhook-signature";

/// A signing secret's key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// `whsec_<base64>` (at least 24 key bytes).
    pub fn parse(s: &str) -> Result<Secret, String> {
        let b = s
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or_else(|| format!("a webhook secret starts with {SECRET_PREFIX}"))?;
        let key = B64
            .decode(b)
            .map_err(|_| "a webhook secret is whsec_ and base64".to_owned())?;
        if key.len() < 24 {
            return Err("a webhook secret holds at least 24 bytes".into());
        }
        Ok(Secret(key))
    }

    /// A secret of these key bytes.
    pub fn from_bytes(key: &[u8]) -> Secret {
        Secret(key.to_vec())
    }

    /// As written: `whsec_<base64>`.
    pub fn encoded(&self) -> String {
        format!("{SECRET_PREFIX}{}", B64.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value of a message.
    pub fn sign(&self, id: &str, at: DateTime<Utc>, body: &[u8]) -> String {
        let tag = self.mac(id, at.timestamp(), body).finalize().into_bytes();
        format!("v1,{}", B64.encode(tag))
    }
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than {TOLERANCE_SECONDS} s from now")]
    Expired,
    #[error("no signature matches")]
    Forged,
}

/// Checks a webhook's headers against its body: a `v1` signature by one of `secrets`, a
/// timestamp within [`TOLERANCE_SECONDS`] of `now`. Returns its id.
pub fn verify<'h>(
    header: impl Fn(&'static str) -> Option<&'h str>,
    body: &[u8],
    secrets: &[Secret],
    now: DateTime<Utc>,
) -> Result<&'h str, Refusal> {
    let id = header(ID).ok_or(Refusal::Missing(ID))?;
    let ts = header(TIMESTAMP).ok_or(Refusal::Missing(TIMESTAMP))?;
    let sigs = header(SIGNATURE).ok_or(Refusal::Missing(SIGNATURE))?;
    let ts: i64 = ts.trim().parse().map_err(|_| Refusal::BadTimestamp)?;
    if (now.timestamp() - ts).abs() > TOLERANCE_SECONDS {
        return Err(Refusal::Expired);
    }
    let given: Vec<Vec<u8>> = sigs
        .split_ascii_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b| B64.decode(b).ok())
        .collect();
    let ok = secrets.iter().any(|secret| {
        given
            .iter()
            .any(|tag| secret.mac(id, ts, body).verify_slice(tag).is_ok())
    });
    if ok {
        Ok(id)
    } else {
        Err(Refusal::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The scheme's published example (standard-webhooks/spec, "Signature scheme"): this secret,
    /// id, timestamp and body sign to this value.
    #[test]
    fn signs_the_specifications_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let at = Utc.timestamp_opt(1_614_265_330, 0).unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", at, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verifies_only_a_fresh_signature_of_the_same_message() {
        let secret = Secret::from_bytes(&[7; 32]);
        let other = Secret::from_bytes(&[8; 32]);
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
        let body = br#"{"email":"a@example.jp"}"#;
        let sig = format!("v1,AAAA {}", secret.sign("m1", at, body));
        let ts = at.timestamp().to_string();
        let headers = |id: &'static str, ts: &'static str, sig: &'static str| {
            move |h: &'static str| match h {
                ID => Some(id),
                TIMESTAMP => Some(ts),
                SIGNATURE => Some(sig),
                _ => None,
            }
        };
        let ts: &'static str = Box::leak(ts.into_boxed_str());
        let sig: &'static str = Box::leak(sig.into_boxed_str());
        let ok = verify(
            headers("m1", ts, sig),
            body,
            &[other.clone(), secret.clone()],
            at,
        );
        assert_eq!(ok, Ok("m1"));
        // Four minutes late is fine, six is not.
        let later = at + chrono::Duration::minutes(4);
        assert!(verify(
            headers("m1", ts, sig),
            body,
            std::slice::from_ref(&secret),
            later
        )
        .is_ok());
        let late = at + chrono::Duration::minutes(6);
        assert_eq!(
            verify(
                headers("m1", ts, sig),
                body,
                std::slice::from_ref(&secret),
                late
            ),
            Err(Refusal::Expired)
        );
        // Another body, another id, another key: forged.
        let forged = verify(
            headers("m1", ts, sig),
            b"{}",
            std::slice::from_ref(&secret),
            at,
        );
        assert_eq!(forged, Err(Refusal::Forged));
        let moved = verify(
            headers("m2", ts, sig),
            body,
            std::slice::from_ref(&secret),
            at,
        );
        assert_eq!(moved, Err(Refusal::Forged));
        assert_eq!(
            verify(headers("m1", ts, sig), body, &[other], at),
            Err(Refusal::Forged)
        );
        assert_eq!(
            verify(
                headers("m1", "soon", sig),
                body,
                std::slice::from_ref(&secret),
                at
            ),
            Err(Refusal::BadTimestamp)
        );
        assert_eq!(
            verify(|_| None, body, &[secret], at),
            Err(Refusal::Missing(ID))
        );
        assert!(Secret::parse("whsec_AAAA").is_err());
        assert!(Secret::parse("secret").is_err());
        let s = Secret::from_bytes(&[1; 24]);
        assert_eq!(Secret::parse(&s.encoded()).unwrap(), s);
    }
}
