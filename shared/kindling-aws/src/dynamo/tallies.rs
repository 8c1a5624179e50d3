//! Tallies (counters that count each unit once) and marks.
//!
//! Counting is one transaction: the unit's record, only if it is new, and an `ADD` to the
//! bucket's counter. A redelivered event fails the first condition and adds nothing.

use super::{cancelled_conditions, item, n, s, sdk_err, str_attr, DynamoStore, Item};
use crate::dynamo::keys;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use kindling::error::PortError;
use kindling::ports::{Once, PortResult, Put as Outcome, Tallies, Tally, TALLY_UNIT_DAYS};
use std::collections::BTreeMap;

/// Counter attributes are `c_{counter}`.
const COUNTER_PREFIX: &str = "c_";
const VALUE: &str = "value";

fn build_err(e: impl std::fmt::Display) -> PortError {
    PortError::new("dynamodb", format!("request: {e}"))
}

fn tally_of(it: &Item) -> PortResult<Tally> {
    let bucket = str_attr(it, keys::SK)?.to_owned();
    let mut counts = BTreeMap::new();
    for (name, v) in it {
        if let (Some(counter), AttributeValue::N(num)) = (name.strip_prefix(COUNTER_PREFIX), v) {
            let num = num
                .parse()
                .map_err(|_| PortError::new("dynamodb", format!("bad number in {name}")))?;
            counts.insert(counter.to_owned(), num);
        }
    }
    Ok(Tally { bucket, counts })
}

impl DynamoStore {
    /// The two writes of a count once: the unit's marker (if absent) and the counter's add.
    pub(super) fn count_once_writes(
        &self,
        series: &str,
        bucket: &str,
        counter: &str,
        unit: &str,
        now: DateTime<Utc>,
    ) -> PortResult<(Put, Update)> {
        let mut marker = item(keys::tally_unit(series, bucket, counter, unit));
        let expires = now + chrono::Duration::days(TALLY_UNIT_DAYS);
        marker.insert(keys::TTL.into(), n(expires.timestamp()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        let (pk, sk) = keys::tally(series, bucket);
        let add = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("ADD #c :one")
            .expression_attribute_names("#c", format!("{COUNTER_PREFIX}{counter}"))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(build_err)?;
        Ok((put, add))
    }
}

impl DynamoStore {
    /// One transaction: the markers of `groups` (each only if absent), then one `ADD` update per
    /// bucket with every counter the groups add there. `Ok(None)` when it wrote; else which
    /// markers existed.
    async fn count_groups(
        &self,
        scope: &str,
        groups: &[&Once],
        keep_days: i64,
        now: DateTime<Utc>,
    ) -> PortResult<Option<Vec<bool>>> {
        let expires = now + chrono::Duration::days(keep_days);
        let mut tx = Vec::new();
        let mut buckets: BTreeMap<(&str, &str), BTreeMap<&str, u64>> = BTreeMap::new();
        for g in groups {
            let mut marker = item(keys::tally_once_unit(scope, &g.unit));
            marker.insert(keys::TTL.into(), n(expires.timestamp()));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(marker))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(build_err)?;
            tx.push(TransactWriteItem::builder().put(put).build());
            for a in &g.adds {
                *buckets
                    .entry((a.series.as_str(), a.bucket.as_str()))
                    .or_default()
                    .entry(a.counter.as_str())
                    .or_default() += a.by;
            }
        }
        for ((series, bucket), counters) in &buckets {
            let (pk, sk) = keys::tally(series, bucket);
            let mut up = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk));
            let mut clauses = Vec::with_capacity(counters.len());
            for (i, (counter, by)) in counters.iter().enumerate() {
                clauses.push(format!("#c{i} :v{i}"));
                up = up
                    .expression_attribute_names(
                        format!("#c{i}"),
                        format!("{COUNTER_PREFIX}{counter}"),
                    )
                    .expression_attribute_values(format!(":v{i}"), n(*by));
            }
            let up = up
                .update_expression(format!("ADD {}", clauses.join(", ")))
                .build()
                .map_err(build_err)?;
            tx.push(TransactWriteItem::builder().update(up).build());
        }
        if tx.len() > TRANSACT_MAX {
            return Err(PortError::new(
                "dynamodb",
                format!("{} writes in one count: more than {TRANSACT_MAX}", tx.len()),
            ));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(tx))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(e) => match cancelled_conditions(&e) {
                Some(c) => Ok(Some(c.into_iter().take(groups.len()).collect())),
                None => Err(sdk_err("TransactWriteItems", e)),
            },
        }
    }
}

/// The most items of one `TransactWriteItems`.
const TRANSACT_MAX: usize = 100;

#[async_trait]
impl Tallies for DynamoStore {
    async fn tally_once(
        &self,
        series: &str,
        bucket: &str,
        counter: &str,
        unit: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Outcome> {
        let (put, add) = self.count_once_writes(series, bucket, counter, unit, now)?;
        match self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(add).build())
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Created),
            Err(e) if cancelled_conditions(&e).is_some_and(|c| c.first() == Some(&true)) => {
                Ok(Outcome::Existed)
            }
            Err(e) => Err(sdk_err("TransactWriteItems", e)),
        }
    }

    async fn tallies(
        &self,
        series: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> PortResult<Vec<Tally>> {
        let condition = match (from, to) {
            (Some(_), Some(_)) => "#pk = :pk AND #sk BETWEEN :from AND :to",
            (Some(_), None) => "#pk = :pk AND #sk >= :from",
            (None, Some(_)) => "#pk = :pk AND #sk <= :to",
            (None, None) => "#pk = :pk",
        };
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", s(keys::tally_pk(series)))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if from.is_some() || to.is_some() {
                q = q.expression_attribute_names("#sk", keys::SK);
            }
            if let Some(f) = from {
                q = q.expression_attribute_values(":from", s(f));
            }
            if let Some(t) = to {
                q = q.expression_attribute_values(":to", s(t));
            }
            let page = q.send().await.map_err(|e| sdk_err("Query", e))?;
            for it in page.items() {
                out.push(tally_of(it)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn set_mark(
        &self,
        series: &str,
        name: &str,
        value: &str,
        only_if_absent: bool,
    ) -> PortResult<Outcome> {
        let mut it = item(keys::mark(series, name));
        it.insert(VALUE.into(), s(value));
        if only_if_absent {
            return self.put_new_item(it).await;
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .send()
            .await
            .map_err(|e| sdk_err("PutItem", e))?;
        Ok(Outcome::Created)
    }

    async fn tally_each_once(
        &self,
        scope: &str,
        groups: &[Once],
        keep_days: i64,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Outcome>> {
        let mut out = vec![Outcome::Existed; groups.len()];
        // Which groups may be new: all of one (its transaction's condition says), else those
        // whose marker a consistent read does not find, so a repeat costs no write.
        let mut pending: Vec<usize> = (0..groups.len()).collect();
        if groups.len() > 1 {
            let found = self
                .batch_get(
                    groups
                        .iter()
                        .map(|g| keys::tally_once_unit(scope, &g.unit))
                        .collect(),
                )
                .await?;
            let seen: std::collections::BTreeSet<&str> = found
                .iter()
                .filter_map(|it| str_attr(it, keys::PK).ok())
                .collect();
            pending.retain(|&i| {
                !seen.contains(keys::tally_once_unit(scope, &groups[i].unit).0.as_str())
            });
        }
        for _ in 0..kindling::ports::CAS_ATTEMPTS {
            if pending.is_empty() {
                return Ok(out);
            }
            let batch: Vec<&Once> = pending.iter().map(|&i| &groups[i]).collect();
            match self.count_groups(scope, &batch, keep_days, now).await? {
                None => {
                    for &i in &pending {
                        out[i] = Outcome::Created;
                    }
                    return Ok(out);
                }
                // Counted meanwhile (a concurrent redelivery): the others are tried again.
                Some(existed) => {
                    let mut k = 0;
                    pending.retain(|_| {
                        let keep = !existed.get(k).copied().unwrap_or(false);
                        k += 1;
                        keep
                    });
                }
            }
        }
        Err(PortError::new(
            "dynamodb",
            "tally: too many concurrent counts",
        ))
    }

    async fn marks(&self, series: &str) -> PortResult<BTreeMap<String, String>> {
        let items = self.query_prefix(keys::mark_pk(series), "").await?;
        items
            .iter()
            .map(|it| {
                Ok((
                    str_attr(it, keys::SK)?.to_owned(),
                    str_attr(it, VALUE)?.to_owned(),
                ))
            })
            .collect()
    }
}
