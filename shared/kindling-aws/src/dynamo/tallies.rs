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
use kindling::ports::{PortResult, Put as Outcome, Tallies, Tally, TALLY_UNIT_DAYS};
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
