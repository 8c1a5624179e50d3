//! Segment members, spread over [`SHARDS`] partitions per segment by lead so that a segment
//! filling up at once heats no partition. Each shard has a count item beside its members; adding
//! or removing a member is one transaction (the member, only if new or only if present, and the
//! count with the shard's last changes), so the count stays exact under retries and races.
//! Two item writes per change, none when nothing changes.

use super::{cancelled_conditions, item, n, s, sdk_err, str_attr, DynamoStore, Item};
use crate::dynamo::keys;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use kindling::error::PortError;
use kindling::ids::{LeadId, SegmentId};
use kindling::ports::{PortResult, Put as Outcome};
use kindling::segments::ports::{
    shard_of, Cursor, Member, MemberChange, MemberPage, SegmentMembers, SHARDS,
};

/// The last changes a shard's count item keeps (`c0` newest … `c3`).
const KEPT: usize = 4;

fn build_err(e: impl std::fmt::Display) -> PortError {
    PortError::new("dynamodb", format!("request: {e}"))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Change {
    lead: String,
    entered: bool,
    at: DateTime<Utc>,
}

impl DynamoStore {
    /// The count update of a change: `n` moves by `delta`, the last changes shift by one.
    fn count_update(
        &self,
        segment: &SegmentId,
        lead: &LeadId,
        entered: bool,
        at: DateTime<Utc>,
    ) -> PortResult<TransactWriteItem> {
        let (pk, sk) = keys::segment_count(segment.as_str(), shard_of(lead));
        let change = serde_json::to_string(&Change {
            lead: lead.to_string(),
            entered,
            at,
        })
        .map_err(build_err)?;
        let mut expr = String::from("SET #n = if_not_exists(#n, :zero) + :d");
        for i in (1..KEPT).rev() {
            expr.push_str(&format!(", c{i} = if_not_exists(c{}, :none)", i - 1));
        }
        expr.push_str(", c0 = :change");
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression(expr)
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":d", n(if entered { 1 } else { -1 }))
            .expression_attribute_values(":none", s(""))
            .expression_attribute_values(":change", s(change))
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Runs a change's two writes; `false` if the member's condition did not hold.
    async fn change(
        &self,
        member: TransactWriteItem,
        count: TransactWriteItem,
    ) -> PortResult<bool> {
        match self
            .client
            .transact_write_items()
            .transact_items(member)
            .transact_items(count)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if cancelled_conditions(&e).is_some_and(|c| c.first() == Some(&true)) => {
                Ok(false)
            }
            Err(e) => Err(sdk_err("TransactWriteItems", e)),
        }
    }

    async fn count_items(&self, segment: &SegmentId) -> PortResult<Vec<Item>> {
        let mut out = Vec::new();
        for shard in 0..SHARDS {
            if let Some(it) = self
                .get(keys::segment_count(segment.as_str(), shard))
                .await?
            {
                out.push(it);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl SegmentMembers for DynamoStore {
    async fn add_member(&self, segment: &SegmentId, member: &Member) -> PortResult<Outcome> {
        let mut it = item(keys::segment_member(segment.as_str(), &member.lead_id));
        it.insert("since".into(), s(member.since.to_rfc3339()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        let count = self.count_update(segment, &member.lead_id, true, member.since)?;
        let added = self
            .change(TransactWriteItem::builder().put(put).build(), count)
            .await?;
        Ok(if added {
            Outcome::Created
        } else {
            Outcome::Existed
        })
    }

    async fn remove_member(
        &self,
        segment: &SegmentId,
        lead: &LeadId,
        at: DateTime<Utc>,
    ) -> PortResult<bool> {
        let (pk, sk) = keys::segment_member(segment.as_str(), lead);
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build_err)?;
        let count = self.count_update(segment, lead, false, at)?;
        self.change(TransactWriteItem::builder().delete(delete).build(), count)
            .await
    }

    async fn member_count(&self, segment: &SegmentId) -> PortResult<u64> {
        let mut total: i64 = 0;
        for it in self.count_items(segment).await? {
            let v = match it.get("n") {
                Some(AttributeValue::N(v)) => v
                    .parse::<i64>()
                    .map_err(|_| PortError::new("dynamodb", "bad segment count"))?,
                _ => 0,
            };
            total += v;
        }
        u64::try_from(total).map_err(|_| PortError::new("dynamodb", "negative segment count"))
    }

    async fn members(
        &self,
        segment: &SegmentId,
        after: Option<&Cursor>,
        limit: usize,
    ) -> PortResult<MemberPage> {
        let limit = limit.max(1);
        let mut page = MemberPage::default();
        let first = after.map_or(0, |c| c.shard);
        for shard in first..SHARDS {
            let pk = keys::segment_pk(segment.as_str(), shard);
            let mut start = after.filter(|c| c.shard == shard).map(|c| {
                let (pk, sk) = keys::segment_member(segment.as_str(), &c.after);
                item((pk, sk))
            });
            loop {
                let want = limit - page.members.len();
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :m)")
                    .expression_attribute_names("#pk", keys::PK)
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":m", s(keys::MEMBER_PREFIX))
                    .consistent_read(true)
                    .limit(i32::try_from(want).unwrap_or(i32::MAX))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| sdk_err("Query", e))?;
                for it in out.items.unwrap_or_default() {
                    let lead = str_attr(&it, keys::SK)?.trim_start_matches(keys::MEMBER_PREFIX);
                    let since = DateTime::parse_from_rfc3339(str_attr(&it, "since")?)
                        .map_err(|e| PortError::new("dynamodb", format!("bad since: {e}")))?
                        .with_timezone(&Utc);
                    page.members.push(Member {
                        lead_id: LeadId::new(lead),
                        since,
                    });
                }
                if page.members.len() == limit {
                    page.next = page.members.last().map(|m| Cursor {
                        shard,
                        after: m.lead_id.clone(),
                    });
                    return Ok(page);
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(page)
    }

    async fn recent_changes(
        &self,
        segment: &SegmentId,
        limit: usize,
    ) -> PortResult<Vec<MemberChange>> {
        let mut out = Vec::new();
        for it in self.count_items(segment).await? {
            for i in 0..KEPT {
                let Some(AttributeValue::S(json)) = it.get(&format!("c{i}")) else {
                    continue;
                };
                if json.is_empty() {
                    continue;
                }
                let c: Change = serde_json::from_str(json)
                    .map_err(|e| PortError::new("dynamodb", format!("bad change: {e}")))?;
                out.push(MemberChange {
                    lead_id: LeadId::new(c.lead),
                    entered: c.entered,
                    at: c.at,
                });
            }
        }
        out.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.lead_id.cmp(&b.lead_id)));
        out.truncate(limit);
        Ok(out)
    }
}
