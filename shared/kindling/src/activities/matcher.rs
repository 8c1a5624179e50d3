//! Which activities a condition counts: the matcher triggers and segments share.

use super::{Activity, ActivityKind};

/// Which activities a counting condition looks at (every field optional but the kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub kind: ActivityKind,
    pub page_category: Option<String>,
    pub form_id: Option<crate::ids::FormId>,
    /// URL path: `/x` exact, `/x*` prefix.
    pub url: Option<String>,
}

impl Matcher {
    /// Whether `a` is one of these activities.
    pub fn matches(&self, a: &Activity) -> bool {
        super::log::activity_matches(
            a,
            self.kind,
            self.page_category.as_deref(),
            self.form_id.as_deref(),
            self.url.as_deref(),
        )
    }

    /// For people: `page_view (pricing)`.
    pub fn describe(&self) -> String {
        let mut s = self.kind.as_str().to_owned();
        let quals: Vec<&str> = [
            self.page_category.as_deref(),
            self.form_id.as_deref(),
            self.url.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !quals.is_empty() {
            s.push_str(&format!(" ({})", quals.join(", ")));
        }
        s
    }
}
