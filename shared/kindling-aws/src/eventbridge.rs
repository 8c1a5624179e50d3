//! The EventBridge bus: batches of at most 10 entries; any failed entry fails the publish (the
//! caller retries the whole batch, and every consumer is idempotent).

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use kindling::error::PortError;
use kindling::events::EventBus;
use kindling::events::{Envelope, SOURCE};

/// PutEvents takes at most this many entries.
pub const MAX_BATCH: usize = 10;

/// Publishes to one custom bus.
#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    /// A bus named `bus_name` (or its ARN).
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[Envelope]) -> Result<(), PortError> {
        for batch in events.chunks(MAX_BATCH) {
            let entries: Vec<PutEventsRequestEntry> = batch
                .iter()
                .map(|e| {
                    PutEventsRequestEntry::builder()
                        .source(SOURCE)
                        .detail_type(&e.detail_type)
                        .detail(&e.detail)
                        .event_bus_name(&self.bus_name)
                        .build()
                })
                .collect();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PortError::caused_by("eventbridge", "PutEvents", e))?;
            if out.failed_entry_count > 0 {
                let reasons: Vec<String> = out
                    .entries
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| {
                        e.error_code.clone().map(|c| {
                            format!("{c}: {}", e.error_message.clone().unwrap_or_default())
                        })
                    })
                    .collect();
                return Err(PortError::new(
                    "eventbridge",
                    format!(
                        "{} entries failed: {}",
                        out.failed_entry_count,
                        reasons.join("; ")
                    ),
                ));
            }
        }
        Ok(())
    }
}
