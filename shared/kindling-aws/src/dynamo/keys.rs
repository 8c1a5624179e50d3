//! Every key of the single DynamoDB table, built in one place.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | lead | `LEAD#{id}` | `PROFILE` |
//! | unique email | `EMAIL#{email}` | `LEAD` |
//! | suppression | `EMAIL#{email}` | `SUPPRESSION` |
//! | visitor's lead | `VISITOR#{visitor}` | `LEAD` |
//! | lead's visitor | `LEAD#{id}` | `VISITOR#{visitor}` |
//! | activity of a lead | `LEAD#{id}` | `ACT#{activity}` |
//! | activity of a visitor (TTL) | `VISITOR#{visitor}` | `ACT#{activity}` |
//! | enrollment (entry 1; a re-entry adds `#{entry:05}`) | `LEAD#{id}` | `ENR#{sequence}` |
//! | send of a step | `LEAD#{id}` | `SEND#{enrollment}#{step:05}` |
//! | send of a broadcast | `LEAD#{id}` | `SEND#@{broadcast}` |
//! | frequency-cap ledger | `LEAD#{id}` | `CAP` |
//! | sales alert (key names the lead and crossing) | `ALERT#{key}` | `ALERT` |
//! | tally bucket (A/B variant, deliverability hour) | `TALLY#{series}` | `{bucket}` |
//! | unit counted in a tally (TTL) | `TALLYUNIT#{series}#{bucket}#{counter}` | `{unit}` |
//! | unit counted by a group of adds (TTL) | `TALLYONCE#{scope}#{unit}` | `-` |
//! | mark (A/B winner, breaker reset) | `MARK#{series}` | `{name}` |
//! | member of a segment, in its lead's shard | `SEG#{segment}#{shard}` | `M#{lead}` |
//! | a segment shard's count and last changes | `SEG#{segment}#{shard}` | `#COUNT` |
//! | broadcast | `BROADCASTS` | `B#{id}` |
//! | recipient of a broadcast | `BR#{broadcast}` | `R#{lead}` |
//!
//! Activities are keyed by id, not by time: the id is the idempotency key, and a retried request
//! may carry another timestamp. The index `GSI1` is sparse and sharded over [`DUE_SHARDS`]
//! partitions by lead: active enrollments carry `GSI1PK = DUE#{n}`, `GSI1SK = {due}#{lead}#{id}`;
//! leads to look at again (a pending trigger, a decaying score) carry `GSI1PK = RECHECK#{n}`,
//! `GSI1SK = {recheck_at}#{lead}`; queued recipients of a broadcast carry
//! `GSI1PK = BDUE#{broadcast}#{shard}` (the segment shard of the lead), `GSI1SK = {due}#{lead}`;
//! scheduled and sending broadcasts carry `GSI1PK = BACTIVE`, `GSI1SK = {created_at}#{id}`.

use kindling::email::EmailAddress;
use kindling::ids::{ActivityId, LeadId, VisitorId};
use kindling::message::MessageKey;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// The due-steps index.
pub const GSI_DUE: &str = "GSI1";
/// Partition key of the due-steps index.
pub const GSI_DUE_PK: &str = "GSI1PK";
/// Sort key of the due-steps index: `{next_due_at}#{lead}#{enrollment}`.
pub const GSI_DUE_SK: &str = "GSI1SK";
/// The TTL attribute (epoch seconds).
pub const TTL: &str = "ttl";
/// Shards of the due-steps index: enough that one minute's sends never heat one partition.
pub const DUE_SHARDS: u32 = 16;

/// A key pair.
pub type Key = (String, String);

pub fn lead(id: &LeadId) -> Key {
    (format!("LEAD#{id}"), "PROFILE".into())
}

pub fn email(email: &EmailAddress) -> Key {
    (format!("EMAIL#{email}"), "LEAD".into())
}

pub fn suppression(email: &EmailAddress) -> Key {
    (format!("EMAIL#{email}"), "SUPPRESSION".into())
}

pub fn visitor(v: &VisitorId) -> Key {
    (format!("VISITOR#{v}"), "LEAD".into())
}

pub fn lead_visitor(lead: &LeadId, v: &VisitorId) -> Key {
    (format!("LEAD#{lead}"), format!("VISITOR#{v}"))
}

pub fn lead_activity(lead: &LeadId, a: &ActivityId) -> Key {
    (format!("LEAD#{lead}"), format!("ACT#{a}"))
}

pub fn visitor_activity(v: &VisitorId, a: &ActivityId) -> Key {
    (format!("VISITOR#{v}"), format!("ACT#{a}"))
}

/// The first entry keeps the key enrollments had before re-entry existed; sequence ids never
/// contain `#`, so `ENR#{sequence}#{entry:05}` cannot collide with another sequence's key.
/// A tally bucket's counters (attributes `c_{counter}`); a series is one partition, so its
/// buckets come back in order from one query.
pub fn tally(series: &str, bucket: &str) -> Key {
    (format!("TALLY#{series}"), bucket.to_owned())
}

/// The partition of a series' buckets.
pub fn tally_pk(series: &str) -> String {
    format!("TALLY#{series}")
}

/// The record that `unit` was counted in a bucket's counter (expires with TTL).
pub fn tally_unit(series: &str, bucket: &str, counter: &str, unit: &str) -> Key {
    (
        format!("TALLYUNIT#{series}#{bucket}#{counter}"),
        unit.to_owned(),
    )
}

/// The record that `unit` was counted in `scope` by a group of adds (TTL): one partition per
/// unit, so a busy scope has no hot partition.
pub fn tally_once_unit(scope: &str, unit: &str) -> Key {
    (format!("TALLYONCE#{scope}#{unit}"), "-".to_owned())
}

/// A named mark of a series.
pub fn mark(series: &str, name: &str) -> Key {
    (format!("MARK#{series}"), name.to_owned())
}

/// The partition of a series' marks.
pub fn mark_pk(series: &str) -> String {
    format!("MARK#{series}")
}

pub fn enrollment(lead: &LeadId, sequence: &str, entry: u32) -> Key {
    if entry <= 1 {
        (format!("LEAD#{lead}"), format!("ENR#{sequence}"))
    } else {
        (format!("LEAD#{lead}"), format!("ENR#{sequence}#{entry:05}"))
    }
}

/// A mail's send record: `SEND#{enrollment}#{step:05}` for a step (the key sends always had),
/// `SEND#@{broadcast}` for a broadcast ([`MessageRef::slot`]).
pub fn send(key: &MessageKey) -> Key {
    (
        format!("LEAD#{}", key.lead_id()),
        format!("SEND#{}", key.message().slot()),
    )
}

pub fn cap(lead: &LeadId) -> Key {
    (format!("LEAD#{lead}"), "CAP".into())
}

pub fn alert(key: &str) -> Key {
    (format!("ALERT#{key}"), "ALERT".into())
}

/// The partition of one shard of a segment's members.
pub fn segment_pk(segment: &str, shard: u8) -> String {
    format!("SEG#{segment}#{shard}")
}

/// A member of a segment.
pub fn segment_member(segment: &str, lead: &LeadId) -> Key {
    let shard = kindling::segments::ports::shard_of(lead);
    (segment_pk(segment, shard), format!("{MEMBER_PREFIX}{lead}"))
}

/// The count (and last changes) of one shard of a segment.
pub fn segment_count(segment: &str, shard: u8) -> Key {
    (segment_pk(segment, shard), "#COUNT".into())
}

/// Sort-key prefix of segment members (the count item sorts before them).
pub const MEMBER_PREFIX: &str = "M#";

/// The partition of a lead's items, for queries by SK prefix.
pub fn lead_pk(lead: &LeadId) -> String {
    format!("LEAD#{lead}")
}

/// The partition of a visitor's items.
pub fn visitor_pk(v: &VisitorId) -> String {
    format!("VISITOR#{v}")
}

/// The partition of every broadcast.
pub const BROADCASTS: &str = "BROADCASTS";

/// The index partition of the broadcasts that are scheduled or sending.
pub const ACTIVE_BROADCASTS: &str = "BACTIVE";

/// A broadcast.
pub fn broadcast(id: &str) -> Key {
    (BROADCASTS.to_owned(), format!("B#{id}"))
}

/// The partition of a broadcast's recipients.
pub fn recipients_pk(broadcast: &str) -> String {
    format!("BR#{broadcast}")
}

/// A recipient of a broadcast.
pub fn recipient(broadcast: &str, lead: &LeadId) -> Key {
    (recipients_pk(broadcast), format!("R#{lead}"))
}

/// The due-index partition of a broadcast's queued recipients in `shard`.
pub fn recipient_due_pk(broadcast: &str, shard: u8) -> String {
    format!("BDUE#{broadcast}#{shard}")
}

/// The index shard of a lead (FNV-1a, stable across processes and versions).
fn shard(lead: &LeadId) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in lead.as_str().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % DUE_SHARDS
}

/// The due-steps shard of a lead.
pub fn due_shard(lead: &LeadId) -> String {
    format!("{DUE_PREFIX}{}", shard(lead))
}

/// The recheck shard of a lead (same index, another partition prefix).
pub fn recheck_shard(lead: &LeadId) -> String {
    format!("{RECHECK_PREFIX}{}", shard(lead))
}

/// Partition prefix of due steps in the index.
pub const DUE_PREFIX: &str = "DUE#";
/// Partition prefix of leads to look at again in the index.
pub const RECHECK_PREFIX: &str = "RECHECK#";

/// Every shard of one kind (`DUE_PREFIX` or `RECHECK_PREFIX`).
pub fn shards(prefix: &'static str) -> impl Iterator<Item = String> {
    (0..DUE_SHARDS).map(move |n| format!("{prefix}{n}"))
}

/// Every due-steps shard.
pub fn due_shards() -> impl Iterator<Item = String> {
    shards(DUE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_leads() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200 {
            seen.insert(due_shard(&LeadId::new(format!("lead{i}"))));
        }
        assert_eq!(seen.len(), DUE_SHARDS as usize);
        assert_eq!(
            due_shard(&LeadId::new("abc")),
            due_shard(&LeadId::new("abc"))
        );
    }
}
