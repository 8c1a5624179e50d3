//! Shared test code: the store contract suite that every store implementation runs, and a
//! harness that runs the local pipeline on a simulated clock.
#![allow(clippy::unwrap_used)]

pub mod aws;
pub mod contract;
pub mod contract_broadcasts;
pub mod harness;
pub mod lambda;
pub mod meter;
pub mod newsletter;
pub mod ses_feedback;
