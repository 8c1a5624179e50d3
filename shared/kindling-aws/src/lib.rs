//! Kindling on AWS: the DynamoDB store, SES v2 mailer, EventBridge bus and SNS notifier that
//! implement the domain's ports, and the cold-start wiring and request/event adapters that every
//! Lambda function shares (so each `main.rs` only wires).

pub mod crm_sync;
pub mod dynamo;
pub mod error;
pub mod eventbridge;
pub mod http;
pub mod invocation;
pub mod metrics;
pub mod reports;
pub mod runtime;
pub mod secrets;
pub mod ses;
pub mod settings;
pub mod sns;

pub use dynamo::DynamoStore;
pub use error::InitError;
pub use runtime::{Keys, Runtime};

/// Compares a generated catalog with its checked-in file under `infra/` (tests);
/// `KINDLING_WRITE_CATALOG=1` rewrites the file instead.
#[cfg(test)]
pub(crate) fn assert_catalog_current(file: &str, catalog: &serde_json::Value, test: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../infra")
        .join(file);
    let want = format!(
        "{}\n",
        serde_json::to_string_pretty(catalog).unwrap_or_default()
    );
    if std::env::var_os("KINDLING_WRITE_CATALOG").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have,
        want,
        "{} is stale: run `KINDLING_WRITE_CATALOG=1 cargo test -p kindling-aws {test}`",
        path.display()
    );
}
