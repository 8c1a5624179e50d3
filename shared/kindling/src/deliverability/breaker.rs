//! The bounce and complaint circuit breaker over the store: counting, the gate the sender
//! passes before each run, and resuming (the ops alert is in [`crate::alerts::ops`]). The rules are in
//! [`crate::deliverability`].

use crate::deliverability::events::SendingPaused;
use crate::deliverability::{
    alert_key, bucket, percent, span, Health, Marks, Resume, Trip, ALERTED, RESUMED, SENT, SERIES,
    TRIPPED,
};
use crate::email::EmailAddress;
use crate::error::{Error, PortError, Result};
use crate::message::MessageKey;
use crate::sending::ports::CountOnce;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Counts a step mail that went out (each send key once).
pub(crate) async fn count_send(
    k: &super::Deliverability<'_>,
    key: &MessageKey,
    at: DateTime<Utc>,
) -> Result<()> {
    // `{lead}/{enrollment}/{step}` for a step, as before broadcasts existed.
    let unit = key.to_string();
    k.tallies
        .tally_once(SERIES, &bucket(at), SENT, &unit, k.clock.now())
        .await?;
    Ok(())
}

/// The breaker's count of one send: its hour's bucket and its unit (the message key), for
/// [`crate::dispatch::record_sent`] to write with the send.
pub(crate) fn sent_count(key: &MessageKey, at: DateTime<Utc>) -> (SentBucket, String) {
    (SentBucket(bucket(at)), key.to_string())
}

/// The hour a send is counted in.
pub(crate) struct SentBucket(String);

impl SentBucket {
    /// The count of `unit` in this hour.
    pub(crate) fn count<'a>(&'a self, unit: &'a str) -> CountOnce<'a> {
        CountOnce {
            series: SERIES,
            bucket: &self.0,
            counter: SENT,
            unit,
        }
    }
}

/// Counts a hard bounce ([`super::BOUNCED`]) or a complaint ([`super::COMPLAINED`]) for one recipient of the
/// feedback report `report_id` (each report and recipient once), in the bucket of `at`.
pub(crate) async fn count_feedback(
    k: &super::Deliverability<'_>,
    counter: &'static str,
    report_id: &str,
    at: DateTime<Utc>,
    recipient: &EmailAddress,
) -> Result<()> {
    let unit = format!("{report_id}/{recipient}");
    k.tallies
        .tally_once(SERIES, &bucket(at), counter, &unit, k.clock.now())
        .await?;
    Ok(())
}

/// The breaker's thresholds, for people and JSON.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct BreakerLimits {
    pub bounce_rate: f64,
    pub complaint_rate: f64,
    pub window_hours: i64,
    pub min_sends: u64,
}

/// Where sending stands (`kindling sending`, `GET /admin/sending`; read back by `--api`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SendingStatus {
    /// `sending` or `paused`.
    pub state: String,
    /// The trip in force, when paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Trip>,
    /// The last resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Resume>,
    /// Counted since the window's start (or the hour after the last resume).
    pub health: Health,
    pub bounce_rate: f64,
    pub complaint_rate: f64,
    pub thresholds: BreakerLimits,
    /// Why the counts would trip the breaker now (when not already paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_trip: Option<String>,
    #[serde(skip)]
    marks: Marks,
}

impl SendingStatus {
    /// Readable, a few lines.
    pub fn text(&self) -> String {
        let t = &self.thresholds;
        let h = &self.health;
        let mut s = match &self.paused {
            Some(trip) => format!(
                "Step mails are PAUSED since {}: {}.\nResume after cleaning the list: kindling sending resume --note \"...\" (or POST /admin/sending/resume).\n",
                trip.at.format("%Y-%m-%d %H:%M UTC"),
                trip.reason
            ),
            None => "Step mails are sending.\n".to_owned(),
        };
        s.push_str(&format!(
            "Since {}: {} sends, {} hard bounces ({}), {} complaints ({}).\n",
            h.since.format("%Y-%m-%d %H:00 UTC"),
            h.sends,
            h.bounces,
            percent(self.bounce_rate),
            h.complaints,
            percent(self.complaint_rate),
        ));
        s.push_str(&format!(
            "Pauses above {} bounces or {} complaints over {}, from {} sends.\n",
            percent(t.bounce_rate),
            percent(t.complaint_rate),
            span(chrono::Duration::hours(t.window_hours)),
            t.min_sends
        ));
        if let Some(r) = &self.resumed {
            s.push_str(&format!(
                "Last resumed {}{}.\n",
                r.at.format("%Y-%m-%d %H:%M UTC"),
                r.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ));
        }
        s
    }
}

/// Reads the breaker's marks and the counts in its window.
#[tracing::instrument(name = "sending_status", skip_all)]
pub async fn sending_status(k: &super::Deliverability<'_>) -> Result<SendingStatus> {
    let b = &k.config.deliverability.breaker;
    let now = k.clock.now();
    let marks = Marks::parse(&k.tallies.marks(SERIES).await?);
    let since = marks.counting_from(b, now);
    let tallies = k
        .tallies
        .tallies(SERIES, Some(&bucket(since)), None)
        .await?;
    let health = Health::from_tallies(since, &tallies);
    let paused = marks.open_trip().cloned();
    Ok(SendingStatus {
        state: if paused.is_some() {
            "paused"
        } else {
            "sending"
        }
        .to_owned(),
        would_trip: if paused.is_none() {
            health.trips(b)
        } else {
            None
        },
        paused,
        resumed: marks.resumed.clone(),
        bounce_rate: health.bounce_rate(),
        complaint_rate: health.complaint_rate(),
        health,
        thresholds: BreakerLimits {
            bounce_rate: b.bounce_rate,
            complaint_rate: b.complaint_rate,
            window_hours: b.window.num_hours(),
            min_sends: b.min_sends,
        },
        marks,
    })
}

/// The sender's gate, before each run: `Some(trip)` when step mails must wait. Trips the
/// breaker when the window's counts call for it, and publishes `sending.paused.v1` when it
/// trips and once a day while it stays paused. A failed publish is logged and retried by the
/// next run; sending stays paused either way.
#[tracing::instrument(name = "breaker_gate", skip_all)]
pub(crate) async fn gate(k: &super::Deliverability<'_>) -> Result<Option<Trip>> {
    let status = sending_status(k).await?;
    let now = k.clock.now();
    let trip = match (status.paused, status.would_trip) {
        (Some(trip), _) => trip,
        (None, None) => return Ok(None),
        (None, Some(reason)) => {
            let h = status.health;
            let trip = Trip {
                at: now,
                reason,
                sends: h.sends,
                bounces: h.bounces,
                complaints: h.complaints,
            };
            let json = serde_json::to_string(&trip).map_err(|e| PortError::new("breaker", e))?;
            k.tallies.set_mark(SERIES, TRIPPED, &json, false).await?;
            tracing::error!(reason = %trip.reason, "circuit breaker tripped: step mails paused");
            trip
        }
    };
    let key = alert_key(&trip, now);
    if status.marks.alerted.as_deref() != Some(key.as_str()) {
        let event = SendingPaused {
            key: key.clone(),
            tripped_at: trip.at,
            day: u32::try_from((now - trip.at).num_days().max(0)).unwrap_or(u32::MAX),
            reason: trip.reason.clone(),
            sends: trip.sends,
            bounces: trip.bounces,
            complaints: trip.complaints,
            at: now,
        };
        match k.bus.publish(&[event.envelope()]).await {
            Ok(()) => {
                k.tallies.set_mark(SERIES, ALERTED, &key, false).await?;
            }
            Err(e) => {
                tracing::error!(error = %crate::error::Report(&e), key, "could not publish sending.paused.v1; the next run tries again")
            }
        }
    }
    Ok(Some(trip))
}

/// What resuming did.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Resumed {
    pub at: DateTime<Utc>,
    /// The trip that was in force, if sending was paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was_paused: Option<Trip>,
}

/// Resumes step mails: closes the trip in force (if any) and restarts counting from the next
/// hour, so the bounces that tripped it no longer count. Resuming while sending also restarts
/// the count (after cleaning a list before it tripped).
#[tracing::instrument(name = "resume_sending", skip_all)]
pub async fn resume_sending(
    k: &super::Deliverability<'_>,
    note: Option<String>,
) -> Result<Resumed> {
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(Error::Invalid("note: at most 500 characters".into()));
    }
    let now = k.clock.now();
    let marks = Marks::parse(&k.tallies.marks(SERIES).await?);
    let resume = Resume { at: now, note };
    let json = serde_json::to_string(&resume).map_err(|e| PortError::new("breaker", e))?;
    k.tallies.set_mark(SERIES, RESUMED, &json, false).await?;
    let was_paused = marks.open_trip().cloned();
    tracing::warn!(paused = was_paused.is_some(), note = ?resume.note, "step mails resumed");
    Ok(Resumed {
        at: now,
        was_paused,
    })
}
