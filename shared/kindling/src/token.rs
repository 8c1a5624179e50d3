//! Signed tokens for open pixels, click links and unsubscribe links.
//!
//! A token is `{key id}.{claim fields}.{signature}`, every part URL-safe, for example
//! `k1.c.{lead}.{enrollment}.{step}.{link}.{sig}`. The signature is HMAC-SHA256 over everything
//! before it, truncated to 128 bits, compared in constant time. The key id lets keys rotate:
//! new tokens use the current key, old mails keep working while their key is listed.

use crate::ids::{is_valid_id, BroadcastId, EnrollmentId, LeadId, TopicId};
use crate::message::MessageKey;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest token accepted; anything longer is refused before any work.
pub const MAX_TOKEN_LEN: usize = 320;
const SIG_BYTES: usize = 16;

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The open pixel of one mail.
    Open(MessageKey),
    /// Link number `link` of one mail.
    Click(MessageKey, u16),
    /// One lead's preference page and its one-click unsubscribe, from a mail of this topic
    /// (`None`: a mail of no topic, or a link from before topics, where one-click leaves all).
    Unsubscribe(LeadId, Option<TopicId>),
    /// "This browser belongs to this lead": appended to a mail link a person followed, so
    /// kindling.js on the landing page ties the browser's visitor id to the lead.
    Identify(LeadId),
}

/// The keys tokens are signed with: the first is current, the rest still verify.
#[derive(Clone)]
pub struct SigningKeys {
    keys: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_list()
            .entries(self.keys.iter().map(|(kid, _)| kid))
            .finish()
    }
}

/// Why a key specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing keys: {0}")]
pub struct KeySpecError(String);

impl SigningKeys {
    /// Keys from `(key id, secret)` pairs, current first. Secrets must be at least 32 bytes.
    pub fn new(keys: Vec<(String, Vec<u8>)>) -> Result<Self, KeySpecError> {
        if keys.is_empty() {
            return Err(KeySpecError("at least one key is needed".into()));
        }
        for (kid, secret) in &keys {
            if !is_valid_id(kid) || kid.len() > 16 {
                return Err(KeySpecError(format!(
                    "key id {kid:?} must be 1-16 characters of [A-Za-z0-9_-]"
                )));
            }
            if secret.len() < 32 {
                return Err(KeySpecError(format!(
                    "key {kid:?} is shorter than 32 bytes"
                )));
            }
        }
        Ok(Self { keys })
    }

    /// Parses `kid:base64secret,kid:base64secret`, current key first (the form of the
    /// `KINDLING_SIGNING_KEYS` setting).
    pub fn parse(spec: &str) -> Result<Self, KeySpecError> {
        let keys = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|part| {
                let (kid, b64) = part
                    .split_once(':')
                    .ok_or_else(|| KeySpecError("expected kid:base64secret".into()))?;
                let secret = STANDARD
                    .decode(b64.trim())
                    .map_err(|_| KeySpecError(format!("key {kid:?} is not base64")))?;
                Ok((kid.trim().to_owned(), secret))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys)
    }

    /// Signs a claim with the current key.
    pub fn sign(&self, claim: &Claim) -> String {
        let (kid, secret) = &self.keys[0];
        // Step tokens keep the form they had before broadcasts (`o`, `c`), so links in mails
        // already delivered keep verifying; broadcasts have their own (`ob`, `cb`).
        let message = |k: &MessageKey| match k {
            MessageKey::Step {
                lead_id,
                enrollment_id,
                step,
            } => ("", format!("{lead_id}.{enrollment_id}.{step}")),
            MessageKey::Broadcast {
                lead_id,
                broadcast_id,
            } => ("b", format!("{lead_id}.{broadcast_id}")),
        };
        let body = match claim {
            Claim::Open(k) => {
                let (b, m) = message(k);
                format!("{kid}.o{b}.{m}")
            }
            Claim::Click(k, link) => {
                let (b, m) = message(k);
                format!("{kid}.c{b}.{m}.{link}")
            }
            Claim::Unsubscribe(lead, None) => format!("{kid}.u.{lead}"),
            Claim::Unsubscribe(lead, Some(topic)) => format!("{kid}.ut.{lead}.{topic}"),
            Claim::Identify(lead) => format!("{kid}.i.{lead}"),
        };
        let sig = URL_SAFE_NO_PAD.encode(&mac(secret, &body).finalize().into_bytes()[..SIG_BYTES]);
        format!("{body}.{sig}")
    }

    /// The claim of a genuine token; `None` for anything forged, truncated, or signed with a key
    /// that is no longer listed.
    pub fn verify(&self, token: &str) -> Option<Claim> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (body, sig) = token.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if sig.len() != SIG_BYTES {
            return None;
        }
        let kid = body.split('.').next()?;
        let (_, secret) = self.keys.iter().find(|(k, _)| k == kid)?;
        mac(secret, body).verify_truncated_left(&sig).ok()?;
        parse_claim(body)
    }
}

fn mac(secret: &[u8], body: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(body.as_bytes());
    m
}

fn parse_claim(body: &str) -> Option<Claim> {
    let parts: Vec<&str> = body.split('.').collect();
    let send_key = |lead: &str, enr: &str, step: &str| {
        Some(MessageKey::Step {
            lead_id: LeadId::parse(lead)?,
            enrollment_id: EnrollmentId::parse(enr)?,
            step: step.parse().ok()?,
        })
    };
    let broadcast_key = |lead: &str, broadcast: &str| {
        Some(MessageKey::Broadcast {
            lead_id: LeadId::parse(lead)?,
            broadcast_id: BroadcastId::parse(broadcast)?,
        })
    };
    match parts.as_slice() {
        [_, "o", lead, enr, step] => Some(Claim::Open(send_key(lead, enr, step)?)),
        [_, "c", lead, enr, step, link] => {
            Some(Claim::Click(send_key(lead, enr, step)?, link.parse().ok()?))
        }
        [_, "ob", lead, broadcast] => Some(Claim::Open(broadcast_key(lead, broadcast)?)),
        [_, "cb", lead, broadcast, link] => Some(Claim::Click(
            broadcast_key(lead, broadcast)?,
            link.parse().ok()?,
        )),
        [_, "u", lead] if is_valid_id(lead) => Some(Claim::Unsubscribe(LeadId::new(*lead), None)),
        [_, "ut", lead, topic] if is_valid_id(lead) && is_valid_id(topic) => Some(
            Claim::Unsubscribe(LeadId::new(*lead), Some(TopicId::new(*topic))),
        ),
        [_, "i", lead] if is_valid_id(lead) => Some(Claim::Identify(LeadId::new(*lead))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kid: &str, byte: u8) -> SigningKeys {
        SigningKeys::new(vec![(kid.into(), vec![byte; 32])]).unwrap()
    }

    fn key() -> MessageKey {
        MessageKey::Step {
            lead_id: LeadId::new("L1"),
            enrollment_id: EnrollmentId::new("E1"),
            step: 2,
        }
    }

    #[test]
    fn every_claim_round_trips() {
        let k = keys("k1", 7);
        let broadcast = MessageKey::Broadcast {
            lead_id: LeadId::new("L1"),
            broadcast_id: BroadcastId::new("B7"),
        };
        for claim in [
            Claim::Open(key()),
            Claim::Click(key(), 3),
            Claim::Open(broadcast.clone()),
            Claim::Click(broadcast.clone(), 3),
            Claim::Unsubscribe(LeadId::new("L1"), None),
            Claim::Unsubscribe(LeadId::new("L1"), Some(TopicId::new("newsletter"))),
            Claim::Identify(LeadId::new("L1")),
        ] {
            let token = k.sign(&claim);
            assert!(
                token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{token}"
            );
            assert_eq!(k.verify(&token), Some(claim));
        }
    }

    #[test]
    fn forged_or_tampered_tokens_are_refused() {
        let k = keys("k1", 7);
        let token = k.sign(&Claim::Click(key(), 0));
        let tampered = token.replacen(".c.L1.E1.2.0.", ".c.L1.E1.2.1.", 1);
        assert_ne!(tampered, token);
        assert_eq!(k.verify(&tampered), None);
        assert_eq!(keys("k1", 8).verify(&token), None, "another secret");
        assert_eq!(
            k.verify(&token[..token.len() - 1]),
            None,
            "truncated signature"
        );
        for junk in [
            "",
            ".",
            "k1",
            "k1.o.L1.E1.2",
            "k1.o.L1.E1.2.!!!",
            &"a".repeat(400),
        ] {
            assert_eq!(k.verify(junk), None, "{junk}");
        }
    }

    #[test]
    fn rotated_keys_keep_old_tokens_valid_until_removed() {
        let old = keys("k1", 1);
        let token = old.sign(&Claim::Unsubscribe(LeadId::new("L9"), None));
        let rotated =
            SigningKeys::new(vec![("k2".into(), vec![2; 32]), ("k1".into(), vec![1; 32])]).unwrap();
        assert_eq!(
            rotated.verify(&token),
            Some(Claim::Unsubscribe(LeadId::new("L9"), None))
        );
        assert!(rotated
            .sign(&Claim::Unsubscribe(LeadId::new("L9"), None))
            .starts_with("k2."));
        assert_eq!(keys("k2", 2).verify(&token), None, "k1 retired");
    }

    #[test]
    fn key_spec_parses_and_rejects_weak_keys() {
        let secret = STANDARD.encode([9u8; 32]);
        assert!(SigningKeys::parse(&format!("k2:{secret}, k1:{secret}")).is_ok());
        assert!(SigningKeys::parse("k1:c2hvcnQ=").is_err());
        assert!(SigningKeys::parse("").is_err());
        assert!(SigningKeys::parse("nocolon").is_err());
    }
}
