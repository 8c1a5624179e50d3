use super::unsubscribe::unsubscribe;
use crate::deliverability::suppression::{Suppression, SuppressionReason};
use crate::deliverability::{instant, soft_bounce_series, DELIVERED, SOFT};
use crate::email::EmailAddress;
use crate::error::{Error, Result};
use crate::ports::Put;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Detail-types of the SES events (published through a configuration set to EventBridge) that
/// the feedback function takes: bounces and complaints, and deliveries (which end an address's
/// soft-bounce streak). Its rule matches exactly these.
pub const SES_FEEDBACK_DETAIL_TYPES: [&str; 3] = [
    "Email Bounced",
    "Email Complaint Received",
    "Email Delivered",
];

/// What the mail provider told us about a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackKind {
    /// A permanent bounce: the address does not exist. Suppressed.
    HardBounce,
    /// A transient or undetermined bounce (mailbox full, greylisting), after SES's own retries.
    /// Suppressed once an address has `[sending.soft_bounces] count` of them with no delivery
    /// in between.
    SoftBounce,
    /// The recipient marked the mail as spam. Suppressed and unsubscribed.
    Complaint,
    /// The receiving server accepted the mail: ends a soft-bounce streak.
    Delivery,
}

/// Bounce, complaint or delivery feedback for some recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// SES's feedback id (else the mail's message id): counts each report once.
    pub id: String,
    pub kind: FeedbackKind,
    pub recipients: Vec<EmailAddress>,
    pub at: DateTime<Utc>,
    /// Counted in the breaker's rates. False for a bounce or complaint that SES reports about
    /// an address on its suppression list: no mail was attempted, and SES leaves these out of
    /// its own bounce and complaint rates.
    pub counts_for_breaker: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesDetail {
    event_type: String,
    bounce: Option<SesBounce>,
    complaint: Option<SesComplaint>,
    delivery: Option<SesDelivery>,
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
    bounce_sub_type: Option<String>,
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
    complaint_feedback_type: Option<String>,
    complaint_sub_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesDelivery {
    recipients: Vec<String>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesRecipient {
    email_address: String,
}

/// SES's sub-types for a mail it did not attempt because the address is on a suppression list.
const SUPPRESSION_LIST_SUBTYPES: [&str; 2] = ["OnAccountSuppressionList", "Suppressed"];

impl Feedback {
    /// Parses the `detail` of an SES event (event publishing through a configuration set to
    /// EventBridge). `Ok(None)` for events that call for nothing: other event types (opens,
    /// sends ...) and a complaint whose feedback type is `not-spam` (a receiver reporting that
    /// the recipient moved the mail out of spam is not a complaint).
    pub fn from_ses_detail(detail: &serde_json::Value) -> Result<Option<Feedback>> {
        let d: SesDetail = serde_json::from_value(detail.clone())
            .map_err(|e| Error::Invalid(format!("malformed SES event: {e}")))?;
        let parse = |rs: &mut dyn Iterator<Item = &str>| {
            rs.map(|r| {
                EmailAddress::parse(r)
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
        let on_suppression_list = |sub: &Option<String>| {
            sub.as_deref()
                .is_some_and(|s| SUPPRESSION_LIST_SUBTYPES.contains(&s))
        };
        match d.event_type.as_str() {
            "Bounce" => {
                let b = d
                    .bounce
                    .ok_or_else(|| Error::Invalid("Bounce event without bounce".into()))?;
                // `Transient` and `Undetermined` are both "not known to be dead".
                let kind = if b.bounce_type == "Permanent" {
                    FeedbackKind::HardBounce
                } else {
                    FeedbackKind::SoftBounce
                };
                Ok(Some(Feedback {
                    id: id(b.feedback_id, b.timestamp),
                    kind,
                    recipients: parse(
                        &mut b
                            .bounced_recipients
                            .iter()
                            .map(|r| r.email_address.as_str()),
                    )?,
                    at: b.timestamp,
                    counts_for_breaker: kind == FeedbackKind::HardBounce
                        && !on_suppression_list(&b.bounce_sub_type),
                }))
            }
            "Complaint" => {
                let c = d
                    .complaint
                    .ok_or_else(|| Error::Invalid("Complaint event without complaint".into()))?;
                if c.complaint_feedback_type.as_deref() == Some("not-spam") {
                    return Ok(None);
                }
                Ok(Some(Feedback {
                    id: id(c.feedback_id, c.timestamp),
                    kind: FeedbackKind::Complaint,
                    recipients: parse(
                        &mut c
                            .complained_recipients
                            .iter()
                            .map(|r| r.email_address.as_str()),
                    )?,
                    at: c.timestamp,
                    counts_for_breaker: !on_suppression_list(&c.complaint_sub_type),
                }))
            }
            "Delivery" => {
                let v = d
                    .delivery
                    .ok_or_else(|| Error::Invalid("Delivery event without delivery".into()))?;
                Ok(Some(Feedback {
                    id: id(None, v.timestamp),
                    kind: FeedbackKind::Delivery,
                    recipients: parse(&mut v.recipients.iter().map(String::as_str))?,
                    at: v.timestamp,
                    counts_for_breaker: false,
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Applies feedback, idempotently (a redelivered event changes nothing):
/// - a hard bounce suppresses the address;
/// - a complaint suppresses it and unsubscribes its lead;
/// - a soft bounce suppresses it once it is the `count`-th within the window since the last
///   delivery (see [`crate::deliverability::SoftBounces`]);
/// - a delivery ends the address's soft-bounce streak.
///
/// Hard bounces and complaints are counted for the circuit breaker ([`crate::deliverability`]),
/// each report and recipient once, unless SES reports them about its own suppression list.
/// Returns how many addresses were newly suppressed.
#[tracing::instrument(name = "apply_feedback", skip_all, fields(kind = ?fb.kind, recipients = fb.recipients.len()))]
pub async fn apply_feedback(k: &super::Deliverability<'_>, fb: &Feedback) -> Result<usize> {
    let mut newly = 0;
    for email in &fb.recipients {
        let reason = match fb.kind {
            FeedbackKind::HardBounce => Some(SuppressionReason::Bounced),
            FeedbackKind::Complaint => Some(SuppressionReason::Complained),
            FeedbackKind::SoftBounce => soft_bounce(k, fb, email)
                .await?
                .then_some(SuppressionReason::SoftBounced),
            FeedbackKind::Delivery => {
                delivered(k, fb, email).await?;
                None
            }
        };
        let Some(reason) = reason else { continue };
        let put = k
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
            if let Some(lead) = k.leads.find_lead_by_email(email).await? {
                unsubscribe(k, &lead.id, "complaint").await?;
            }
        }
        let counter = match fb.kind {
            FeedbackKind::HardBounce => Some(super::BOUNCED),
            FeedbackKind::Complaint => Some(super::COMPLAINED),
            FeedbackKind::SoftBounce | FeedbackKind::Delivery => None,
        };
        if let Some(counter) = counter.filter(|_| fb.counts_for_breaker) {
            super::breaker::count_feedback(k, counter, &fb.id, fb.at, email).await?;
        }
    }
    tracing::info!(newly, counted = fb.counts_for_breaker, "feedback applied");
    Ok(newly)
}

/// Counts a soft bounce (once per report) and says whether the address's streak now suppresses
/// it: two reads and a counted write.
async fn soft_bounce(
    k: &super::Deliverability<'_>,
    fb: &Feedback,
    email: &EmailAddress,
) -> Result<bool> {
    let rule = &k.config.deliverability.soft_bounces;
    let series = soft_bounce_series(email);
    k.tallies
        .tally_once(&series, &instant(fb.at), SOFT, &fb.id, k.clock.now())
        .await?;
    let tallies = k
        .tallies
        .tallies(&series, Some(&rule.since(fb.at)), Some(&instant(fb.at)))
        .await?;
    let marks = k.tallies.marks(&series).await?;
    let streak = rule.streak(&tallies, marks.get(DELIVERED).map(String::as_str));
    tracing::info!(streak, limit = rule.count, "soft bounce");
    Ok(rule.suppresses(streak))
}

/// Ends the address's soft-bounce streak: one read for an address that never soft-bounced (the
/// common case), and a write only when a delivery ends a streak.
async fn delivered(
    k: &super::Deliverability<'_>,
    fb: &Feedback,
    email: &EmailAddress,
) -> Result<()> {
    let series = soft_bounce_series(email);
    let at = instant(fb.at);
    let open = k
        .tallies
        .tallies(
            &series,
            Some(&k.config.deliverability.soft_bounces.since(fb.at)),
            Some(&at),
        )
        .await?;
    if open.is_empty() {
        return Ok(());
    }
    let marks = k.tallies.marks(&series).await?;
    // Deliveries can arrive out of order: the mark only moves forward.
    if marks
        .get(DELIVERED)
        .is_none_or(|d| d.as_str() < at.as_str())
    {
        k.tallies.set_mark(&series, DELIVERED, &at, false).await?;
    }
    Ok(())
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
        let open = json!({ "eventType": "Open", "open": {} });
        assert_eq!(Feedback::from_ses_detail(&open).unwrap(), None);
        let delivery = json!({ "eventType": "Delivery", "delivery": { "timestamp": "2026-11-02T01:00:00Z", "recipients": ["A@example.jp"], "smtpResponse": "250 ok" }, "mail": { "messageId": "m-2" } });
        let d = Feedback::from_ses_detail(&delivery).unwrap().unwrap();
        assert_eq!(
            (d.kind, d.id.as_str(), d.counts_for_breaker),
            (FeedbackKind::Delivery, "m-2", false)
        );
        assert_eq!(d.recipients[0].as_str(), "a@example.jp");
    }

    #[test]
    fn ses_semantics_not_spam_suppression_lists_and_undetermined_bounces() {
        let complaint = |extra: serde_json::Value| {
            let mut c = json!({ "complainedRecipients": [{ "emailAddress": "a@example.jp" }], "timestamp": "2026-11-02T01:00:00Z", "feedbackId": "c-1" });
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            Feedback::from_ses_detail(&json!({ "eventType": "Complaint", "complaint": c })).unwrap()
        };
        // "not-spam": the recipient moved the mail out of spam. Nothing to do.
        assert_eq!(
            complaint(json!({ "complaintFeedbackType": "not-spam" })),
            None
        );
        let abuse = complaint(json!({ "complaintFeedbackType": "abuse" })).unwrap();
        assert!(abuse.counts_for_breaker);
        // On SES's account suppression list: suppress, but SES leaves it out of its rates.
        let listed = complaint(json!({ "complaintSubType": "OnAccountSuppressionList" })).unwrap();
        assert_eq!(
            (listed.kind, listed.counts_for_breaker),
            (FeedbackKind::Complaint, false)
        );
        let bounce = |t: &str, sub: &str| {
            Feedback::from_ses_detail(&json!({ "eventType": "Bounce", "bounce": { "bounceType": t, "bounceSubType": sub,
                "bouncedRecipients": [{ "emailAddress": "a@example.jp" }], "timestamp": "2026-11-02T01:00:00Z" } }))
            .unwrap()
            .unwrap()
        };
        for sub in ["OnAccountSuppressionList", "Suppressed"] {
            let b = bounce("Permanent", sub);
            assert_eq!(
                (b.kind, b.counts_for_breaker),
                (FeedbackKind::HardBounce, false),
                "{sub}"
            );
        }
        assert!(bounce("Permanent", "NoEmail").counts_for_breaker);
        assert_eq!(
            bounce("Undetermined", "Undetermined").kind,
            FeedbackKind::SoftBounce
        );
        let soft = bounce("Transient", "MailboxFull");
        assert_eq!(
            (soft.kind, soft.counts_for_breaker),
            (FeedbackKind::SoftBounce, false)
        );
    }

    #[test]
    fn malformed_feedback_is_invalid_not_retryable() {
        for bad in [
            json!({}),
            json!({ "eventType": "Bounce" }),
            json!({ "eventType": "Complaint", "complaint": { "complainedRecipients": [{ "emailAddress": "nope" }], "timestamp": "2026-11-02T01:00:00Z" } }),
            json!({ "eventType": "Delivery", "delivery": {} }),
            json!({ "eventType": "Delivery", "delivery": { "timestamp": "2026-11-02T01:00:00Z", "recipients": ["josé@example.jp"] } }),
        ] {
            let e = Feedback::from_ses_detail(&bad).unwrap_err();
            assert!(!e.is_retryable(), "{bad}");
        }
    }
}
