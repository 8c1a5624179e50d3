//! Addresses that receive nothing: one item per address, beside its uniqueness item.

use super::{item, s, str_attr, DynamoStore};
use crate::dynamo::keys;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::deliverability::ports::SuppressionList;
use kindling::deliverability::suppression::{Suppression, SuppressionReason};
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::ports::{PortResult, Put};

#[async_trait]
impl SuppressionList for DynamoStore {
    async fn suppress(&self, sup: &Suppression) -> PortResult<Put> {
        let mut it = item(keys::suppression(&sup.email));
        it.insert("reason".into(), s(sup.reason.as_str()));
        it.insert("at".into(), s(sup.at.to_rfc3339()));
        self.put_new_item(it).await
    }

    async fn suppression(&self, email: &EmailAddress) -> PortResult<Option<Suppression>> {
        let Some(it) = self.get(keys::suppression(email)).await? else {
            return Ok(None);
        };
        let reason = str_attr(&it, "reason")?;
        let at = str_attr(&it, "at")?;
        Ok(Some(Suppression {
            email: email.clone(),
            reason: SuppressionReason::parse(reason)
                .ok_or_else(|| PortError::new("dynamodb", format!("unknown reason {reason}")))?,
            at: DateTime::parse_from_rfc3339(at)
                .map_err(|e| PortError::new("dynamodb", e))?
                .with_timezone(&Utc),
        }))
    }
}
