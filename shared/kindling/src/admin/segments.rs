//! Segments for people: each segment's definition, its exact count, its latest entries and
//! departures, and its members page by page, all read from the membership index (no lead is
//! walked), for [`super::Admin::segments`] and [`super::Admin::segment`].

use crate::app::Kindling;
use crate::error::Result;
use crate::ids::{LeadId, SegmentId};
use crate::segments::ports::{Cursor, MemberChange};
use crate::segments::Segment;
use chrono::{DateTime, Utc};
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

/// An entry or a departure, with the lead's address for people.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ChangeView {
    pub lead_id: LeadId,
    /// `None` if the lead was deleted since.
    pub email: Option<String>,
    pub entered: bool,
    pub at: DateTime<Utc>,
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
    /// The latest entries and departures, newest first.
    pub recent: Vec<ChangeView>,
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
    let email = |id: LeadId| async move {
        let lead = k.stores.leads.get_lead(&id).await?;
        Result::<_, crate::error::Error>::Ok((id, lead.map(|l| l.email.to_string())))
    };
    let mut members = Vec::with_capacity(page.members.len());
    for m in page.members {
        let (lead_id, email) = email(m.lead_id).await?;
        members.push(MemberView {
            lead_id,
            email,
            since: m.since,
        });
    }
    let mut recent = Vec::new();
    for c in store.recent_changes(&s.id, RECENT_CHANGES).await? {
        let MemberChange {
            lead_id,
            entered,
            at,
        } = c;
        let (lead_id, email) = email(lead_id).await?;
        recent.push(ChangeView {
            lead_id,
            email,
            entered,
            at,
        });
    }
    Ok(SegmentView {
        id: s.id.clone(),
        label: s.label.clone(),
        definition: s.definition.clone(),
        count: store.member_count(&s.id).await?,
        recent,
        members,
        next: page.next.map(|c| c.to_string()),
    })
}
