//! Page categories (`[[pages]]`): URL path patterns that put a page view in a category, which
//! scoring rules and triggers refer to.

use crate::diag::{non_empty, Diag};

/// URL path patterns that put a page view in a category (`/pricing`, `/cases/*`).
#[derive(Debug, Clone)]
pub struct PageCategory {
    pub category: String,
    pub paths: Vec<String>,
}

impl PageCategory {
    pub fn matches(&self, path: &str) -> bool {
        self.paths.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == p || path.strip_suffix('/') == Some(p.as_str()),
        })
    }
}

/// The category of a page, from the path of its URL.
pub fn page_category<'a>(pages: &'a [PageCategory], url: &str) -> Option<&'a str> {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| url.to_owned());
    pages
        .iter()
        .find(|p| p.matches(&path))
        .map(|p| p.category.as_str())
}

/// Checks `[[pages]]`.
pub(crate) fn validate(d: &mut Diag<'_>, raw: &[raw::Page]) -> Vec<PageCategory> {
    raw.iter()
        .map(|p| {
            for path in &p.paths {
                if !path.get_ref().starts_with('/') {
                    d.span(
                        path,
                        format!("pages.paths: {:?} must start with '/'", path.get_ref()),
                    );
                }
            }
            PageCategory {
                category: non_empty(d, &p.category, "pages.category"),
                paths: p.paths.iter().map(|s| s.get_ref().clone()).collect(),
            }
        })
        .collect()
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use crate::diag::S;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Page {
        pub category: S<String>,
        pub paths: Vec<S<String>>,
    }
}
