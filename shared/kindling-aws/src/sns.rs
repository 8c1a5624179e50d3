//! The SNS notifier: a readable alert for people (email subscriptions) with the structured alert
//! as JSON in the `alert` message attribute (for programs subscribed through SQS or Lambda), and
//! the team in the `audience` attribute (`sales`, `support`) and the owning rep in `owner` (when
//! the lead has one) for subscription filter policies.
//! Ops alerts (sending paused) go to the ops topic if one is set (the stack's ops topic, read
//! by whoever runs Kindling), else to the alert topic with `audience` = `ops`.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use kindling::alerts::ports::{Alert, Notifier, OpsAlert};
use kindling::error::PortError;

/// SNS subjects: ASCII, no control characters, under 100 characters.
pub fn sns_subject(alert: &Alert) -> String {
    let ascii = ascii_subject(&alert.subject());
    // Names in Japanese become '?'; say who by id instead, which is always ASCII.
    let subject = if ascii.contains('?') {
        use kindling::scoring::events::FollowUpKind;
        match (&alert.follow_up, &alert.trigger) {
            (Some(FollowUpKind::Reminder), _) => {
                format!("Reminder, follow up: lead {}", alert.lead_id)
            }
            (Some(FollowUpKind::Escalation), _) => {
                format!("Escalation, not followed up: lead {}", alert.lead_id)
            }
            (None, None) => format!("Hot lead {} (score {})", alert.lead_id, alert.score),
            (None, Some(t)) => format!("{t}: lead {} (score {})", alert.lead_id, alert.score),
        }
    } else {
        ascii
    };
    subject.chars().take(99).collect()
}

/// Publishes alerts to one topic, ops alerts to another if set.
#[derive(Clone, Debug)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    ops_topic_arn: Option<String>,
}

impl SnsNotifier {
    /// A notifier for `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            ops_topic_arn: None,
        }
    }

    /// Sends ops alerts to `topic_arn` instead.
    pub fn with_ops_topic(mut self, topic_arn: impl Into<String>) -> Self {
        self.ops_topic_arn = Some(topic_arn.into());
        self
    }

    async fn publish(
        &self,
        topic: &str,
        subject: String,
        body: String,
        json: String,
        audience: &str,
        owner: Option<&str>,
    ) -> Result<(), PortError> {
        let attr = |v: String| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| PortError::new("sns", e))
        };
        let mut publish = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(body)
            .message_attributes("alert", attr(json)?)
            .message_attributes("audience", attr(audience.to_owned())?);
        if let Some(owner) = owner {
            publish = publish.message_attributes("owner", attr(owner.to_owned())?);
        }
        publish
            .send()
            .await
            .map_err(|e| PortError::caused_by("sns", "Publish", e))?;
        Ok(())
    }
}

/// An SNS subject from any text: ASCII without control characters, under 100 characters.
fn ascii_subject(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .take(99)
        .collect()
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn notify(&self, alert: &Alert) -> Result<(), PortError> {
        let json = serde_json::to_string(alert).map_err(|e| PortError::new("sns", e))?;
        self.publish(
            &self.topic_arn,
            sns_subject(alert),
            alert.body(),
            json,
            alert.audience.as_str(),
            alert.owner.as_ref().map(|o| o.id.as_str()),
        )
        .await
    }

    async fn notify_ops(&self, alert: &OpsAlert) -> Result<(), PortError> {
        let json = serde_json::to_string(alert).map_err(|e| PortError::new("sns", e))?;
        let topic = self.ops_topic_arn.as_deref().unwrap_or(&self.topic_arn);
        self.publish(
            topic,
            ascii_subject(&alert.subject),
            alert.body.clone(),
            json,
            alert.audience.as_str(),
            None,
        )
        .await
    }
}
