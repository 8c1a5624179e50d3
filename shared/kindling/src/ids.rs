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

/// Names the program gives its parts in `kindling.toml` (a sequence, a form, a template, a
/// trigger), where they cross modules: checked once when the configuration is loaded, then
/// carried as their own types. Serialized as the bare string, as before they had types.
macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The name as written in the configuration.
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

name_type!(
    /// A sequence of step mails (`[[sequences]] id`).
    SequenceId
);
name_type!(
    /// A web form (`[[forms]] id`).
    FormId
);
name_type!(
    /// A mail template (`templates/{id}.{language}.txt` and `.html`).
    TemplateId
);
name_type!(
    /// A behavioural trigger (`[[triggers]] id`).
    TriggerId
);
name_type!(
    /// A segment: a group of leads by attributes and behaviour (`[[segments]] id`).
    SegmentId
);
name_type!(
    /// A buying stage (`[[stages]] id`): awareness, interest, consideration, decision.
    StageId
);
name_type!(
    /// A subscription topic (`[[topics]] id`): newsletter, events, product_updates. Each has its
    /// own opt-out.
    TopicId
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn names_are_stored_as_the_bare_strings_they_were_before_they_had_types() {
        let id = SequenceId::from("document_followup");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"document_followup\"");
        let back: SequenceId = serde_json::from_str("\"document_followup\"").unwrap();
        assert_eq!(back, id);
        // A lead's trigger state, keyed by trigger, reads as it was written.
        let states: BTreeMap<TriggerId, u32> =
            serde_json::from_str(r#"{"pricing_interest": 2}"#).unwrap();
        assert_eq!(states.get("pricing_interest"), Some(&2));
    }

    #[test]
    fn names_compare_with_text_either_way() {
        let form = FormId::new("whitepaper");
        let text = String::from("whitepaper");
        assert_eq!(form, "whitepaper");
        assert_eq!("whitepaper", form);
        assert_eq!(form, *"whitepaper");
        assert_eq!(text, form);
        assert_eq!(form, text);
        assert!(form != "seminar");
        assert_eq!(form.len(), "whitepaper".len(), "reads as a str");
        assert_eq!(format!("{form}"), "whitepaper");
    }
}
