//! Broadcasts (one partition, each item under a version) and their recipients (a partition per
//! broadcast; queued ones also in the sparse due index, sharded by lead).

use super::enrollments::ts;
use super::{data, item, json, n, s, sdk_err, str_attr, DynamoStore, Item, DATA, VERSION};
use crate::dynamo::keys;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::broadcasts::ports::BroadcastStore;
use kindling::broadcasts::{Broadcast, Progress, Recipient, RecipientState, State};
use kindling::ids::{BroadcastId, LeadId};
use kindling::ports::{Cas, PortResult, Put};
use kindling::segments::ports::{shard_of, SHARDS};

fn broadcast_item(b: &Broadcast, version: u64) -> PortResult<Item> {
    let mut stored = b.clone();
    stored.version = version;
    let mut it = item(keys::broadcast(b.id.as_str()));
    it.insert(DATA.into(), json(&stored)?);
    it.insert(VERSION.into(), n(version));
    // Only broadcasts the sender has work for are in the index: each run reads just those.
    if matches!(b.state, State::Scheduled | State::Sending) {
        it.insert(keys::GSI_DUE_PK.into(), s(keys::ACTIVE_BROADCASTS));
        it.insert(
            keys::GSI_DUE_SK.into(),
            s(format!("{}#{}", ts(b.created_at), b.id)),
        );
    }
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

/// The due-index partitions of a broadcast's queued recipients.
fn recipient_shards(broadcast: &BroadcastId) -> impl Iterator<Item = String> + '_ {
    (0..SHARDS).map(move |shard| keys::recipient_due_pk(broadcast.as_str(), shard))
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

    async fn active_broadcasts(&self) -> PortResult<Vec<Broadcast>> {
        let listed = self
            .due_in_shards([keys::ACTIVE_BROADCASTS.to_owned()], "~", 1_000)
            .await?;
        // The index holds keys only and is eventually consistent: read each one from the table,
        // keep what is still active.
        let mut out = Vec::with_capacity(listed.len());
        for it in self.items_of_entries(&listed).await? {
            let fresh: Broadcast = data(&it)?;
            if matches!(fresh.state, State::Scheduled | State::Sending) {
                out.push(fresh);
            }
        }
        Ok(out)
    }

    async fn add_recipients(&self, recipients: &[Recipient]) -> PortResult<()> {
        // BatchWriteItem (25 a request) has no conditions: it may, because a freeze page is
        // written before any recipient of its broadcast is handled, so writing one again writes
        // the same queued record (see the port).
        let items = recipients
            .iter()
            .map(recipient_item)
            .collect::<PortResult<Vec<_>>>()?;
        self.batch_put(items).await
    }

    async fn due_recipients(
        &self,
        broadcast: &BroadcastId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Recipient>> {
        // '~' sorts after every id character, so this bound includes everything due at `now`.
        let upper = format!("{}#~", ts(now));
        // The index holds keys only and is eventually consistent: each recipient is read from
        // the table, and one handled or deferred since its entry was indexed is left out. The
        // send's claim in the ledger still decides whether a mail goes.
        let entries = self
            .due_in_shards(recipient_shards(broadcast), &upper, limit)
            .await?;
        self.items_of_entries(&entries)
            .await?
            .iter()
            .map(data)
            .collect()
    }

    async fn next_due(&self, broadcast: &BroadcastId) -> PortResult<Option<DateTime<Utc>>> {
        let items = self
            .due_in_shards(recipient_shards(broadcast), "~", 1)
            .await?;
        // The entry's sort key starts with the due time (`{due}#{lead}`).
        items
            .first()
            .map(|it| {
                let sort = str_attr(it, keys::GSI_DUE_SK)?;
                let due = sort.split('#').next().unwrap_or_default();
                DateTime::parse_from_rfc3339(due)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| kindling::error::PortError::new("dynamodb", e))
            })
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

    async fn update_recipients(&self, rs: &[Recipient]) -> PortResult<()> {
        // BatchWriteItem (25 a request) has no conditions; every recipient here was read from
        // the store, and its outcome follows from its claim (see the port).
        let items = rs
            .iter()
            .map(recipient_item)
            .collect::<PortResult<Vec<_>>>()?;
        self.batch_put(items).await
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
