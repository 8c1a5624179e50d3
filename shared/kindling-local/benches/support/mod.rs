//! What the benches share: how many to fill (from the environment), a local app over a fresh
//! SQLite store on a manual clock, and the leads' addresses.

use chrono::{DateTime, Utc};
use kindling::email::EmailAddress;
use kindling::testing::{ManualClock, SequentialIds};
use std::sync::Arc;

/// `var`'s number, else `default`.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `f` to completion on a current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A store for one run of a bench.
pub struct Bench {
    /// Kept for the store's lifetime.
    pub _dir: tempfile::TempDir,
    pub app: kindling_local::LocalApp,
    /// To move time on (the broadcast bench; the rebuild runs at one instant).
    #[allow(dead_code)]
    pub clock: Arc<ManualClock>,
}

/// The shipped program over a fresh SQLite store, its clock at `start`, ids counted.
pub fn open(start: DateTime<Utc>) -> Bench {
    let config_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let config = kindling::config::Config::load(&config_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let keys = kindling::token::SigningKeys::new(vec![("b".into(), vec![7; 32])]).unwrap();
    let app = kindling_local::LocalApp::open(
        dir.path(),
        config,
        keys,
        clock.clone(),
        Arc::new(SequentialIds::new("b")),
        false,
    )
    .unwrap();
    Bench {
        _dir: dir,
        app,
        clock,
    }
}

/// Lead `i`'s address, spread over 97 domains.
pub fn email(i: usize) -> EmailAddress {
    EmailAddress::parse(&format!("p{i}@example{}.jp", i % 97)).unwrap()
}
