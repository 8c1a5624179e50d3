//! Enrollments, and the sparse, sharded due-steps index.

use super::{data, item, json, n, s, sdk_err, str_attr, DynamoStore, Item, DATA, VERSION};
use crate::dynamo::keys;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::ids::LeadId;
use kindling::ports::{Cas, PortResult, Put};
use kindling::sequences::ports::EnrollmentStore;
use kindling::sequences::{Enrollment, EnrollmentStatus};
use std::collections::HashMap;

/// Fixed-width UTC, so that text order is time order in the index.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn enrollment_item(e: &Enrollment, version: u64) -> PortResult<Item> {
    let mut stored = e.clone();
    stored.version = version;
    let mut it = item(keys::enrollment(&e.lead_id, &e.sequence_id, e.entry));
    it.insert(DATA.into(), json(&stored)?);
    it.insert(VERSION.into(), n(version));
    it.insert("id".into(), s(e.id.as_str()));
    // Only active, scheduled enrollments are in the due index: it stays small.
    if let (EnrollmentStatus::Active, Some(due)) = (e.status, e.next_due_at) {
        it.insert(keys::GSI_DUE_PK.into(), s(keys::due_shard(&e.lead_id)));
        it.insert(
            keys::GSI_DUE_SK.into(),
            s(format!("{}#{}#{}", ts(due), e.lead_id, e.id)),
        );
    }
    Ok(it)
}

impl DynamoStore {
    /// Items of one kind in the sharded index due at or before `now`, earliest first.
    pub(crate) async fn due_in_index(
        &self,
        prefix: &'static str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Item>> {
        // '~' sorts after every id character, so this bound includes everything due at `now`.
        let upper = format!("{}#~", ts(now));
        self.due_in_shards(keys::shards(prefix), &upper, limit)
            .await
    }

    /// Index entries (keys only) of the partitions `shards` whose sort key is at most `upper`,
    /// at most `limit` in sort-key (due-time) order.
    pub(crate) async fn due_in_shards(
        &self,
        shards: impl IntoIterator<Item = String>,
        upper: &str,
        limit: usize,
    ) -> PortResult<Vec<Item>> {
        let limit_i32 = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let mut due = Vec::new();
        for shard in shards {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI_DUE)
                .key_condition_expression("#pk = :shard AND #sk <= :upper")
                .expression_attribute_names("#pk", keys::GSI_DUE_PK)
                .expression_attribute_names("#sk", keys::GSI_DUE_SK)
                .expression_attribute_values(":shard", s(shard))
                .expression_attribute_values(":upper", s(upper))
                .limit(limit_i32)
                .send()
                .await
                .map_err(|e| sdk_err("Query", e))?;
            for it in out.items.unwrap_or_default() {
                let sort = str_attr(&it, keys::GSI_DUE_SK)?.to_owned();
                due.push((sort, it));
            }
        }
        due.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(due.into_iter().map(|(_, it)| it).take(limit).collect())
    }

    /// The items themselves (read strongly from the table) behind the index entries `entries`,
    /// in their order, keeping only those still in the index where the entry put them (the index
    /// projects keys only, and is eventually consistent).
    pub(crate) async fn items_of_entries(&self, entries: &[Item]) -> PortResult<Vec<Item>> {
        let keys = entries
            .iter()
            .map(|e| {
                Ok((
                    str_attr(e, keys::PK)?.to_owned(),
                    str_attr(e, keys::SK)?.to_owned(),
                ))
            })
            .collect::<PortResult<Vec<_>>>()?;
        let mut fetched: HashMap<(String, String), Item> = HashMap::new();
        for it in self.batch_get(keys.clone()).await? {
            let key = (
                str_attr(&it, keys::PK)?.to_owned(),
                str_attr(&it, keys::SK)?.to_owned(),
            );
            fetched.insert(key, it);
        }
        let mut out = Vec::with_capacity(entries.len());
        for (entry, key) in entries.iter().zip(keys) {
            let Some(it) = fetched.remove(&key) else {
                continue;
            };
            let same = |attr: &str| it.contains_key(attr) && it.get(attr) == entry.get(attr);
            if same(keys::GSI_DUE_PK) && same(keys::GSI_DUE_SK) {
                out.push(it);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl EnrollmentStore for DynamoStore {
    async fn enroll(&self, e: &Enrollment) -> PortResult<Put> {
        self.put_new_item(enrollment_item(e, 0)?).await
    }

    async fn enrollments_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Enrollment>> {
        let items = self.query_prefix(keys::lead_pk(lead), "ENR#").await?;
        items.iter().map(data).collect()
    }

    async fn due_enrollments(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Enrollment>> {
        let due = self.due_in_index(keys::DUE_PREFIX, now, limit).await?;
        // The index holds keys only: each enrollment is read from the table, and one that has
        // moved on since its entry was indexed is left out.
        self.items_of_entries(&due)
            .await?
            .iter()
            .map(data)
            .collect()
    }

    async fn update_enrollment(&self, e: &Enrollment) -> PortResult<Cas> {
        self.put_versioned(enrollment_item(e, e.version + 1)?, e.version)
            .await
    }
}
