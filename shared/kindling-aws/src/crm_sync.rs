//! The CRM sync's health on AWS: EventBridge retries an upsert to the API destination for 24
//! hours inside the service (no backlog or success count to read here: the dashboard has the
//! rule's invocations and failures), then puts it in the dead-letter queue with why
//! (`ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS` message attributes). `sync status` reads
//! that queue; `sync replay` publishes its upserts to the bus again and deletes them.

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use chrono::{DateTime, Utc};
use kindling::crm::ports::{Replay, SyncFailure, SyncLedger, SyncStatus, MAX_FAILURES};
use kindling::error::PortError;
use kindling::events::{Envelope, EventBus};
use std::sync::Arc;

/// How many receive rounds a replay makes at most (10 messages each).
const REPLAY_ROUNDS: usize = 100;

/// The API destination's dead-letter queue.
pub struct DeadLetters {
    sqs: aws_sdk_sqs::Client,
    url: String,
    target: String,
    bus: Arc<dyn EventBus>,
}

impl DeadLetters {
    /// The queue at `url`; replays publish to `bus`.
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        url: &str,
        target: String,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            sqs,
            url: url.to_owned(),
            target,
            bus,
        }
    }

    async fn receive(
        &self,
        visibility: i32,
    ) -> Result<Vec<aws_sdk_sqs::types::Message>, PortError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| PortError::caused_by("sqs", "ReceiveMessage", e))?;
        Ok(out.messages.unwrap_or_default())
    }
}

/// The upsert a dead letter holds: (detail-type, detail, its id, its lead).
fn upsert_of(body: &str) -> Option<(String, serde_json::Value, String, Option<String>)> {
    let event: serde_json::Value = serde_json::from_str(body).ok()?;
    let detail = event.get("detail")?.clone();
    let detail_type = event.get("detail-type")?.as_str()?.to_owned();
    let id = detail.get("id")?.as_str()?.to_owned();
    let lead = detail
        .get("lead_id")
        .and_then(|l| l.as_str())
        .map(str::to_owned);
    Some((detail_type, detail, id, lead))
}

fn attribute(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_owned)
}

#[async_trait]
impl SyncLedger for DeadLetters {
    async fn status(&self) -> Result<SyncStatus, PortError> {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| PortError::caused_by("sqs", "GetQueueAttributes", e))?;
        let dead = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        // A peek: visible again at once.
        let mut failures = Vec::new();
        for m in self.receive(0).await? {
            let Some((_, _, id, lead_id)) = m.body().and_then(upsert_of) else {
                continue;
            };
            let error = match (attribute(&m, "ERROR_CODE"), attribute(&m, "ERROR_MESSAGE")) {
                (Some(c), Some(msg)) => format!("{c}: {msg}"),
                (Some(c), None) => c,
                (None, Some(msg)) => msg,
                (None, None) => "failed for 24 hours".to_owned(),
            };
            let at = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|t| t.parse::<i64>().ok())
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .unwrap_or_default();
            failures.push(SyncFailure {
                id,
                lead_id,
                attempts: attribute(&m, "RETRY_ATTEMPTS")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
                error,
                at,
                dead: true,
            });
        }
        failures.sort_by_key(|f| std::cmp::Reverse(f.at));
        failures.truncate(MAX_FAILURES);
        Ok(SyncStatus {
            target: self.target.clone(),
            backlog: None,
            oldest_waiting_at: None,
            delivered: None,
            last_success_at: None,
            dead,
            failures,
        })
    }

    async fn replay(&self, which: &Replay) -> Result<Vec<String>, PortError> {
        let mut replayed = Vec::new();
        // Those looked at and not wanted stay hidden until the end, so each round sees others.
        let mut skipped = Vec::new();
        for _ in 0..REPLAY_ROUNDS {
            let batch = self.receive(60).await?;
            if batch.is_empty() {
                break;
            }
            for m in batch {
                let Some(handle) = m.receipt_handle().map(str::to_owned) else {
                    continue;
                };
                let wanted = m
                    .body()
                    .and_then(upsert_of)
                    .filter(|(_, _, id, _)| match which {
                        Replay::One(want) => want == id,
                        Replay::AllDead => true,
                    });
                let Some((detail_type, detail, id, _)) = wanted else {
                    skipped.push(handle);
                    continue;
                };
                // Published first, deleted after: a crash between sends it twice, which the
                // upsert's id makes harmless.
                let envelope = Envelope {
                    detail_type,
                    detail: detail.to_string(),
                };
                self.bus.publish(std::slice::from_ref(&envelope)).await?;
                self.sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| PortError::caused_by("sqs", "DeleteMessage", e))?;
                replayed.push(id);
            }
            if matches!(which, Replay::One(_)) && !replayed.is_empty() {
                break;
            }
        }
        for handle in skipped {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| PortError::caused_by("sqs", "ChangeMessageVisibility", e))?;
        }
        Ok(replayed)
    }
}
