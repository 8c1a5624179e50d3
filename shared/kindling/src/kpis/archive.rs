//! The weekly copy of the report: when the digest is due and someone is still to get it, the
//! run writes the full report page ([`super::page`]: the twelve weeks up to the digest's week)
//! to the report archive (AWS: the stack's private, encrypted bucket, whose objects expire;
//! locally: `<data dir>/reports/`) and the digest links it, for [`LINK_VALID`] on AWS.
//!
//! The copy is a convenience of the digest, not a record: it can be rebuilt from the tallies
//! at any time (`kindling report`, `GET /admin/report`). So a failure to write it is logged
//! and the digest goes without the link rather than not at all. A retried digest writes the
//! same name again (the page of the same weeks, a moment later).

use super::KpiQuery;
use crate::app::Kindling;
use crate::error::PortError;
use chrono::{Duration, NaiveDate};

/// How long the digest's link to the report works (SigV4's longest presigned URL on AWS).
pub const LINK_VALID: Duration = Duration::days(7);

/// Where the weekly report is kept.
#[async_trait::async_trait]
pub trait ReportArchive: Send + Sync {
    /// Keeps `html` as `name` (`2026-11-30.html`: the digest's day), replacing a page of that
    /// name, and gives a link a person can open for [`LINK_VALID`], or `None` if there is no
    /// such link to give.
    async fn keep(&self, name: &str, html: &str) -> Result<Option<String>, PortError>;
}

/// The name of the digest's report of `day`.
pub fn name_of(day: NaiveDate) -> String {
    format!("{day}.html")
}

/// Writes the report of the digest of `day` (the twelve weeks up to the day before) to the
/// archive, if the runtime has one, and gives its link. A failure is logged: the digest goes
/// without the link.
pub async fn keep_week(k: &Kindling, day: NaiveDate) -> Option<String> {
    let archive = k.reports.as_ref()?;
    let query = KpiQuery {
        until: Some((day - chrono::Days::new(1)).to_string()),
        ..KpiQuery::default()
    };
    let kept = async {
        let page = super::page::build(k, &query).await?;
        let link = archive.keep(&name_of(day), &page).await?;
        Ok::<_, crate::Error>((page.len(), link))
    }
    .await;
    match kept {
        Ok((bytes, link)) => {
            tracing::info!(day = %day, bytes, linked = link.is_some(), "weekly report kept");
            link
        }
        Err(e) => {
            tracing::error!(day = %day, error = %e, "the weekly report could not be kept; the digest goes without its link");
            None
        }
    }
}
