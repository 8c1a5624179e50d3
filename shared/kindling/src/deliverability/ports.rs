//! The suppression list port.

use crate::deliverability::suppression::Suppression;
use crate::email::EmailAddress;
use crate::ports::{PortResult, Put};
use async_trait::async_trait;

/// Addresses that receive nothing.
#[async_trait]
pub trait SuppressionList: Send + Sync {
    /// Suppresses an address; `Existed` if it already was (the first reason stays).
    async fn suppress(&self, s: &Suppression) -> PortResult<Put>;
    /// The suppression of an address, if any.
    async fn suppression(&self, email: &EmailAddress) -> PortResult<Option<Suppression>>;
}
