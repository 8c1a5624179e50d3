//! Kindling on AWS: the DynamoDB store, SES v2 mailer, EventBridge bus and SNS notifier that
//! implement the domain's ports, and the cold-start wiring and request/event adapters that every
//! Lambda function shares (so each `main.rs` only wires).

pub mod dynamo;
pub mod error;
pub mod eventbridge;
pub mod http;
pub mod invocation;
pub mod keys;
pub mod runtime;
pub mod secrets;
pub mod ses;
pub mod settings;
pub mod sns;

pub use dynamo::DynamoStore;
pub use error::InitError;
pub use runtime::{Keys, Runtime};
