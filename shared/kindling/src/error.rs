//! The domain's error type: what went wrong in a use case, and whether retrying can help.
//!
//! Three kinds that callers treat differently: the input can never succeed because it is
//! malformed ([`Error::Invalid`], a 400) or because what it names does not exist
//! ([`Error::NotFound`], a 404); or a port failed or writers raced, and a retry may succeed
//! ([`Error::Port`], [`Error::Conflict`], a 503 and a redelivery).

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A store, the bus, the mailer or the notifier failed; retrying may succeed.
    #[error(transparent)]
    Port(#[from] PortError),
    /// Concurrent writers raced; the caller retries from a fresh read.
    #[error("conflicting concurrent update of {0}")]
    Conflict(String),
    /// The input is malformed (a bad field, a malformed event); retrying is pointless.
    #[error("{0}")]
    Invalid(String),
    /// What the input names does not exist (a lead, a sequence); retrying is pointless.
    #[error("{0}")]
    NotFound(String),
    /// Well-formed, but what it names is not in a state that allows it (approving a broadcast
    /// already sent); a 409, never retried.
    #[error("{0}")]
    Refused(String),
}

impl Error {
    /// True if the platform should deliver the input again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Port(_) | Error::Conflict(_))
    }
}

/// A port's failure: which port, what it was doing, and the adapter's own error as its source.
#[derive(Debug, thiserror::Error)]
#[error("{port}: {message}")]
pub struct PortError {
    pub port: &'static str,
    pub message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl PortError {
    /// A failure of `port` (`"sqlite"`, `"dynamodb"`, ...) described by `message`, with no
    /// underlying error (a corrupt item, a failed condition).
    pub fn new(port: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            port,
            message: message.to_string(),
            source: None,
        }
    }

    /// A failure of `port` while doing `what`, caused by `source` (the SDK's or the driver's
    /// error), which stays in the chain for whoever reports it ([`Report`]).
    pub fn caused_by(
        port: &'static str,
        what: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            port,
            message: what.to_string(),
            source: Some(source.into()),
        }
    }
}

/// An error with its whole source chain, for logs: `dynamodb: PutItem: service error: ...`.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The conflict after [`crate::ports::CAS_ATTEMPTS`] stale writes of `what`.
pub(crate) fn conflict(what: impl std::fmt::Display) -> Error {
    Error::Conflict(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_error_keeps_its_source_and_a_report_shows_the_chain() {
        let io = std::io::Error::other("disk full");
        let e = Error::from(PortError::caused_by("sqlite", "INSERT activities", io));
        assert_eq!(e.to_string(), "sqlite: INSERT activities");
        assert_eq!(
            Report(&e).to_string(),
            "sqlite: INSERT activities: disk full"
        );
        assert!(std::error::Error::source(&e).is_some());
        assert!(e.is_retryable());
        assert!(!Error::NotFound("no lead L1".into()).is_retryable());
        assert!(!Error::Invalid("malformed".into()).is_retryable());
    }
}
