//! The DynamoDB store: every store port of `kindling` on one table (see [`keys`]). Each
//! item carries its domain object as compact JSON in `d`, plus the key, index and version
//! attributes that conditions and queries need.

mod activities;
mod alerts;
mod broadcasts;
mod enrollments;
pub mod keys;
mod leads;
mod schema;
mod segments;
mod sends;
mod suppressions;
mod tallies;

pub use schema::create_table;

use crate::dynamo::keys::{Key, PK, SK};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use kindling::error::PortError;
use kindling::ports::PortResult;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// An item as the SDK sees it.
pub type Item = HashMap<String, AttributeValue>;

/// The data attribute: the domain object as JSON.
const DATA: &str = "d";
/// The optimistic-concurrency version attribute.
const VERSION: &str = "v";
/// The most keys one `BatchGetItem` takes.
const BATCH_GET_MAX: usize = 100;
/// How long ledgers read ahead serve claims: a page of sends, paced, takes a few seconds.
const PREFETCH_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Ledgers read ahead, by partition key, and when.
#[derive(Debug, Default)]
struct Prefetched {
    at: Option<std::time::Instant>,
    items: HashMap<String, Item>,
}

/// The most items one `BatchWriteItem` takes.
const BATCH_WRITE_MAX: usize = 25;
/// Rounds of a batched read or write before what DynamoDB left unprocessed is an error.
const BATCH_ATTEMPTS: u32 = 5;

/// Runs a batch operation in rounds: each round sends what is pending and gets back the items
/// it read and what DynamoDB left unprocessed, which the next round sends again after a pause
/// (50 ms doubling); what is still left after [`BATCH_ATTEMPTS`] rounds is an error.
async fn in_rounds<T, F, Fut>(op: &str, mut pending: Vec<T>, mut round: F) -> PortResult<Vec<Item>>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = PortResult<(Vec<Item>, Vec<T>)>>,
{
    let mut out = Vec::new();
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        if attempt > BATCH_ATTEMPTS {
            return Err(PortError::new(
                "dynamodb",
                format!("{op}: left unprocessed after {BATCH_ATTEMPTS} rounds"),
            ));
        }
        if attempt > 1 {
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        let (items, left) = round(std::mem::take(&mut pending)).await?;
        out.extend(items);
        pending = left;
    }
    Ok(out)
}

/// Every store port on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Cap ledgers read ahead for a page of claims (`SendLog::prefetch_ledgers`), each taken by
    /// the next claim of its lead within [`PREFETCH_FOR`]; the claim's version condition
    /// catches one gone stale.
    prefetched: std::sync::Arc<std::sync::Mutex<Prefetched>>,
}

impl DynamoStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            prefetched: std::sync::Arc::default(),
        }
    }

    /// Reads one item (strongly consistent).
    async fn get(&self, key: Key) -> PortResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(key.0))
            .key(SK, s(key.1))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_err("GetItem", e))?;
        Ok(out.item)
    }

    /// The items of these keys that exist, in any order (strongly consistent), by
    /// `BatchGetItem` in chunks of 100, with what DynamoDB leaves unprocessed asked again.
    async fn batch_get(&self, mut keys: Vec<Key>) -> PortResult<Vec<Item>> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        // DynamoDB refuses a request that names a key twice.
        keys.sort();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let pending: Vec<Item> = chunk
                .iter()
                .map(|(pk, sk)| {
                    HashMap::from([
                        (PK.to_owned(), s(pk.clone())),
                        (SK.to_owned(), s(sk.clone())),
                    ])
                })
                .collect();
            let got = in_rounds("BatchGetItem", pending, |keys| async move {
                let ka = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| PortError::new("dynamodb", e))?;
                let res = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, ka)
                    .send()
                    .await
                    .map_err(|e| sdk_err("BatchGetItem", e))?;
                let items = res
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                let left = res
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                Ok((items, left))
            })
            .await?;
            out.extend(got);
        }
        Ok(out)
    }

    /// Puts these items (unconditionally) by `BatchWriteItem` in chunks of 25, with what DynamoDB
    /// leaves unprocessed written again after a pause.
    async fn batch_put(&self, items: Vec<Item>) -> PortResult<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in items.chunks(BATCH_WRITE_MAX) {
            let pending = chunk
                .iter()
                .map(|it| {
                    PutRequest::builder()
                        .set_item(Some(it.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(|e| PortError::new("dynamodb", e))
                })
                .collect::<PortResult<Vec<_>>>()?;
            in_rounds("BatchWriteItem", pending, |writes| async move {
                let res = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, writes)
                    .send()
                    .await
                    .map_err(|e| sdk_err("BatchWriteItem", e))?;
                let left = res
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                Ok((Vec::new(), left))
            })
            .await?;
        }
        Ok(())
    }

    /// Every item of a partition whose sort key starts with `prefix` (empty: every item), all
    /// pages.
    async fn query_prefix(&self, pk: String, prefix: &str) -> PortResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            q = if prefix.is_empty() {
                q.key_condition_expression("#pk = :pk")
            } else {
                q.key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":prefix", s(prefix))
            };
            let out = q.send().await.map_err(|e| sdk_err("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

/// A string attribute.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item with its key.
pub(crate) fn item(key: Key) -> Item {
    HashMap::from([(PK.to_owned(), s(key.0)), (SK.to_owned(), s(key.1))])
}

/// The item's domain object.
pub(crate) fn data<T: DeserializeOwned>(item: &Item) -> PortResult<T> {
    let json = str_attr(item, DATA)?;
    serde_json::from_str(json)
        .map_err(|e| PortError::new("dynamodb", format!("corrupt item data: {e}")))
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> PortResult<AttributeValue> {
    serde_json::to_string(v)
        .map(AttributeValue::S)
        .map_err(|e| PortError::new("dynamodb", e))
}

/// A string attribute of an item.
pub(crate) fn str_attr<'a>(item: &'a Item, name: &str) -> PortResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(PortError::new(
            "dynamodb",
            format!("item lacks string attribute {name}"),
        )),
    }
}

/// A number attribute of an item.
pub(crate) fn num_attr(item: &Item, name: &str) -> PortResult<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| PortError::new("dynamodb", format!("bad number in {name}"))),
        _ => Err(PortError::new(
            "dynamodb",
            format!("item lacks number attribute {name}"),
        )),
    }
}

/// An SDK failure as a (retryable) port error, with the SDK's whole explanation.
pub(crate) fn sdk_err<E, R>(op: &'static str, e: SdkError<E, R>) -> PortError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    PortError::caused_by("dynamodb", op, e)
}

/// True if a single-item write failed only because its condition did not hold.
pub(crate) fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

/// Which items of a cancelled transaction failed their conditions (`None` if it was not a
/// condition failure, e.g. a throttle).
pub(crate) fn cancelled_conditions(
    e: &SdkError<TransactWriteItemsError, HttpResponse>,
) -> Option<Vec<bool>> {
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            let reasons = c.cancellation_reasons();
            if reasons.iter().any(|r| {
                !matches!(
                    r.code(),
                    Some("ConditionalCheckFailed") | Some("None") | None
                )
            }) {
                return None;
            }
            Some(
                reasons
                    .iter()
                    .map(|r| r.code() == Some("ConditionalCheckFailed"))
                    .collect(),
            )
        }
        _ => None,
    }
}
