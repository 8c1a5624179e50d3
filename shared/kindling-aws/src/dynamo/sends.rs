//! Step sends and the frequency cap. A claim writes the send item and the lead's cap ledger in
//! one transaction: the send only if it does not exist, the ledger only if nobody changed it
//! since it was read. So two senders can neither both claim a step nor both take the last slot.

use super::{
    cancelled_conditions, data, item, json, n, num_attr, s, sdk_err, DynamoStore, Item, DATA,
    VERSION,
};
use crate::dynamo::keys;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use kindling::activities::Activity;
use kindling::error::PortError;
use kindling::ids::LeadId;
use kindling::message::{MessageKey, MessageRef};
use kindling::ports::PortResult;
use kindling::sending::ledger::{SendRecord, SendState};
use kindling::sending::ports::{CountOnce, SendClaim, SendLog};
use kindling::sending::schedule::FrequencyCap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const STATE: &str = "st";
/// Optimistic retries when another sender changes the ledger between read and write.
const ATTEMPTS: usize = 8;

/// One slot of the cap ledger: a send that counts toward the cap.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Slot {
    /// `{enrollment}#{step}` for a step (as ledgers written before hold), `@{broadcast}`.
    k: String,
    at: DateTime<Utc>,
}

fn slot_key(key: &MessageKey) -> String {
    match key.message() {
        MessageRef::Step(enrollment, step) => format!("{enrollment}#{step}"),
        broadcast @ MessageRef::Broadcast(_) => broadcast.slot(),
    }
}

/// The ledger: recent slots and its version (0 when it does not exist yet). `fresh`: read now,
/// else a ledger prefetched for this lead's claim may serve (once).
async fn ledger(store: &DynamoStore, lead: &LeadId, fresh: bool) -> PortResult<Ledger> {
    let prefetched = if fresh {
        None
    } else {
        store.take_prefetched(lead)
    };
    let read_ahead = prefetched.is_some();
    let item = match prefetched {
        Some(p) => p,
        None => store.get(keys::cap(lead)).await?,
    };
    let (slots, version) = match item {
        None => (Vec::new(), 0),
        Some(it) => (data(&it)?, num_attr(&it, VERSION)?),
    };
    Ok(Ledger {
        slots,
        version,
        read_ahead,
    })
}

/// A lead's cap ledger as read, and whether it was read ahead (so may be stale).
struct Ledger {
    slots: Vec<Slot>,
    version: u64,
    read_ahead: bool,
}

fn send_item(r: &SendRecord) -> PortResult<Item> {
    let mut it = item(keys::send(&r.key));
    it.insert(DATA.into(), json(r)?);
    it.insert(STATE.into(), s(r.state.as_str()));
    Ok(it)
}

impl DynamoStore {
    /// The prefetched ledger of `lead`, if one is held: `Some(None)` when it did not exist.
    fn take_prefetched(&self, lead: &LeadId) -> Option<Option<Item>> {
        let mut held = self
            .prefetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.at.is_none_or(|at| at.elapsed() > super::PREFETCH_FOR) {
            held.items.clear();
            return None;
        }
        let key = keys::cap(lead).0;
        held.items
            .remove(&key)
            .map(|it| Some(it).filter(|i| !i.is_empty()))
    }

    fn ledger_put(
        &self,
        lead: &LeadId,
        slots: &[Slot],
        version: u64,
    ) -> PortResult<TransactWriteItem> {
        let mut it = item(keys::cap(lead));
        it.insert(DATA.into(), json(&slots)?);
        it.insert(VERSION.into(), n(version + 1));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(PK) OR #v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(version))
            .build()
            .map_err(|e| PortError::new("dynamodb", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Removes a send's slot from its lead's ledger (released or failed sends do not count).
    async fn free_slot(&self, key: &MessageKey) -> PortResult<()> {
        for _ in 0..ATTEMPTS {
            let Ledger {
                mut slots, version, ..
            } = ledger(self, key.lead_id(), true).await?;
            let before = slots.len();
            slots.retain(|s| s.k != slot_key(key));
            if slots.len() == before {
                return Ok(());
            }
            let put = self.ledger_put(key.lead_id(), &slots, version)?;
            match self
                .client
                .transact_write_items()
                .transact_items(put)
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if cancelled_conditions(&e).is_some() => continue,
                Err(e) => return Err(sdk_err("TransactWriteItems", e)),
            }
        }
        Err(PortError::new(
            "dynamodb",
            "cap ledger: too many concurrent writers",
        ))
    }
}

#[async_trait]
impl SendLog for DynamoStore {
    async fn claim_send(
        &self,
        record: &SendRecord,
        cap: Option<FrequencyCap>,
        now: DateTime<Utc>,
    ) -> PortResult<SendClaim> {
        let key = &record.key;
        let Some(cap) = cap else {
            // Counts toward no cap: the claim is the send item's insert-if-absent alone (one
            // write, no ledger).
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(send_item(record)?))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await;
            return match put {
                Ok(_) => Ok(SendClaim::Claimed),
                Err(e) if super::is_condition_failure(&e) => match self.get_send(key).await? {
                    Some(existing) => Ok(SendClaim::Exists(existing)),
                    None => Err(PortError::new("dynamodb", "send claim vanished")),
                },
                Err(e) => Err(sdk_err("PutItem", e)),
            };
        };
        // One read in the common case: the ledger. A claim of this mail that still holds a slot
        // is there; any other earlier record (failed, outside the window, or claimed with no
        // cap) makes the put's condition fail, or is read when the cap is full.
        for attempt in 0..ATTEMPTS {
            let Ledger {
                mut slots,
                version,
                read_ahead,
            } = ledger(self, key.lead_id(), attempt > 0).await?;
            if slots.iter().any(|s| s.k == slot_key(key)) {
                if let Some(existing) = self.get_send(key).await? {
                    return Ok(SendClaim::Exists(existing));
                }
            }
            // The ledger keeps only slots that can still count; the cap rule decides.
            slots.retain(|s| cap.counts(s.at, now));
            let claimed: Vec<DateTime<Utc>> = slots.iter().map(|s| s.at).collect();
            if let Some(until) = cap.next_free(&claimed, now) {
                if read_ahead {
                    // Full as read ahead: a slot may have been freed since. Read it now.
                    continue;
                }
                // A claim outside the ledger (made with no cap) still answers first.
                return Ok(match self.get_send(key).await? {
                    Some(existing) => SendClaim::Exists(existing),
                    None => SendClaim::CapReached { until },
                });
            }
            slots.push(Slot {
                k: slot_key(key),
                at: record.claimed_at,
            });
            let put_send = Put::builder()
                .table_name(&self.table)
                .set_item(Some(send_item(record)?))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(|e| PortError::new("dynamodb", e))?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put_send).build())
                .transact_items(self.ledger_put(key.lead_id(), &slots, version)?)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(SendClaim::Claimed),
                // The mail was claimed before (or meanwhile): that record is the answer.
                Err(e) if cancelled_conditions(&e).is_some_and(|c| c.first() == Some(&true)) => {
                    match self.get_send(key).await? {
                        Some(existing) => return Ok(SendClaim::Exists(existing)),
                        None => continue,
                    }
                }
                // The ledger moved: read again.
                Err(e) if cancelled_conditions(&e).is_some() => continue,
                Err(e) => return Err(sdk_err("TransactWriteItems", e)),
            }
        }
        Err(PortError::new(
            "dynamodb",
            "send claim: too many concurrent writers",
        ))
    }

    async fn complete_send(&self, record: &SendRecord) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(send_item(record)?))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await
            .map_err(|e| sdk_err("PutItem", e))?;
        if record.state == SendState::Failed {
            self.free_slot(&record.key).await?;
        }
        Ok(())
    }

    async fn complete_sent_with(
        &self,
        record: &SendRecord,
        activity: &Activity,
        count: &CountOnce<'_>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| PortError::new("dynamodb", e);
        let sent = Put::builder()
            .table_name(&self.table)
            .set_item(Some(send_item(record)?))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(build)?;
        let logged = Put::builder()
            .table_name(&self.table)
            .set_item(Some(super::activities::activity_item(activity)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build)?;
        let (unit, add) =
            self.count_once_writes(count.series, count.bucket, count.counter, count.unit, now)?;
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(sent).build())
            .transact_items(TransactWriteItem::builder().put(logged).build())
            .transact_items(TransactWriteItem::builder().put(unit).build())
            .transact_items(TransactWriteItem::builder().update(add).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            // A part was already there (a retried send): all or nothing, so the caller writes
            // each part on its own.
            Err(e) if cancelled_conditions(&e).is_some() => Ok(false),
            Err(e) => Err(sdk_err("TransactWriteItems", e)),
        }
    }

    async fn release_send(&self, key: &MessageKey) -> PortResult<()> {
        let (pk, sk) = keys::send(key);
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("#st = :sending")
            .expression_attribute_names("#st", STATE)
            .expression_attribute_values(":sending", s(SendState::Sending.as_str()))
            .send()
            .await;
        match deleted {
            Ok(_) => self.free_slot(key).await,
            // Not a pending claim (already sent, or gone): nothing to release.
            Err(e) if super::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk_err("DeleteItem", e)),
        }
    }

    async fn get_send(&self, key: &MessageKey) -> PortResult<Option<SendRecord>> {
        self.get(keys::send(key))
            .await?
            .map(|i| data(&i))
            .transpose()
    }

    async fn prefetch_ledgers(&self, leads: &[LeadId]) -> PortResult<()> {
        let found = self
            .batch_get(leads.iter().map(keys::cap).collect())
            .await?;
        let mut held: HashMap<String, Item> = leads
            .iter()
            .map(|l| (keys::cap(l).0, Item::new()))
            .collect();
        for it in found {
            if let Ok(pk) = super::str_attr(&it, keys::PK) {
                held.insert(pk.to_owned(), it);
            }
        }
        *self
            .prefetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = super::Prefetched {
            at: Some(std::time::Instant::now()),
            items: held,
        };
        Ok(())
    }

    async fn sends_of_lead(&self, lead: &LeadId) -> PortResult<Vec<SendRecord>> {
        let items = self.query_prefix(keys::lead_pk(lead), "SEND#").await?;
        let mut sends: Vec<SendRecord> = items.iter().map(data).collect::<PortResult<_>>()?;
        sends.sort_by(|a, b| (a.claimed_at, a.key.message()).cmp(&(b.claimed_at, b.key.message())));
        Ok(sends)
    }
}
