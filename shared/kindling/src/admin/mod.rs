//! The admin operations, for operators, marketers and sales tools: declared once as the
//! [`Admin`] trait ([`interface`]), carried out in process by [`InProcess`], served over HTTP by
//! [`routes`] (authorization happens before a request gets there: IAM at API Gateway in AWS, a
//! bearer token in the local server), and called over HTTP by the CLI's client in
//! `kindling-local`.

pub mod diagnose;
mod diagnose_words;
pub mod handoff_rule;
mod in_process;
pub mod interface;
pub mod page;
mod report;
pub(crate) mod routes;
pub mod scenario;
pub mod segments;

pub use in_process::{lead_key, InProcess, MAX_NOTE};
pub use interface::Admin;
pub use report::{lead_report, InSegment, LeadReport, REPORT_ACTIVITIES};
pub use routes::{MAX_ADMIN_BODY_BYTES, MAX_BROADCAST_BODY_BYTES};

use crate::app::Kindling;

/// Records a sales mark, counts it in the KPIs (and, for the first mark since a hand-off to
/// sales, the follow-up's delay), then rescores the lead so that what reads the mark (segments
/// on `sales_status`, stages, the hand-off it closes) moves now, not at its next activity. A failure
/// after the mark is stored is an error for the caller to retry: marking again changes nothing,
/// counts nothing twice and rescores again.
pub async fn mark_and_rescore(
    k: &Kindling,
    key: &crate::leads::LeadKey,
    status: crate::leads::SalesStatus,
    note: Option<String>,
    amount: Option<crate::leads::Money>,
) -> crate::error::Result<Option<crate::leads::Lead>> {
    let Some(lead) =
        crate::leads::mark_lead(&*k.stores.leads, &*k.clock, key, status, note, amount).await?
    else {
        return Ok(None);
    };
    crate::app::sales_follow_ups(k, &lead).await?;
    Ok(Some(lead))
}
