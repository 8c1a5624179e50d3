//! The activity log: one conditional put per activity (the id is the idempotency key).

use super::{data, item, json, n, DynamoStore, DATA};
use crate::dynamo::keys;
use async_trait::async_trait;
use kindling::activities::ports::ActivityLog;
use kindling::activities::{Activity, Subject};
use kindling::ids::{LeadId, VisitorId};
use kindling::ports::{PortResult, Put};

/// Anonymous history expires with the visitor cookie (395 days) unless the visitor is identified
/// (its activities are then read through the lead's visitor links until they expire too).
pub const VISITOR_ACTIVITY_TTL_DAYS: i64 = kindling::activities::VISITOR_HISTORY_DAYS;

fn sorted(mut v: Vec<Activity>) -> Vec<Activity> {
    v.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    v
}

/// An activity's item: under its lead, or under its visitor with the cookie's expiry.
pub(super) fn activity_item(a: &Activity) -> PortResult<super::Item> {
    let mut it = match &a.subject {
        Subject::Lead(l) => item(keys::lead_activity(l, &a.id)),
        Subject::Visitor(v) => {
            let mut it = item(keys::visitor_activity(v, &a.id));
            let expires = a.at + chrono::Duration::days(VISITOR_ACTIVITY_TTL_DAYS);
            it.insert(keys::TTL.into(), n(expires.timestamp()));
            it
        }
    };
    it.insert(DATA.into(), json(a)?);
    Ok(it)
}

#[async_trait]
impl ActivityLog for DynamoStore {
    async fn record(&self, a: &Activity) -> PortResult<Put> {
        self.put_new_item(activity_item(a)?).await
    }

    async fn activities_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Activity>> {
        let items = self.query_prefix(keys::lead_pk(lead), "ACT#").await?;
        Ok(sorted(items.iter().map(data).collect::<PortResult<_>>()?))
    }

    async fn activities_of_visitor(&self, visitor: &VisitorId) -> PortResult<Vec<Activity>> {
        let items = self.query_prefix(keys::visitor_pk(visitor), "ACT#").await?;
        Ok(sorted(items.iter().map(data).collect::<PortResult<_>>()?))
    }
}
