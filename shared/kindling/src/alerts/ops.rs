//! The ops alert: step mails paused by the breaker, once when it trips and once a day after.

use super::ports::{AlertClaim, Notifier, OpsAlert};
use super::{Alerts, NotifyOutcome};
use crate::deliverability::events::SendingPaused;
use crate::deliverability::{percent, span, Marks, SERIES};
use crate::error::Result;
use crate::events::Audience;

/// What the breaker alert's claim is about (there is no lead).
const ABOUT: &str = "sending";

/// Alerts ops that step mails are paused, once per `key` (trip and day). A reminder for a trip
/// that was resumed in the meantime is dropped.
#[tracing::instrument(name = "notify_sending_paused", skip_all, fields(key = %e.key))]
pub async fn notify_sending_paused(
    k: &Alerts<'_>,
    notifier: &dyn Notifier,
    e: &SendingPaused,
) -> Result<NotifyOutcome> {
    let marks = Marks::parse(&k.tallies.marks(SERIES).await?);
    let still_open = marks
        .open_trip()
        .is_some_and(|t| t.at.timestamp_millis() == e.tripped_at.timestamp_millis());
    if e.day > 0 && !still_open {
        return Ok(NotifyOutcome::NotAlerting);
    }
    let now = k.clock.now();
    match k.alerts.claim_alert(&e.key, ABOUT, now).await? {
        AlertClaim::Sent => return Ok(NotifyOutcome::AlreadyAlerted),
        AlertClaim::New | AlertClaim::Pending => {}
    }
    let alert = ops_alert(k, e);
    if let Err(err) = notifier.notify_ops(&alert).await {
        k.alerts.release_alert(&e.key).await?;
        return Err(err.into());
    }
    k.alerts.mark_alert_sent(&e.key, now).await?;
    tracing::info!(key = %e.key, "ops alerted: sending paused");
    Ok(NotifyOutcome::OpsAlerted(Box::new(alert)))
}

fn ops_alert(k: &Alerts<'_>, e: &SendingPaused) -> OpsAlert {
    let b = &k.config.deliverability.breaker;
    let subject = if e.day == 0 {
        "Kindling paused step mails: bounce or complaint rate too high".to_owned()
    } else {
        format!("Kindling step mails still paused (day {})", e.day + 1)
    };
    let body = format!(
        "{subject}\n\n\
         Paused since: {}\n\
         Why: {}\n\
         Counted: {} sends, {} hard bounces, {} complaints\n\
         Limits: {} bounces or {} complaints over {} (SES reviews accounts at 5% and 0.1%)\n\n\
         Every step mail waits; nothing is dropped. Sales alerts are not affected.\n\
         What to do: find where the bounced or complaining addresses came from (a bought or old\n\
         list, a form without confirmation), remove them, then resume:\n\
         \x20 kindling sending resume --note \"...\"   (locally)\n\
         \x20 POST /admin/sending/resume {{\"note\": \"...\"}}   (deployed; IAM-authorized)\n\
         Counting restarts at the next hour after a resume.\n",
        e.tripped_at.format("%Y-%m-%d %H:%M UTC"),
        e.reason,
        e.sends,
        e.bounces,
        e.complaints,
        percent(b.bounce_rate),
        percent(b.complaint_rate),
        span(b.window),
    );
    OpsAlert {
        key: e.key.clone(),
        audience: Audience::Ops,
        kind: "sending_paused".into(),
        subject,
        body,
        at: k.clock.now(),
    }
}
