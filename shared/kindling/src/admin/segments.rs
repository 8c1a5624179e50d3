//! Segments for people: each segment's definition, its exact count, its latest entries and
//! departures, and its members page by page, all read from the membership index (no lead is
//! walked). `GET /admin/segments`, `GET /admin/segments/{segment}`, and `kindling segment`.

use crate::app::Kindling;
use crate::error::{PortError, Result};
use crate::ids::{LeadId, SegmentId};
use crate::segments::ports::{Cursor, MemberChange};
use crate::segments::Segment;
use crate::web::{json_response, ApiError, ApiResult};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Serialize;

/// Members per page unless asked otherwise, and at most.
pub const MEMBERS_PAGE: usize = 100;
pub const MAX_MEMBERS_PAGE: usize = 500;
/// Latest changes shown with a segment.
pub const RECENT_CHANGES: usize = 20;

/// A segment in the list.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SegmentSummary {
    pub id: SegmentId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub count: u64,
}

/// A member, with its address for people.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MemberView {
    pub lead_id: LeadId,
    /// `None` if the lead was deleted since it entered.
    pub email: Option<String>,
    pub since: DateTime<Utc>,
}

/// One segment with a page of its members.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SegmentView {
    pub id: SegmentId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The condition as written in `[[segments]]`.
    pub definition: serde_json::Value,
    pub count: u64,
    /// Newest first.
    pub recent: Vec<MemberChange>,
    pub members: Vec<MemberView>,
    /// Pass as `after` for the next page; `None` after the last.
    pub next: Option<String>,
}

/// Every segment with its count, in file order.
pub async fn segment_list(k: &Kindling) -> Result<Vec<SegmentSummary>> {
    let mut out = Vec::new();
    for s in &k.config.segments {
        out.push(SegmentSummary {
            id: s.id.clone(),
            label: s.label.clone(),
            count: k.stores.segments.member_count(&s.id).await?,
        });
    }
    Ok(out)
}

/// The segment named `id`, if the program defines it.
pub fn find_segment<'a>(k: &'a Kindling, id: &str) -> Option<&'a Segment> {
    k.config.segments.iter().find(|s| s.id.as_str() == id)
}

/// One segment, with the page of members after `after`.
pub async fn segment_view(
    k: &Kindling,
    s: &Segment,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<SegmentView> {
    let store = &*k.stores.segments;
    let page = store.members(&s.id, after, limit).await?;
    let mut members = Vec::with_capacity(page.members.len());
    for m in page.members {
        let email = k
            .stores
            .leads
            .get_lead(&m.lead_id)
            .await?
            .map(|l| l.email.to_string());
        members.push(MemberView {
            lead_id: m.lead_id,
            email,
            since: m.since,
        });
    }
    Ok(SegmentView {
        id: s.id.clone(),
        label: s.label.clone(),
        definition: s.definition.clone(),
        count: store.member_count(&s.id).await?,
        recent: store.recent_changes(&s.id, RECENT_CHANGES).await?,
        members,
        next: page.next.map(|c| c.to_string()),
    })
}

fn to_json<T: Serialize>(v: &T) -> std::result::Result<serde_json::Value, ApiError> {
    serde_json::to_value(v)
        .map_err(|e| crate::error::Error::Port(PortError::new("segments", e)).into())
}

/// `GET /admin/segments`: `{"segments": [{"id", "label", "count"}]}`. Takes no query.
pub(crate) async fn list(k: &Kindling, req: &http::Request<bytes::Bytes>) -> ApiResult {
    if req.uri().query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(
            "this route takes no query parameters",
        ));
    }
    let body = serde_json::json!({ "segments": to_json(&segment_list(k).await?)? });
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /admin/segments/{segment}?after=&limit=`: the definition, the count, the latest changes
/// and a page of members. 400 for a bad `after` or `limit` or an unknown parameter, 404 for a
/// segment the program does not define.
pub(crate) async fn show(k: &Kindling, id: &str, req: &http::Request<bytes::Bytes>) -> ApiResult {
    let (after, limit) = page_query(req.uri().query().unwrap_or(""))?;
    let Some(s) = find_segment(k, id) else {
        return Err(ApiError::not_found());
    };
    let view = segment_view(k, s, after.as_ref(), limit).await?;
    Ok(json_response(StatusCode::OK, &to_json(&view)?))
}

/// `after` (a cursor this API returned) and `limit` (1 to [`MAX_MEMBERS_PAGE`]).
fn page_query(q: &str) -> std::result::Result<(Option<Cursor>, usize), ApiError> {
    let mut after = None;
    let mut limit = MEMBERS_PAGE;
    let mut seen = std::collections::HashSet::new();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if !seen.insert(k.clone()) {
            return Err(ApiError::bad_request(format!("{k}: given twice")));
        }
        match &*k {
            "after" => {
                after = Some(
                    v.parse::<Cursor>()
                        .map_err(|m| ApiError::bad_request(format!("after: {m}")))?,
                )
            }
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_MEMBERS_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "limit: a whole number from 1 to {MAX_MEMBERS_PAGE}"
                        ))
                    })?
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?} (after, limit)"
                )))
            }
        }
    }
    Ok((after, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_queries_are_checked() {
        assert_eq!(page_query("").unwrap().1, MEMBERS_PAGE);
        let (after, limit) = page_query("after=3.lead-1&limit=7").unwrap();
        assert_eq!(after.unwrap().to_string(), "3.lead-1");
        assert_eq!(limit, 7);
        for bad in [
            "limit=0",
            "limit=501",
            "limit=x",
            "after=x",
            "after=99.a",
            "limit=1&limit=2",
            "page=2",
        ] {
            assert!(page_query(bad).is_err(), "{bad}");
        }
    }
}
