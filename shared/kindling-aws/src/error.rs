//! Why a function could not start: a setting, the TLS roots, the signing-key secret or the
//! bundled configuration. Each names what to fix; none ever echoes a secret.

use crate::settings::SettingsError;

/// A function's start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A setting is missing or malformed.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A setting this function needs is not set.
    #[error("setting {setting}: is required {why}")]
    Required {
        setting: &'static str,
        why: &'static str,
    },
    /// The TLS trust store could not be built.
    #[error("TLS trust store")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// Secrets Manager did not give the signing-key secret.
    #[error("reading signing keys from {arn}")]
    SecretRead {
        arn: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The signing-key secret is not what the stack writes (the value is never shown).
    #[error("signing key secret: {0}")]
    SigningKeys(String),
    /// The report-reader secret is not what the stack writes (the value is never shown).
    #[error("report reader secret: {0}")]
    ReaderKey(String),
    /// The configuration compiled into the binary does not validate.
    #[error("bundled configuration is invalid:\n{0}")]
    Config(String),
}
