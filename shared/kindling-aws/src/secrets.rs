//! Link-signing keys from AWS Secrets Manager, read once at cold start.
//!
//! The stack generates the secret as `{"kid":"k1","secret":"<64 random characters>"}`. To rotate,
//! write a new current key and keep the old one under `previous` until every link signed with it
//! has expired: `{"kid":"k2","secret":"...","previous":[{"kid":"k1","secret":"..."}]}`. Each
//! secret's UTF-8 bytes are the HMAC key (at least 32 bytes). Functions read the secret at their
//! next cold start.

use crate::error::InitError;
use kindling::token::SigningKeys;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    kid: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySet {
    kid: String,
    secret: String,
    #[serde(default)]
    previous: Vec<Key>,
}

/// Parses the secret's JSON value into signing keys, current key first.
pub fn parse_key_set(value: &str) -> Result<SigningKeys, InitError> {
    // The error never echoes the value: it is a secret.
    let set: KeySet = serde_json::from_str(value).map_err(|e| {
        InitError::SigningKeys(format!(
            "not {{\"kid\",\"secret\",\"previous\"}} JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let keys = std::iter::once((set.kid, set.secret.into_bytes()))
        .chain(
            set.previous
                .into_iter()
                .map(|k| (k.kid, k.secret.into_bytes())),
        )
        .collect();
    SigningKeys::new(keys).map_err(|e| InitError::SigningKeys(e.to_string()))
}

/// Reads and parses the secret.
pub async fn fetch(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<SigningKeys, InitError> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| InitError::SecretRead {
            arn: arn.to_owned(),
            source: Box::new(e),
        })?;
    let value = out
        .secret_string()
        .ok_or_else(|| InitError::SigningKeys(format!("secret {arn} has no string value")))?;
    parse_key_set(value)
}

/// Keys for a function that never signs or verifies links (score, notify, feedback, intake):
/// random and never written anywhere, so no token is valid under them and nothing they could sign
/// would verify elsewhere.
pub fn throwaway_keys() -> SigningKeys {
    let mut secret = uuid::Uuid::new_v4().as_bytes().to_vec();
    secret.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    // Two v4 UUIDs are 32 bytes with 244 random bits; `new` only refuses shorter secrets.
    SigningKeys::new(vec![("unused".to_owned(), secret)]).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindling::ids::LeadId;
    use kindling::token::Claim;

    const K1: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";
    const K2: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210ab";

    #[test]
    fn the_generated_secret_parses() {
        let keys = parse_key_set(&format!(r#"{{"kid":"k1","secret":"{K1}"}}"#)).unwrap();
        let claim = Claim::Unsubscribe(LeadId::new("L1"), None);
        assert_eq!(keys.verify(&keys.sign(&claim)), Some(claim));
    }

    #[test]
    fn a_rotated_secret_still_verifies_old_links() {
        let old = parse_key_set(&format!(r#"{{"kid":"k1","secret":"{K1}"}}"#)).unwrap();
        let claim = Claim::Unsubscribe(LeadId::new("L1"), None);
        let token = old.sign(&claim);
        let rotated = parse_key_set(&format!(
            r#"{{"kid":"k2","secret":"{K2}","previous":[{{"kid":"k1","secret":"{K1}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(rotated.verify(&token), Some(claim.clone()));
        assert!(rotated.sign(&claim).starts_with("k2."));
    }

    #[test]
    fn throwaway_keys_verify_no_token_signed_elsewhere() {
        let real = parse_key_set(&format!(r#"{{"kid":"k1","secret":"{K1}"}}"#)).unwrap();
        let claim = Claim::Unsubscribe(LeadId::new("L1"), None);
        assert_eq!(throwaway_keys().verify(&real.sign(&claim)), None);
        assert_eq!(
            throwaway_keys().verify(&throwaway_keys().sign(&claim)),
            None
        );
    }

    #[test]
    fn bad_secrets_are_refused_without_echoing_them() {
        for bad in [
            "k1:AAAA".to_owned(),
            r#"{"kid":"k1","secret":"short"}"#.to_owned(),
            format!(r#"{{"kid":"k 1","secret":"{K1}"}}"#),
            format!(r#"{{"kid":"k1","secret":"{K1}","extra":1}}"#),
        ] {
            let e = parse_key_set(&bad).unwrap_err().to_string();
            assert!(!e.contains(K1) && !e.contains("AAAA"), "{e}");
        }
    }
}
