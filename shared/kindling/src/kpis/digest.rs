//! The weekly digest: once a week, at `[digest] at` on `[digest] day` in the program's zone, a
//! KPI summary of the seven days before goes to each `[digest] to` address: the figures against
//! the seven days before those, the flagged health and fatigue items and missed targets, the
//! breaker's state and the leads that turned hot.
//!
//! Exactly once per week and address, however often the schedule runs (every minute, and a
//! schedule event may be delivered twice): each attempt is claimed first with a mark that only
//! one runner can set (`digest:{day}`, `{address}#{attempt}`), then sent, then marked `sent`.
//! A failed send is marked `failed` and the next run tries again (at most [`MAX_ATTEMPTS`]); a
//! claim whose outcome is unknown (a crash during the send) is never sent again, as for any
//! mail ([`crate::dispatch`]). A digest not sent within [`SEND_WITHIN`] of its time is skipped:
//! last week's figures are stale by then.

use super::{KpiQuery, Kpis};
use crate::email::EmailAddress;
use crate::error::Result;
use crate::sending::ports::{MailError, Mailer, OutgoingMail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

/// Attempts per week and address.
pub const MAX_ATTEMPTS: usize = 5;
/// How long after its time a digest may still go.
pub const SEND_WITHIN: Duration = Duration::hours(24);
pub use super::digest_text::{Digest, MAX_HOT_LISTED};

/// What a run did about the digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DigestReport {
    /// The digest's day (its figures are of the seven days before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// Addresses it went to in this run.
    pub sent: Vec<String>,
    /// Addresses whose send failed in this run (tried again next run).
    pub failed: Vec<String>,
    /// Whether this run's digest links the week's report ([`super::archive`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub linked: bool,
}

/// The digest's day if its time has come and it is still fresh at `now`.
pub fn due(
    d: &super::config::Digest,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Option<NaiveDate> {
    let today = now.with_timezone(&zone).date_naive();
    let back = (7 + today.weekday().num_days_from_monday() - d.day.num_days_from_monday()) % 7;
    let day = today - chrono::Days::new(u64::from(back));
    let at = crate::sending::schedule::resolve_local(zone, day.and_time(d.at));
    (now >= at && now < at + SEND_WITHIN).then_some(day)
}

/// The seven days before `day`, and the seven before those.
fn weeks(day: NaiveDate) -> [(NaiveDate, NaiveDate); 2] {
    let d = |n: u64| day - chrono::Days::new(n);
    [(d(7), d(1)), (d(14), d(8))]
}

/// Reads what the digest of `day` says.
pub async fn gather(
    k: &Kpis<'_>,
    day: NaiveDate,
    breaker: crate::deliverability::SendingStatus,
) -> Result<Digest> {
    let [(since, until), (b_since, b_until)] = weeks(day);
    let q = |since: NaiveDate, until: NaiveDate| KpiQuery {
        since: Some(since.to_string()),
        until: Some(until.to_string()),
        period: Some("week".into()),
        by: Vec::new(),
    };
    let week = super::kpis(k, &q(since, until)).await?;
    let before = super::kpis(k, &q(b_since, b_until)).await?;
    let trend = super::kpis(k, &q(day - chrono::Days::new(84), until)).await?;
    let (from, to) = (
        super::period::bucket_of(since),
        format!("{}}}", super::period::bucket_of(until)),
    );
    let ids = k
        .tallies
        .tally_sums(&super::Dim::HotLead.series(), Some(&from), Some(&to))
        .await?;
    let hot_count = ids.iter().filter(|t| !t.bucket.is_empty()).count();
    let mut hot = Vec::new();
    for t in ids
        .iter()
        .filter(|t| !t.bucket.is_empty())
        // The highest scores among the first hundred (a week has a handful).
        .take(5 * MAX_HOT_LISTED)
    {
        if let Some(l) = k
            .leads
            .get_lead(&crate::ids::LeadId::new(&t.bucket))
            .await?
        {
            hot.push(l);
        }
    }
    hot.sort_by_key(|l| std::cmp::Reverse(l.score.total));
    hot.truncate(MAX_HOT_LISTED);
    Ok(Digest {
        day,
        week,
        before,
        trend,
        breaker,
        hot,
        hot_count,
        report: None,
    })
}

/// Where an address stands for the week: its attempts' marks.
enum Standing {
    /// Sent, rejected for good, claimed by a run whose outcome is unknown, or out of attempts.
    Done,
    /// The next attempt's number.
    Try(usize),
}

fn standing(marks: &std::collections::BTreeMap<String, String>, to: &EmailAddress) -> Standing {
    let prefix = format!("{to}#");
    let mine: Vec<&String> = marks
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(_, v)| v)
        .collect();
    if mine.len() >= MAX_ATTEMPTS || mine.iter().any(|v| !v.starts_with("failed")) {
        return Standing::Done;
    }
    Standing::Try(mine.len() + 1)
}

/// Sends the digest of `day` to every address not yet done, each once; `breaker` is read and
/// `report` (the week's report kept, its link) run only if one is due.
pub async fn send(
    k: &Kpis<'_>,
    mailer: &dyn Mailer,
    day: NaiveDate,
    breaker: impl std::future::Future<Output = Result<crate::deliverability::SendingStatus>>,
    report: impl std::future::Future<Output = Option<String>>,
) -> Result<DigestReport> {
    let mut report_out = DigestReport {
        day: Some(day),
        ..DigestReport::default()
    };
    let Some(cfg) = k.config.digest else {
        return Ok(report_out);
    };
    let series = format!("digest:{day}");
    let marks = k.tallies.marks(&series).await?;
    let todo: Vec<(usize, &EmailAddress, usize)> = cfg
        .to
        .iter()
        .enumerate()
        .filter_map(|(i, to)| match standing(&marks, to) {
            Standing::Try(n) => Some((i, to, n)),
            Standing::Done => None,
        })
        .collect();
    if todo.is_empty() {
        return Ok(report_out);
    }
    let mut digest = gather(k, day, breaker.await?).await?;
    digest.report = report.await;
    report_out.linked = digest.report.is_some();
    let (subject, text, html) = super::digest_text::render(k.config, &digest);
    for (i, to, attempt) in todo {
        let name = format!("{to}#{attempt}");
        let claim = format!("claimed {}", k.clock.now().to_rfc3339());
        if k.tallies.set_mark(&series, &name, &claim, true).await? == crate::ports::Put::Existed {
            continue;
        }
        let local = format!("digest-{day}-{i}-{attempt}");
        let raw = match build(k, to, &local, &subject, &text, &html) {
            Ok(raw) => raw,
            Err(e) => {
                k.tallies
                    .set_mark(&series, &name, &format!("rejected {e}"), false)
                    .await?;
                report_out.failed.push(to.to_string());
                continue;
            }
        };
        let mail = OutgoingMail {
            id: format!("digest_{day}_{i}_{attempt}"),
            from: k.config.sender.from_address.clone(),
            to: to.clone(),
            raw,
        };
        let outcome = match mailer.send(&mail).await {
            Ok(id) => {
                report_out.sent.push(to.to_string());
                format!("sent {id}")
            }
            Err(MailError::Retryable(e)) => {
                report_out.failed.push(to.to_string());
                format!("failed {e}")
            }
            Err(MailError::Rejected(e)) => {
                report_out.failed.push(to.to_string());
                format!("rejected {e}")
            }
        };
        tracing::info!(day = %day, attempt, outcome = %outcome, "weekly digest");
        k.tallies.set_mark(&series, &name, &outcome, false).await?;
    }
    Ok(report_out)
}

/// The digest as RFC 5322 bytes: plain text and HTML, from the sender, no tracking.
fn build(
    k: &Kpis<'_>,
    to: &EmailAddress,
    message_id: &str,
    subject: &str,
    text: &str,
    html: &str,
) -> std::result::Result<Vec<u8>, String> {
    use lettre::message::{Mailbox, MultiPart};
    let s = k.config.sender;
    let addr = |e: &EmailAddress| {
        e.as_str()
            .parse::<lettre::Address>()
            .map_err(|e| e.to_string())
    };
    let message = lettre::Message::builder()
        .from(Mailbox::new(
            Some(s.from_name.clone()),
            addr(&s.from_address)?,
        ))
        .to(Mailbox::new(None, addr(to)?))
        .subject(subject)
        .date(k.clock.now().into())
        .message_id(Some(format!("<{message_id}@{}>", s.from_address.domain())))
        .multipart(MultiPart::alternative_plain_html(
            text.to_owned(),
            html.to_owned(),
        ))
        .map_err(|e| e.to_string())?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeZone, Weekday};

    #[test]
    fn a_digest_is_due_from_its_local_hour_for_a_day_across_daylight_saving() {
        let d = crate::kpis::config::Digest {
            to: Vec::new(),
            day: Weekday::Mon,
            at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        };
        let ny: chrono_tz::Tz = "America/New_York".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        // Monday 2026-11-02, the day after DST ended: 09:00 EST is 14:00 UTC.
        let t = |h, m| Utc.with_ymd_and_hms(2026, 11, 2, h, m, 0).unwrap();
        assert_eq!(due(&d, ny, t(13, 59)), None);
        assert_eq!(due(&d, ny, t(14, 0)), Some(day));
        // Until 09:00 on Tuesday; Sunday and Tuesday afternoon are not due.
        assert_eq!(due(&d, ny, t(14, 0) + Duration::hours(23)), Some(day));
        assert_eq!(due(&d, ny, t(14, 0) + Duration::hours(24)), None);
        assert_eq!(due(&d, ny, t(14, 0) - Duration::days(1)), None);
        // A week earlier, in EDT: 09:00 is 13:00 UTC.
        let before = Utc.with_ymd_and_hms(2026, 10, 26, 13, 0, 0).unwrap();
        assert_eq!(due(&d, ny, before), NaiveDate::from_ymd_opt(2026, 10, 26));
        // Another day: Friday 17:30 in Tokyo.
        let fri = crate::kpis::config::Digest {
            day: Weekday::Fri,
            at: NaiveTime::from_hms_opt(17, 30, 0).unwrap(),
            ..d
        };
        let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 6, 8, 30, 0).unwrap();
        assert_eq!(due(&fri, tokyo, at), NaiveDate::from_ymd_opt(2026, 11, 6));
        assert_eq!(due(&fri, tokyo, at - Duration::minutes(1)), None);
    }
}
