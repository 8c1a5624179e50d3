//! Counts DynamoDB requests with the capacity units DynamoDB would bill for them, computed from the
//! real items each request writes and each response returns (moto reports no capacity of its
//! own). The rules, from the DynamoDB developer guide:
//!
//! - an item's size is the sum of its attribute names and values (strings and binaries by their
//!   bytes, numbers at about one byte per two digits plus one, lists and maps 3 bytes plus their
//!   elements, each element of a list 1 byte more);
//! - a read is one unit per 4 KB, rounded up per item for `GetItem` and `BatchGetItem` and over the
//!   whole page for `Query` and `Scan`, half of that when eventually consistent;
//! - a write is one unit per KB of the item written, rounded up, twice that in a transaction
//!   (index writes included: an upper bound). An `UpdateItem` or `DeleteItem` is counted by its
//!   key and values, at least one unit: the stored item may be larger, so those are lower bounds;
//! - the due index (`GSI1`) projects keys only, so an index entry is one unit, written only when
//!   the item's index key changes: one write when an item enters or leaves the index, two (a
//!   delete and a put) when its key moves, none when it stays. The counter remembers the index
//!   key it last saw written for each item; an item it never saw is taken as new.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Item = HashMap<String, AttributeValue>;
/// A pair of key attributes: (`PK`, `SK`) of an item, or (`GSI1PK`, `GSI1SK`) of its index entry.
type Key = (String, String);

/// One request: its operation, the items it writes, and its capacity units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub op: String,
    pub writes: usize,
    pub read_units: f64,
    pub write_units: f64,
}

/// Counts DynamoDB requests, the items they write and their capacity units, by operation.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    requests: Arc<Mutex<Vec<Request>>>,
    /// The due-index key (`GSI1PK`, `GSI1SK`) each item (`PK`, `SK`) was last written with.
    indexed: Arc<Mutex<HashMap<Key, Option<Key>>>>,
}

/// What a request's response needs to be measured: its entry and whether it read consistently.
#[derive(Debug, Clone)]
struct Pending {
    entry: usize,
    consistent: bool,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

impl RequestCounter {
    /// Forgets what was counted.
    pub fn reset(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// `(operation, items written)` in order.
    pub fn requests(&self) -> Vec<(String, usize)> {
        let all = self.requests.lock().unwrap();
        all.iter().map(|r| (r.op.clone(), r.writes)).collect()
    }

    /// Every request with its capacity units, in order.
    pub fn measured(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Items written (a transaction counts each of its items).
    pub fn writes(&self) -> usize {
        self.requests().iter().map(|(_, w)| w).sum()
    }

    /// Read requests (GetItem, BatchGetItem, Query, Scan).
    pub fn reads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(op, _)| matches!(op.as_str(), "GetItem" | "BatchGetItem" | "Query" | "Scan"))
            .count()
    }

    /// Read capacity units.
    pub fn read_units(&self) -> f64 {
        self.measured().iter().map(|r| r.read_units).sum()
    }

    /// Write capacity units.
    pub fn write_units(&self) -> f64 {
        self.measured().iter().map(|r| r.write_units).sum()
    }
}

/// An attribute value's size in bytes.
fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => 3 + item_size(m),
        _ => 1,
    }
}

/// An item's size in bytes.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize, per: usize) -> f64 {
    bytes.div_ceil(per).max(1) as f64
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn key_of(item: &Item) -> Key {
    (
        text(item, "PK").unwrap_or_default(),
        text(item, "SK").unwrap_or_default(),
    )
}

impl RequestCounter {
    /// Index write units of the item `key` now carrying the index key `now` (keys only: one
    /// unit an entry written or deleted), remembering it.
    fn index_units(&self, key: Key, now: Option<Key>) -> f64 {
        let before = self.indexed.lock().unwrap().insert(key, now.clone());
        match (before.flatten(), now) {
            (Some(a), Some(b)) if a == b => 0.0,
            (Some(_), Some(_)) => 2.0,
            (None, None) => 0.0,
            _ => 1.0,
        }
    }

    /// Write units of putting `item`, with its due-index entry.
    fn put_units(&self, item: &Item) -> f64 {
        let entry = text(item, "GSI1PK").zip(text(item, "GSI1SK"));
        units(item_size(item), 1024) + self.index_units(key_of(item), entry)
    }

    /// Write units of deleting the item `key`, with its due-index entry.
    fn delete_units(&self, key: &Item) -> f64 {
        keyed_units(Some(key), None) + self.index_units(key_of(key), None)
    }
}

/// Write units of an update or delete: its key and values (a lower bound).
fn keyed_units(key: Option<&Item>, values: Option<&Item>) -> f64 {
    units(key.map_or(0, item_size) + values.map_or(0, item_size), 1024)
}

fn read_units(items: &[Item], consistent: bool, per_item: bool) -> f64 {
    let full = if per_item {
        items.iter().map(|i| units(item_size(i), 4096)).sum()
    } else {
        units(items.iter().map(item_size).sum(), 4096)
    };
    if consistent {
        full
    } else {
        full / 2.0
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_execution(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = ctx.input();
        let mut consistent = false;
        let (op, writes, write_units) = if let Some(p) = input.downcast_ref::<PutItemInput>() {
            ("PutItem", 1, p.item().map_or(1.0, |i| self.put_units(i)))
        } else if let Some(u) = input.downcast_ref::<UpdateItemInput>() {
            let values = u.expression_attribute_values();
            ("UpdateItem", 1, keyed_units(u.key(), values))
        } else if let Some(d) = input.downcast_ref::<DeleteItemInput>() {
            (
                "DeleteItem",
                1,
                d.key().map_or(1.0, |k| self.delete_units(k)),
            )
        } else if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
            let each: f64 = t
                .transact_items()
                .iter()
                .map(|w| {
                    if let Some(p) = w.put() {
                        self.put_units(p.item())
                    } else if let Some(u) = w.update() {
                        keyed_units(Some(u.key()), u.expression_attribute_values())
                    } else if let Some(d) = w.delete() {
                        self.delete_units(d.key())
                    } else {
                        // A condition check reads: billed as a write unit in a transaction.
                        1.0
                    }
                })
                .sum();
            ("TransactWriteItems", t.transact_items().len(), 2.0 * each)
        } else if let Some(b) = input.downcast_ref::<BatchWriteItemInput>() {
            let requests: Vec<_> = b
                .request_items()
                .map(|m| m.values().flatten().collect())
                .unwrap_or_default();
            let units: f64 = requests
                .iter()
                .map(|r| match (r.put_request(), r.delete_request()) {
                    (Some(p), _) => self.put_units(p.item()),
                    (None, Some(d)) => self.delete_units(d.key()),
                    (None, None) => 0.0,
                })
                .sum();
            ("BatchWriteItem", requests.len(), units)
        } else if let Some(b) = input.downcast_ref::<BatchGetItemInput>() {
            consistent = b
                .request_items()
                .is_some_and(|m| m.values().any(|k| k.consistent_read() == Some(true)));
            ("BatchGetItem", 0, 0.0)
        } else if let Some(g) = input.downcast_ref::<GetItemInput>() {
            consistent = g.consistent_read() == Some(true);
            ("GetItem", 0, 0.0)
        } else if let Some(q) = input.downcast_ref::<QueryInput>() {
            consistent = q.consistent_read() == Some(true);
            ("Query", 0, 0.0)
        } else if let Some(s) = input.downcast_ref::<ScanInput>() {
            consistent = s.consistent_read() == Some(true);
            ("Scan", 0, 0.0)
        } else {
            ("Other", 0, 0.0)
        };
        let mut all = self.requests.lock().unwrap();
        cfg.interceptor_state().store_put(Pending {
            entry: all.len(),
            consistent,
        });
        all.push(Request {
            op: op.to_owned(),
            writes,
            read_units: 0.0,
            write_units,
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(p) = cfg.load::<Pending>().cloned() else {
            return Ok(());
        };
        let Ok(out) = ctx.output_or_error() else {
            return Ok(());
        };
        let units = if let Some(g) = out.downcast_ref::<GetItemOutput>() {
            let item = g.item().cloned().unwrap_or_default();
            read_units(&[item], p.consistent, true)
        } else if let Some(q) = out.downcast_ref::<QueryOutput>() {
            read_units(q.items(), p.consistent, false)
        } else if let Some(s) = out.downcast_ref::<ScanOutput>() {
            read_units(s.items(), p.consistent, false)
        } else if let Some(b) = out.downcast_ref::<BatchGetItemOutput>() {
            let items: Vec<Item> = b
                .responses()
                .map(|m| m.values().flatten().cloned().collect())
                .unwrap_or_default();
            read_units(&items, p.consistent, true)
        } else {
            return Ok(());
        };
        if let Some(r) = self.requests.lock().unwrap().get_mut(p.entry) {
            r.read_units = units;
        }
        Ok(())
    }
}
