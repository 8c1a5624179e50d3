//! BANT: what inside sales confirmed about a deal (budget, authority, need, timeline), as the
//! CRM reports it (`POST /hooks/crm/{source}`). Each is free text (`"confirmed"`, `"5000000"`,
//! `"decision_maker"`, `"this_quarter"`), tested like any attribute by fit rules and segments.

use serde::{Deserialize, Serialize};

/// The longest BANT value kept, in characters.
pub const MAX_BANT_CHARS: usize = 200;

/// The lead's BANT, each part as the CRM last reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

impl Bant {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == Bant::default()
    }

    /// Takes every part `newer` gives (an empty string clears a part); keeps the others.
    pub fn merge(&mut self, newer: &Bant) {
        fn take(slot: &mut Option<String>, v: &Option<String>) {
            if let Some(v) = v {
                let v = v.trim();
                *slot = (!v.is_empty()).then(|| v.to_owned());
            }
        }
        take(&mut self.budget, &newer.budget);
        take(&mut self.authority, &newer.authority);
        take(&mut self.need, &newer.need);
        take(&mut self.timeline, &newer.timeline);
    }

    /// The first part longer than [`MAX_BANT_CHARS`], if any.
    pub fn too_long(&self) -> Option<&'static str> {
        [
            ("budget", &self.budget),
            ("authority", &self.authority),
            ("need", &self.need),
            ("timeline", &self.timeline),
        ]
        .into_iter()
        .find(|(_, v)| {
            v.as_ref()
                .is_some_and(|v| v.chars().count() > MAX_BANT_CHARS)
        })
        .map(|(name, _)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_takes_what_is_given_and_clears_on_empty() {
        let mut b = Bant {
            budget: Some("unknown".into()),
            need: Some("SFA".into()),
            ..Bant::default()
        };
        b.merge(&Bant {
            budget: Some(" confirmed ".into()),
            need: Some(String::new()),
            timeline: Some("this_quarter".into()),
            ..Bant::default()
        });
        assert_eq!(b.budget.as_deref(), Some("confirmed"));
        assert_eq!(b.need, None);
        assert_eq!(b.timeline.as_deref(), Some("this_quarter"));
        assert_eq!(b.authority, None);
        assert!(!b.is_empty());
        let long = Bant {
            need: Some("x".repeat(MAX_BANT_CHARS + 1)),
            ..Bant::default()
        };
        assert_eq!(long.too_long(), Some("need"));
        assert_eq!(b.too_long(), None);
    }
}
