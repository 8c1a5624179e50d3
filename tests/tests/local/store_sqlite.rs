//! The embedded SQLite store passes the store contract.

use kindling_local::db::Db;
use kindling_local::store::SqliteStore;
use std::sync::Arc;

kindling_tests::store_contract!(Arc::new(SqliteStore::new(Db::in_memory().unwrap())));
