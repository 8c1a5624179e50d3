//! The follow-up figures of the hand-offs to sales: how long an alert took to reach sales after
//! the lead was handed over (the system's delay), how long sales took after it to first mark the
//! lead (the people's delay), how many were marked in time, reminded and escalated. Each is
//! counted once, as it happens, into the day buckets of the program's zone.

use super::count::{m, Counts, KEEP_DAYS, TOTALS};
use super::Kpis;
use crate::alerts::ports::Alert;
use crate::error::Result;
use crate::leads::Handoff;
use crate::scoring::events::FollowUpKind;
use chrono::{DateTime, Utc};

/// The series of marks holding when each hand-off's alert went out (`handoff.{lead}`, named by
/// the hand-off's time).
fn series(lead: &crate::ids::LeadId) -> String {
    format!("handoff.{lead}")
}

/// The owner breakdown of a follow-up fact (none for a lead nobody owns).
fn by_owner(owner: Option<&str>) -> Vec<(super::Dim, String)> {
    owner
        .map(|o| (super::Dim::Owner, o.to_owned()))
        .into_iter()
        .collect()
}

/// Counts an alert sent about a lead: a hand-off's first alert (a hot lead or a sales trigger)
/// with its delay since the hand-off at `handed_off_at` (and remembers when it went out, for the
/// people's delay), a reminder, or an escalation. Once per alert.
pub async fn count_alert(
    k: &Kpis<'_>,
    alert: &Alert,
    handed_off_at: DateTime<Utc>,
    owner: Option<&str>,
) -> Result<()> {
    let counters: Vec<(&str, u64)> = match alert.follow_up {
        Some(FollowUpKind::Reminder) => vec![(m::REMINDERS, 1)],
        Some(FollowUpKind::Escalation) => vec![(m::ESCALATIONS, 1)],
        None => {
            k.tallies
                .set_mark(
                    &series(&alert.lead_id),
                    &handed_off_at.to_rfc3339(),
                    &alert.at.to_rfc3339(),
                    true,
                )
                .await?;
            let delay = (alert.at - handed_off_at).num_seconds().max(0);
            vec![
                (m::HANDOFF_ALERTS, 1),
                (m::ALERT_DELAY_S, u64::try_from(delay).unwrap_or(0)),
            ]
        }
    };
    let mut c = Counts::new(k.config.zone);
    c.group(
        format!("alert/{}", alert.key),
        alert.at,
        &counters,
        &by_owner(owner),
    );
    k.tallies
        .tally_each_once(TOTALS, &c.groups, KEEP_DAYS, k.clock.now())
        .await?;
    Ok(())
}

/// Counts sales' first mark of the open hand-off `h` at `at`: the people's delay since its
/// alert went out (since the hand-off, if no alert did), and whether it was in time. Once per
/// hand-off.
pub async fn count_first_touch(
    k: &Kpis<'_>,
    lead: &crate::leads::Lead,
    h: &Handoff,
    at: DateTime<Utc>,
) -> Result<()> {
    let owner = lead.owner.as_ref().map(|o| o.rep.as_str());
    let lead = &lead.id;
    let alerted = k
        .tallies
        .marks(&series(lead))
        .await?
        .get(&h.at.to_rfc3339())
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map_or(h.at, |t| t.with_timezone(&Utc));
    let delay = u64::try_from((at - alerted).num_seconds().max(0)).unwrap_or(0);
    let mut counters = vec![(m::FIRST_TOUCHES, 1), (m::TOUCH_DELAY_S, delay)];
    if at <= h.due {
        counters.push((m::TOUCHED_IN_TIME, 1));
    }
    let mut c = Counts::new(k.config.zone);
    c.group(
        format!("touch/{lead}/{}", h.n),
        at,
        &counters,
        &by_owner(owner),
    );
    k.tallies
        .tally_each_once(TOTALS, &c.groups, KEEP_DAYS, k.clock.now())
        .await?;
    Ok(())
}
