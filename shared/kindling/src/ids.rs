//! Identifier newtypes. Ids are opaque strings minted by the [`crate::ports::Ids`] port; ids that
//! arrive from outside (beacons, tokens) are parsed against a strict alphabet.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id accepted from outside.
pub const MAX_ID_LEN: usize = 64;

/// True if `s` is a non-empty id of at most [`MAX_ID_LEN`] characters from `[A-Za-z0-9_-]`.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id minted by the system (not validated).
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// Parses an id that came from outside; `None` if it is not a valid id.
            pub fn parse(s: &str) -> Option<Self> {
                is_valid_id(s).then(|| Self(s.to_owned()))
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A lead (a known person with an email address).
    LeadId
);
id_type!(
    /// An anonymous browser, identified by kindling.js's first-party cookie.
    VisitorId
);

/// Shortest visitor id accepted from outside: kindling.js makes 32-character ids (a UUID without
/// dashes; at least 8 characters in old browsers without `crypto.randomUUID`) and keeps a cookie
/// only of 8 to 64 characters, so anything shorter was not made by it.
pub const MIN_VISITOR_ID_LEN: usize = 8;

impl VisitorId {
    /// Parses a visitor id from a beacon or a form: 8 to 64 characters of `[A-Za-z0-9_-]`.
    pub fn parse_external(s: &str) -> Option<Self> {
        (s.len() >= MIN_VISITOR_ID_LEN)
            .then(|| Self::parse(s))
            .flatten()
    }
}
id_type!(
    /// One activity; recording the same id twice changes nothing.
    ActivityId
);
id_type!(
    /// One enrollment of a lead in a sequence.
    EnrollmentId
);
id_type!(
    /// One broadcast: a mail to a segment or to every consenting lead.
    BroadcastId
);
