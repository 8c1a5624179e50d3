//! The SNS notifier: a readable alert for people (email subscriptions) with the structured alert
//! as JSON in the `alert` message attribute (for programs subscribed through SQS or Lambda), and
//! the team in the `audience` attribute (`sales`, `support`) for subscription filter policies.

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use kindling::error::PortError;
use kindling::ports::{Alert, Notifier};

/// SNS subjects: ASCII, no control characters, under 100 characters.
pub fn sns_subject(alert: &Alert) -> String {
    let ascii: String = alert
        .subject()
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    // Names in Japanese become '?'; say who by id instead, which is always ASCII.
    let subject = if ascii.contains('?') {
        match &alert.trigger {
            None => format!("Hot lead {} (score {})", alert.lead_id, alert.score),
            Some(t) => format!("{t}: lead {} (score {})", alert.lead_id, alert.score),
        }
    } else {
        ascii
    };
    subject.chars().take(99).collect()
}

/// Publishes alerts to one topic.
#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// A notifier for `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn notify(&self, alert: &Alert) -> Result<(), PortError> {
        let json = serde_json::to_string(alert).map_err(|e| PortError::new("sns", e))?;
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(json)
            .build()
            .map_err(|e| PortError::new("sns", e))?;
        let audience = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(alert.audience.as_str())
            .build()
            .map_err(|e| PortError::new("sns", e))?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(sns_subject(alert))
            .message(alert.body())
            .message_attributes("alert", attribute)
            .message_attributes("audience", audience)
            .send()
            .await
            .map_err(|e| PortError::new("sns", format!("Publish: {}", DisplayErrorContext(e))))?;
        Ok(())
    }
}
