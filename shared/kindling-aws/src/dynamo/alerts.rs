//! Alerts claimed once per key (a hot crossing, a trigger firing, a day of paused sending).

use super::{item, s, sdk_err, str_attr, DynamoStore};
use crate::dynamo::keys;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kindling::alerts::ports::{AlertClaim, AlertLog};
use kindling::error::PortError;
use kindling::ports::{PortResult, Put};

const STATE: &str = "st";

#[async_trait]
impl AlertLog for DynamoStore {
    async fn claim_alert(
        &self,
        key: &str,
        about: &str,
        now: DateTime<Utc>,
    ) -> PortResult<AlertClaim> {
        let mut it = item(keys::alert(key));
        it.insert("lead".into(), s(about));
        it.insert(STATE.into(), s("pending"));
        it.insert("at".into(), s(now.to_rfc3339()));
        if self.put_new_item(it).await? == Put::Created {
            return Ok(AlertClaim::New);
        }
        match self.get(keys::alert(key)).await? {
            Some(existing) if str_attr(&existing, STATE)? == "sent" => Ok(AlertClaim::Sent),
            Some(_) => Ok(AlertClaim::Pending),
            // Released between our put and our read: claim again on the next delivery.
            None => Err(PortError::new(
                "dynamodb",
                "alert claim raced with a release",
            )),
        }
    }

    async fn mark_alert_sent(&self, key: &str, at: DateTime<Utc>) -> PortResult<()> {
        let (pk, sk) = keys::alert(key);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #st = :sent, sent_at = :at")
            .expression_attribute_names("#st", STATE)
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await
            .map_err(|e| sdk_err("UpdateItem", e))?;
        Ok(())
    }

    async fn release_alert(&self, key: &str) -> PortResult<()> {
        let (pk, sk) = keys::alert(key);
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("#st = :pending")
            .expression_attribute_names("#st", STATE)
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if super::is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk_err("DeleteItem", e)),
        }
    }
}
