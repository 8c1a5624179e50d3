//! Subscription topics (`[[topics]]`): newsletter, events, product_updates. Each has its own
//! opt-out; every sequence and broadcast names the topic its mails belong to, so a lead can
//! leave the newsletter and keep its step mails. `[unsubscribe] one_click` says whether an
//! RFC 8058 one-click leaves the mail's topic (default) or everything.

use crate::diag::{choice, Choice, Diag, S};
use crate::ids::TopicId;
use std::collections::HashSet;

/// One topic a lead can leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub id: TopicId,
    /// For people, on the preference page: `ニュースレター / Newsletter`.
    pub name: String,
    /// One line under the name: what the mails are about and how often they come.
    pub description: Option<String>,
}

/// What an RFC 8058 one-click unsubscribe leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OneClick {
    /// The topic of the mail it came from (a mail of no topic: everything).
    #[default]
    Topic,
    /// Every mail.
    Everything,
}

crate::named!(OneClick {
    Topic = "topic",
    Everything = "everything",
});

/// The most topics: each is a checkbox on the preference page.
pub const MAX_TOPICS: usize = 20;

/// Checks `[[topics]]` and `[unsubscribe]`.
pub(crate) fn validate(
    d: &mut Diag<'_>,
    topics: &[raw::Topic],
    unsubscribe: Option<&raw::Unsubscribe>,
) -> (Vec<Topic>, OneClick) {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in topics {
        crate::diag::new_id(d, &mut seen, &t.id, "topics", "topic");
        let name = crate::diag::non_empty(d, &t.name, "topics.name");
        out.push(Topic {
            id: TopicId::new(t.id.get_ref().as_str()),
            name,
            description: t.description.clone().filter(|s| !s.trim().is_empty()),
        });
    }
    if out.len() > MAX_TOPICS {
        if let Some(t) = topics.get(MAX_TOPICS) {
            d.span(&t.id, format!("topics: at most {MAX_TOPICS}"));
        }
    }
    let one_click = unsubscribe
        .and_then(|u| u.one_click.as_ref())
        .and_then(|c| choice(d, c, "unsubscribe.one_click"))
        .unwrap_or_default();
    (out, one_click)
}

/// Checks that a sequence's `topic` names a topic, and that it has one when topics exist
/// (every mail belongs to one, so an opt-out can stop it).
pub(crate) fn check_reference(
    d: &mut Diag<'_>,
    topics: &[Topic],
    at: &S<String>,
    topic: Option<&S<String>>,
    key: &str,
) {
    match topic {
        Some(t) if !topics.iter().any(|x| x.id.as_str() == t.get_ref()) => d.span(
            t,
            format!("{key}.topic: {:?} is not a [[topics]] id", t.get_ref()),
        ),
        None if !topics.is_empty() => d.span(
            at,
            format!("{key}: name its topic (one of the [[topics]]), so that a lead who leaves it gets none of its mails"),
        ),
        _ => {}
    }
}

/// The sections as written in `kindling.toml`.
pub(crate) mod raw {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Topic {
        pub id: S<String>,
        pub name: S<String>,
        pub description: Option<String>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Unsubscribe {
        /// `topic` (default) or `everything`.
        pub one_click: Option<S<Choice<OneClick>>>,
    }
}
