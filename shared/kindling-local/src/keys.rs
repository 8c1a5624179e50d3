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

/// The environment variable with the local admin token (`Authorization: Bearer <token>`).
pub const ADMIN_TOKEN_ENV: &str = "KINDLING_ADMIN_TOKEN";

/// The bearer token for the local server's `/admin/` routes: `KINDLING_ADMIN_TOKEN` if set, else
/// one generated once and kept in `admin.token` in the data directory.
pub fn load_or_create_admin_token(data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
        anyhow::ensure!(
            token.len() >= 16,
            "{ADMIN_TOKEN_ENV} must be at least 16 characters"
        );
        return Ok(token);
    }
    let path = admin_token_path(data_dir);
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_owned());
    }
    let token = random_token();
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, &token)?;
    Ok(token)
}

/// Where the generated admin token is kept.
pub fn admin_token_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("admin.token")
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
}
