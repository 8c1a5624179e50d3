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
    /// Which of these addresses are suppressed: one batched read where the store has one.
    async fn suppressed_among(
        &self,
        emails: &[EmailAddress],
    ) -> PortResult<std::collections::HashSet<EmailAddress>> {
        let mut out = std::collections::HashSet::new();
        for e in emails {
            if self.suppression(e).await?.is_some() {
                out.insert(e.clone());
            }
        }
        Ok(out)
    }
}
