//! Random, time-ordered ids (UUIDv7 as 32 hex digits).

use kindling::ports::Ids;

/// UUIDv7 ids: unique, and sortable by creation time.
#[derive(Debug, Default)]
pub struct UuidIds;

impl Ids for UuidIds {
    fn new_id(&self) -> String {
        uuid::Uuid::now_v7().simple().to_string()
    }
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl kindling::ports::Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}
