//! The production clock and id generator, shared by every runtime.

use crate::ports::{Clock, Ids};

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// UUIDv7 ids as 32 hex digits: unique, and sortable by creation time.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidIds;

impl Ids for UuidIds {
    fn new_id(&self) -> String {
        uuid::Uuid::now_v7().simple().to_string()
    }
}
