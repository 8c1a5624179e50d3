//! Where the weekly copy of the KPI report is kept: when the digest is due and someone is still
//! to get it, the run writes the full report page (`admin::page`: the twelve weeks up to the
//! digest's week) to the archive (AWS: the stack's private, encrypted bucket, whose objects
//! expire; locally: `<data dir>/reports/`) and the digest links it, for [`LINK_VALID`] on AWS.
//!
//! The copy is a convenience of the digest, not a record: it can be rebuilt from the tallies
//! at any time (`kindling report`, `GET /admin/report`). So a failure to write it is logged
//! and the digest goes without the link rather than not at all. A retried digest writes the
//! same name again (the page of the same weeks, a moment later).

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
