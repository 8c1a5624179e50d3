//! Broadcasts (one partition, each item under a version) and their recipients (a partition per
//! broadcast; queued ones also in the sparse due index, sharded by lead).

use super::enrollments::ts;
use super::{data, item, json, n, s, sdk_err, DynamoStore, Item, DATA, VERSION};
use crate::dynamo::keys;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::broadcasts::ports::BroadcastStore;
use kindling::broadcasts::{Broadcast, Progress, Recipient, RecipientState};
use kindling::ids::{BroadcastId, LeadId};
use kindling::ports::{Cas, PortResult, Put};
use kindling::segments::ports::{shard_of, SHARDS};

fn broadcast_item(b: &Broadcast, version: u64) -> PortResult<Item> {
    let mut stored = b.clone();
    stored.version = version;
    let mut it = item(keys::broadcast(b.id.as_str()));
    it.insert(DATA.into(), json(&stored)?);
    it.insert(VERSION.into(), n(version));
    Ok(it)
}

fn recipient_item(r: &Recipient) -> PortResult<Item> {
    let mut it = item(keys::recipient(r.broadcast_id.as_str(), &r.lead_id));
    it.insert(DATA.into(), json(r)?);
    if r.state == RecipientState::Queued {
        it.insert(
            keys::GSI_DUE_PK.into(),
            s(keys::recipient_due_pk(
                r.broadcast_id.as_str(),
                shard_of(&r.lead_id),
            )),
        );
        it.insert(
            keys::GSI_DUE_SK.into(),
            s(format!("{}#{}", ts(r.due_at), r.lead_id)),
        );
    }
    Ok(it)
}

impl DynamoStore {
    /// Queued recipients of one broadcast due by `upper` (an index sort key bound), from each
    /// shard at most `limit`, earliest first.
    async fn queued(
        &self,
        broadcast: &BroadcastId,
        upper: &str,
        limit: usize,
    ) -> PortResult<Vec<Item>> {
        let limit_i32 = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let mut due = Vec::new();
        for shard in 0..SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI_DUE)
                .key_condition_expression("#pk = :shard AND #sk <= :upper")
                .expression_attribute_names("#pk", keys::GSI_DUE_PK)
                .expression_attribute_names("#sk", keys::GSI_DUE_SK)
                .expression_attribute_values(
                    ":shard",
                    s(keys::recipient_due_pk(broadcast.as_str(), shard)),
                )
                .expression_attribute_values(":upper", s(upper))
                .limit(limit_i32)
                .send()
                .await
                .map_err(|e| sdk_err("Query", e))?;
            due.extend(out.items.unwrap_or_default());
        }
        let sort = |it: &Item| super::str_attr(it, keys::GSI_DUE_SK).map(str::to_owned);
        let mut keyed: Vec<(String, Item)> = due
            .into_iter()
            .map(|it| sort(&it).map(|k| (k, it)))
            .collect::<PortResult<_>>()?;
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(keyed.into_iter().map(|(_, it)| it).take(limit).collect())
    }
}

#[async_trait]
impl BroadcastStore for DynamoStore {
    async fn create_broadcast(&self, b: &Broadcast) -> PortResult<Put> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(broadcast_item(b, 0)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Put::Created),
            Err(e) if super::is_condition_failure(&e) => Ok(Put::Existed),
            Err(e) => Err(sdk_err("PutItem", e)),
        }
    }

    async fn get_broadcast(&self, id: &BroadcastId) -> PortResult<Option<Broadcast>> {
        self.get(keys::broadcast(id.as_str()))
            .await?
            .map(|i| data(&i))
            .transpose()
    }

    async fn update_broadcast(&self, b: &Broadcast) -> PortResult<Cas> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(broadcast_item(b, b.version + 1)?))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(b.version))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Cas::Updated),
            Err(e) if super::is_condition_failure(&e) => Ok(Cas::Stale),
            Err(e) => Err(sdk_err("PutItem", e)),
        }
    }

    async fn list_broadcasts(&self) -> PortResult<Vec<Broadcast>> {
        let items = self.query_prefix(keys::BROADCASTS.to_owned(), "B#").await?;
        let mut all: Vec<Broadcast> = items.iter().map(data).collect::<PortResult<_>>()?;
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    async fn add_recipients(&self, recipients: &[Recipient]) -> PortResult<u64> {
        let mut added = 0;
        for r in recipients {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(recipient_item(r)?))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await;
            match put {
                Ok(_) => added += 1,
                Err(e) if super::is_condition_failure(&e) => {}
                Err(e) => return Err(sdk_err("PutItem", e)),
            }
        }
        Ok(added)
    }

    async fn due_recipients(
        &self,
        broadcast: &BroadcastId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        // '~' sorts after every id character, so this bound includes everything due at `now`.
        let upper = format!("{}#~", ts(now));
        // The index is eventually consistent: an entry may be a moment behind its recipient (one
        // just handled, or deferred). The sender acts on it safely anyway: the send's claim in
        // the ledger decides whether it goes, and every outcome is recorded idempotently.
        self.queued(broadcast, &upper, limit)
            .await?
            .iter()
            .map(data)
            .collect()
    }

    async fn next_due(&self, broadcast: &BroadcastId) -> PortResult<Option<DateTime<Utc>>> {
        let items = self.queued(broadcast, "~", 1).await?;
        items
            .first()
            .map(|it| data::<Recipient>(it).map(|r| r.due_at))
            .transpose()
    }

    async fn update_recipient(&self, r: &Recipient) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(recipient_item(r)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(|e| sdk_err("PutItem", e))?;
        Ok(())
    }

    async fn get_recipient(
        &self,
        broadcast: &BroadcastId,
        lead: &LeadId,
    ) -> PortResult<Option<Recipient>> {
        self.get(keys::recipient(broadcast.as_str(), lead))
            .await?
            .map(|i| data(&i))
            .transpose()
    }

    async fn recipients(
        &self,
        broadcast: &BroadcastId,
        after: Option<&LeadId>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        let pk = keys::recipients_pk(broadcast.as_str());
        let start = format!("R#{}", after.map_or("", |l| l.as_str()));
        let limit_i32 = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let mut out: Vec<Recipient> = Vec::new();
        let mut from: Option<Item> = None;
        while out.len() < limit {
            let out_page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk > :after")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":after", s(start.clone()))
                .consistent_read(true)
                .limit(limit_i32)
                .set_exclusive_start_key(from)
                .send()
                .await
                .map_err(|e| sdk_err("Query", e))?;
            for it in out_page.items.unwrap_or_default() {
                out.push(data(&it)?);
            }
            from = out_page.last_evaluated_key;
            if from.is_none() {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn progress(&self, broadcast: &BroadcastId) -> PortResult<Progress> {
        let items = self
            .query_prefix(keys::recipients_pk(broadcast.as_str()), "R#")
            .await?;
        let mut p = Progress::default();
        for it in &items {
            let r: Recipient = data(it)?;
            p.count(&r);
        }
        Ok(p)
    }
}
