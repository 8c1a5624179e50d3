//! Signing keys for the local server: `KINDLING_SIGNING_KEYS` if set, else a key generated once
//! and kept in the data directory (so links in old outbox mails keep working across restarts).

use base64::Engine as _;
use kindling::token::SigningKeys;
use rand::RngCore;
use std::path::Path;

/// The environment variable holding `kid:base64secret[,kid:base64secret...]`, current first.
pub const ENV: &str = "KINDLING_SIGNING_KEYS";

/// Loads or creates the local keys.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<SigningKeys> {
    if let Ok(spec) = std::env::var(ENV) {
        return Ok(SigningKeys::parse(&spec)?);
    }
    let path = data_dir.join("signing.keys");
    if let Ok(spec) = std::fs::read_to_string(&path) {
        return Ok(SigningKeys::parse(&spec)?);
    }
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let spec = format!(
        "local1:{}",
        base64::engine::general_purpose::STANDARD.encode(secret)
    );
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, &spec)?;
    Ok(SigningKeys::parse(&spec)?)
}
