//! Tests against moto in server mode. `scripts/with-moto` (run by `make test`) starts it and sets
//! `KINDLING_TEST_AWS_ENDPOINT`; without it these tests skip, unless
//! `KINDLING_REQUIRE_AWS_TESTS` says they must run (as `make test` does).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use kindling_aws::DynamoStore;
use std::sync::Arc;

/// The emulator's endpoint, or `None` (the test then skips) when it is not running.
pub fn endpoint() -> Option<String> {
    match std::env::var("KINDLING_TEST_AWS_ENDPOINT") {
        Ok(e) => Some(e),
        Err(_) if std::env::var_os("KINDLING_REQUIRE_AWS_TESTS").is_some() => {
            panic!(
                "KINDLING_REQUIRE_AWS_TESTS is set but no emulator: run through scripts/with-moto"
            )
        }
        Err(_) => {
            eprintln!("skipped: no AWS emulator (run `make test`, which starts moto)");
            None
        }
    }
}

/// SDK configuration for the emulator: static test credentials, no retries (errors fail fast).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// A unique name for a test's own resources.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A DynamoDB store on a fresh table of its own, or `None` without an emulator.
pub async fn fresh_dynamo_store() -> Option<Arc<DynamoStore>> {
    let ep = endpoint()?;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&ep).await);
    let table = unique("kindling");
    kindling_aws::dynamo::create_table(&client, &table)
        .await
        .unwrap();
    Some(Arc::new(DynamoStore::new(client, table)))
}
