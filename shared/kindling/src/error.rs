//! The domain's error type: what went wrong in a use case, and whether retrying can help.

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A store, the bus, the mailer or the notifier failed; retrying may succeed.
    #[error("{0}")]
    Port(#[from] PortError),
    /// Concurrent writers raced; the caller retries from a fresh read.
    #[error("conflicting concurrent update of {0}")]
    Conflict(String),
    /// The input can never succeed (a missing lead, a malformed event); retrying is pointless.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// True if the platform should deliver the input again.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Error::Invalid(_))
    }
}

/// A port's failure, with the adapter's own words.
#[derive(Debug, thiserror::Error)]
#[error("{port}: {message}")]
pub struct PortError {
    pub port: &'static str,
    pub message: String,
}

impl PortError {
    /// A failure of `port` (`"lead store"`, `"mailer"`, ...).
    pub fn new(port: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            port,
            message: message.to_string(),
        }
    }
}

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;
