//! Kindling's AWS adapters and functions on moto (DynamoDB, SES v2, EventBridge, SQS, SNS), in
//! one test binary (one link of the AWS SDKs): the store contract suite on DynamoDB, the
//! adapters, each function's handler, broadcasts and segments on DynamoDB, and the release
//! binaries under a Lambda Runtime API emulator.
#![allow(clippy::unwrap_used)]

mod aws_adapters;
mod aws_broadcasts;
mod aws_costs;
mod aws_crm;
mod aws_follow_up;
mod aws_functions;
mod aws_kpis;
mod aws_segments;
mod lambda_e2e;
mod store_dynamodb;
