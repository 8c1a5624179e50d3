//! Kindling on AWS: the DynamoDB store, SES v2 mailer, EventBridge bus and SNS notifier that
//! implement the domain's ports, and the cold-start wiring every Lambda function shares.

pub mod dynamo;
pub mod keys;

pub use dynamo::DynamoStore;
