//! SES feedback semantics, run on every store (SQLite and DynamoDB on moto) through the same use
//! case the feedback function calls: what is a complaint, what counts for the breaker, and when
//! repeated soft bounces suppress an address. Event details are shaped as the AWS documentation's
//! examples (`Bounce`, `Complaint`, `Delivery` records).

use chrono::{DateTime, Duration, Utc};
use kindling::app::Kindling;
use kindling::deliverability::{apply_feedback, Feedback};
use kindling::deliverability::{BOUNCED, COMPLAINED, SERIES};
use kindling::email::EmailAddress;
use kindling::ids::LeadId;
use kindling::leads::Lead;
use serde_json::{json, Value};

/// A `Complaint` event's detail.
pub fn complaint(id: &str, to: &str, at: DateTime<Utc>, extra: Value) -> Value {
    let mut c = json!({ "complainedRecipients": [{ "emailAddress": to }], "timestamp": at,
        "feedbackId": id, "userAgent": "Mozilla/5.0", "arrivalDate": at });
    for (k, v) in extra.as_object().into_iter().flatten() {
        c[k] = v.clone();
    }
    json!({ "eventType": "Complaint", "complaint": c, "mail": mail(to, at) })
}

/// A `Bounce` event's detail.
pub fn bounce(id: &str, to: &str, at: DateTime<Utc>, kind: &str, sub: &str) -> Value {
    json!({ "eventType": "Bounce", "mail": mail(to, at), "bounce": { "feedbackId": id,
        "bounceType": kind, "bounceSubType": sub, "timestamp": at, "reportingMTA": "dsn; a.example",
        "bouncedRecipients": [{ "emailAddress": to, "action": "failed", "status": "5.0.0" }] } })
}

/// A `Delivery` event's detail.
pub fn delivery(to: &str, at: DateTime<Utc>) -> Value {
    json!({ "eventType": "Delivery", "mail": mail(to, at), "delivery": { "timestamp": at,
        "recipients": [to], "processingTimeMillis": 546, "smtpResponse": "250 2.6.0 ok",
        "reportingMTA": "a8-70.smtp-out.amazonses.com", "remoteMtaIp": "203.0.113.7" } })
}

fn mail(to: &str, at: DateTime<Utc>) -> Value {
    json!({ "timestamp": at, "source": "news@example.jp", "messageId": format!("m-{to}-{}", at.timestamp()),
        "destination": [to], "headersTruncated": false })
}

async fn apply(k: &Kindling, detail: Value) -> Option<usize> {
    match Feedback::from_ses_detail(&detail).unwrap() {
        Some(fb) => Some(apply_feedback(&k.deliverability(), &fb).await.unwrap()),
        None => None,
    }
}

async fn suppressed(k: &Kindling, to: &str) -> Option<&'static str> {
    let e = EmailAddress::parse(to).unwrap();
    k.stores
        .suppressions
        .suppression(&e)
        .await
        .unwrap()
        .map(|s| s.reason.as_str())
}

async fn lead(k: &Kindling, to: &str) -> Lead {
    let e = EmailAddress::parse(to).unwrap();
    if let Some(l) = k.stores.leads.find_lead_by_email(&e).await.unwrap() {
        return l;
    }
    let l = Lead::new(
        LeadId::new(format!("ses-{}", to.replace(['@', '.'], "-"))),
        e,
        k.clock.now(),
    );
    k.stores.leads.insert_lead(&l).await.unwrap();
    l
}

async fn breaker_counts(k: &Kindling) -> (u64, u64) {
    let t = k.stores.tallies.tallies(SERIES, None, None).await.unwrap();
    (
        t.iter().map(|t| t.get(BOUNCED)).sum(),
        t.iter().map(|t| t.get(COMPLAINED)).sum(),
    )
}

/// The whole scenario on `k`'s stores; `k` has the shipped `[sending.soft_bounces]` (3 in 7 days).
pub async fn ses_feedback_semantics(k: &Kindling) {
    let now = k.clock.now();
    let t0 = now - Duration::days(20);

    // "not-spam" is no complaint: nothing is suppressed, unsubscribed or counted.
    lead(k, "happy@example.jp").await;
    let not_spam = complaint(
        "c-ns",
        "happy@example.jp",
        t0,
        json!({ "complaintFeedbackType": "not-spam" }),
    );
    assert_eq!(apply(k, not_spam).await, None);
    assert_eq!(suppressed(k, "happy@example.jp").await, None);
    assert!(lead(k, "happy@example.jp").await.unsubscribed_at.is_none());

    // On SES's account suppression list: suppressed (and a complainer unsubscribed), but not
    // counted, as SES leaves them out of its own rates.
    lead(k, "listed@example.jp").await;
    let listed = complaint(
        "c-sl",
        "listed@example.jp",
        t0,
        json!({ "complaintSubType": "OnAccountSuppressionList" }),
    );
    assert_eq!(apply(k, listed).await, Some(1));
    assert_eq!(suppressed(k, "listed@example.jp").await, Some("complained"));
    assert!(lead(k, "listed@example.jp").await.unsubscribed_at.is_some());
    for (i, sub) in ["OnAccountSuppressionList", "Suppressed"]
        .iter()
        .enumerate()
    {
        let to = format!("listed{i}@example.jp");
        assert_eq!(
            apply(k, bounce(&format!("b-sl-{i}"), &to, t0, "Permanent", sub)).await,
            Some(1)
        );
        assert_eq!(suppressed(k, &to).await, Some("bounced"), "{sub}");
    }
    assert_eq!(
        breaker_counts(k).await,
        (0, 0),
        "nothing counted for the breaker"
    );
    // A general hard bounce and a real complaint do count: the counting itself works.
    apply(
        k,
        bounce("b-gen", "gone@example.jp", t0, "Permanent", "General"),
    )
    .await;
    lead(k, "angry@example.jp").await;
    apply(
        k,
        complaint(
            "c-abuse",
            "angry@example.jp",
            t0,
            json!({ "complaintFeedbackType": "abuse" }),
        ),
    )
    .await;
    assert_eq!(breaker_counts(k).await, (1, 1));

    // Soft bounces: the third within 7 days with no delivery in between suppresses.
    let soft = |id: &str, at| bounce(id, "full@example.jp", at, "Transient", "MailboxFull");
    assert_eq!(apply(k, soft("s-1", t0)).await, Some(0));
    assert_eq!(apply(k, soft("s-2", t0 + Duration::days(1))).await, Some(0));
    // A delivery ends that streak ...
    assert_eq!(
        apply(
            k,
            delivery(
                "full@example.jp",
                t0 + Duration::days(1) + Duration::hours(1)
            )
        )
        .await,
        Some(0)
    );
    assert_eq!(apply(k, soft("s-3", t0 + Duration::days(2))).await, Some(0));
    assert_eq!(apply(k, soft("s-4", t0 + Duration::days(3))).await, Some(0));
    // ... a redelivered report counts once, and an older delivery arriving late moves nothing.
    assert_eq!(apply(k, soft("s-4", t0 + Duration::days(3))).await, Some(0));
    assert_eq!(apply(k, delivery("full@example.jp", t0)).await, Some(0));
    assert_eq!(
        suppressed(k, "full@example.jp").await,
        None,
        "two since the delivery"
    );
    assert_eq!(apply(k, soft("s-5", t0 + Duration::days(4))).await, Some(1));
    assert_eq!(suppressed(k, "full@example.jp").await, Some("soft_bounced"));
    assert_eq!(
        breaker_counts(k).await,
        (1, 1),
        "soft bounces never count for the breaker"
    );

    // Three soft bounces spread over more than the window: no streak of three.
    for (i, day) in [0, 4, 8].into_iter().enumerate() {
        let at = t0 + Duration::days(day);
        let b = bounce(
            &format!("w-{i}"),
            "slow@example.jp",
            at,
            "Undetermined",
            "Undetermined",
        );
        assert_eq!(apply(k, b).await, Some(0), "day {day}");
    }
    assert_eq!(suppressed(k, "slow@example.jp").await, None);
    // A delivery to an address that never soft-bounced writes nothing.
    assert_eq!(apply(k, delivery("fine@example.jp", t0)).await, Some(0));
    let marks = k
        .stores
        .tallies
        .marks(&kindling::deliverability::soft_bounce_series(
            &EmailAddress::parse("fine@example.jp").unwrap(),
        ))
        .await
        .unwrap();
    assert!(marks.is_empty(), "{marks:?}");
}
