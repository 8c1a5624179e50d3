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

    async fn suppressed_among(
        &self,
        emails: &[EmailAddress],
    ) -> PortResult<std::collections::HashSet<EmailAddress>> {
        let by_key: std::collections::HashMap<keys::Key, &EmailAddress> =
            emails.iter().map(|e| (keys::suppression(e), e)).collect();
        let found = self.batch_get(by_key.keys().cloned().collect()).await?;
        Ok(found
            .iter()
            .filter_map(|it| {
                let key = (
                    str_attr(it, keys::PK).ok()?.to_owned(),
                    str_attr(it, keys::SK).ok()?.to_owned(),
                );
                by_key.get(&key).map(|e| (*e).clone())
            })
            .collect())
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
