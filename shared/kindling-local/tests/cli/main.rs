//! The `kindling` binary as people run it, in one test binary (one link of the AWS SDKs):
//! check, demo and serve; the demo's golden summary; broadcasts from the CLI; and the admin
//! contract suite, which runs every admin operation and command on the local store and over
//! HTTP (a `kindling serve`'s admin token, and a deployed stack's SigV4) and compares them.
#![allow(clippy::unwrap_used)]

mod admin_contract;
mod broadcasts;
mod golden;
mod serve_and_check;
mod sigv4;
mod support;
