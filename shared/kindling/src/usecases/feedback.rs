use super::{unsubscribe, Kindling};
use crate::email::EmailAddress;
use crate::error::{Error, Result};
use crate::ports::Put;
use crate::suppression::{Suppression, SuppressionReason};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Detail-types of the SES events (published through a configuration set to EventBridge) that
/// carry feedback: the feedback function's rule matches exactly these.
pub const SES_FEEDBACK_DETAIL_TYPES: [&str; 2] = ["Email Bounced", "Email Complaint Received"];

/// What the mail provider told us about a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackKind {
    /// A permanent bounce: the address does not exist. Suppressed.
    HardBounce,
    /// A transient bounce (mailbox full, greylisting). Nothing changes; the provider retried.
    SoftBounce,
    /// The recipient marked the mail as spam. Suppressed and unsubscribed.
    Complaint,
}

/// Bounce or complaint feedback for some recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// SES's feedback id (else the mail's message id): counts each report once.
    pub id: String,
    pub kind: FeedbackKind,
    pub recipients: Vec<EmailAddress>,
    pub at: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesDetail {
    event_type: String,
    bounce: Option<SesBounce>,
    complaint: Option<SesComplaint>,
    mail: Option<SesMail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    message_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesBounce {
    bounce_type: String,
    bounced_recipients: Vec<SesRecipient>,
    timestamp: DateTime<Utc>,
    feedback_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesComplaint {
    complained_recipients: Vec<SesRecipient>,
    timestamp: DateTime<Utc>,
    feedback_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesRecipient {
    email_address: String,
}

impl Feedback {
    /// Parses the `detail` of an SES event (event publishing through a configuration set to
    /// EventBridge). `Ok(None)` for events that are not feedback (deliveries, opens ...).
    pub fn from_ses_detail(detail: &serde_json::Value) -> Result<Option<Feedback>> {
        let d: SesDetail = serde_json::from_value(detail.clone())
            .map_err(|e| Error::Invalid(format!("malformed SES event: {e}")))?;
        let parse = |rs: &[SesRecipient]| {
            rs.iter()
                .map(|r| {
                    EmailAddress::parse(&r.email_address)
                        .map_err(|_| Error::Invalid("malformed recipient address".into()))
                })
                .collect::<Result<Vec<_>>>()
        };
        let message_id = d.mail.and_then(|m| m.message_id);
        let id = |feedback_id: Option<String>, at: DateTime<Utc>| {
            feedback_id
                .or(message_id.clone())
                .unwrap_or_else(|| at.to_rfc3339())
        };
        match d.event_type.as_str() {
            "Bounce" => {
                let b = d
                    .bounce
                    .ok_or_else(|| Error::Invalid("Bounce event without bounce".into()))?;
                let kind = if b.bounce_type == "Permanent" {
                    FeedbackKind::HardBounce
                } else {
                    FeedbackKind::SoftBounce
                };
                Ok(Some(Feedback {
                    id: id(b.feedback_id, b.timestamp),
                    kind,
                    recipients: parse(&b.bounced_recipients)?,
                    at: b.timestamp,
                }))
            }
            "Complaint" => {
                let c = d
                    .complaint
                    .ok_or_else(|| Error::Invalid("Complaint event without complaint".into()))?;
                Ok(Some(Feedback {
                    id: id(c.feedback_id, c.timestamp),
                    kind: FeedbackKind::Complaint,
                    recipients: parse(&c.complained_recipients)?,
                    at: c.timestamp,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Applies feedback: a hard bounce suppresses the address; a complaint suppresses it and
/// unsubscribes its lead; a soft bounce changes nothing. Hard bounces and complaints are counted
/// for the circuit breaker ([`crate::deliverability`]), each report and recipient once. Returns
/// how many addresses were newly suppressed. Idempotent.
pub async fn apply_feedback(k: &Kindling, fb: &Feedback) -> Result<usize> {
    let reason = match fb.kind {
        FeedbackKind::SoftBounce => {
            tracing::info!(recipients = fb.recipients.len(), "soft bounce: no change");
            return Ok(0);
        }
        FeedbackKind::HardBounce => SuppressionReason::Bounced,
        FeedbackKind::Complaint => SuppressionReason::Complained,
    };
    let mut newly = 0;
    for email in &fb.recipients {
        let put = k
            .stores
            .suppressions
            .suppress(&Suppression {
                email: email.clone(),
                reason,
                at: fb.at,
            })
            .await?;
        if put == Put::Created {
            newly += 1;
        }
        if fb.kind == FeedbackKind::Complaint {
            if let Some(lead) = k.stores.leads.find_lead_by_email(email).await? {
                unsubscribe(k, &lead.id).await?;
            }
        }
        super::breaker::count_feedback(k, fb, email).await?;
    }
    tracing::info!(kind = ?fb.kind, recipients = fb.recipients.len(), newly, "feedback applied");
    Ok(newly)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_hard_and_soft_bounces_and_complaints() {
        let hard = json!({ "eventType": "Bounce", "bounce": { "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{ "emailAddress": "Gone@Example.jp", "status": "5.1.1" }], "timestamp": "2026-11-02T01:00:00.000Z" }, "mail": {} });
        let fb = Feedback::from_ses_detail(&hard).unwrap().unwrap();
        assert_eq!(fb.kind, FeedbackKind::HardBounce);
        assert_eq!(
            fb.id, "2026-11-02T01:00:00+00:00",
            "no feedback or message id: the time"
        );
        let with_ids = json!({ "eventType": "Complaint", "complaint": { "feedbackId": "fb-1", "complainedRecipients": [{ "emailAddress": "a@example.jp" }], "timestamp": "2026-11-02T01:00:00Z" }, "mail": { "messageId": "m-1" } });
        assert_eq!(
            Feedback::from_ses_detail(&with_ids).unwrap().unwrap().id,
            "fb-1"
        );
        let message_only = json!({ "eventType": "Bounce", "bounce": { "bounceType": "Permanent", "bouncedRecipients": [{ "emailAddress": "a@example.jp" }], "timestamp": "2026-11-02T01:00:00Z" }, "mail": { "messageId": "m-1" } });
        assert_eq!(
            Feedback::from_ses_detail(&message_only)
                .unwrap()
                .unwrap()
                .id,
            "m-1"
        );
        assert_eq!(fb.recipients[0].as_str(), "gone@example.jp");
        let soft = json!({ "eventType": "Bounce", "bounce": { "bounceType": "Transient", "bouncedRecipients": [{ "emailAddress": "a@example.jp" }], "timestamp": "2026-11-02T01:00:00Z" } });
        assert_eq!(
            Feedback::from_ses_detail(&soft).unwrap().unwrap().kind,
            FeedbackKind::SoftBounce
        );
        let complaint = json!({ "eventType": "Complaint", "complaint": { "complainedRecipients": [{ "emailAddress": "a@example.jp" }], "timestamp": "2026-11-02T01:00:00Z" } });
        assert_eq!(
            Feedback::from_ses_detail(&complaint).unwrap().unwrap().kind,
            FeedbackKind::Complaint
        );
        let delivery = json!({ "eventType": "Delivery", "delivery": {} });
        assert_eq!(Feedback::from_ses_detail(&delivery).unwrap(), None);
    }

    #[test]
    fn malformed_feedback_is_invalid_not_retryable() {
        for bad in [
            json!({}),
            json!({ "eventType": "Bounce" }),
            json!({ "eventType": "Complaint", "complaint": { "complainedRecipients": [{ "emailAddress": "nope" }], "timestamp": "2026-11-02T01:00:00Z" } }),
        ] {
            let e = Feedback::from_ses_detail(&bad).unwrap_err();
            assert!(!e.is_retryable(), "{bad}");
        }
    }
}
