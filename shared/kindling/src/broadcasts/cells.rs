//! What each cell of a broadcast gets, for every broadcast, tested or not (without an A/B test
//! there is one cell, A): which cell a lead is in, each cell's schedule and content, when the
//! broadcast starts, which mail a lead gets, and what the sender does with a recipient
//! ([`pick`]). The test itself, as written and as approved, is [`super::ab`].

use super::ab::Plan;
use super::content::{Compiled, Content};
use super::{Broadcast, Schedule};
use crate::ids::{BroadcastId, LeadId};
use crate::sending::ab;
use crate::sending::schedule::resolve_local;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// The cell of `lead` in `b`'s test (`None`: the rest).
pub fn cell_of(plan: &Plan, broadcast: &BroadcastId, lead: &LeadId) -> Option<usize> {
    let bucket = ab::assign(lead, &format!("@{broadcast}"), 0, 100);
    let pct = usize::from(plan.cell_percent.max(1));
    (bucket < pct * plan.cells()).then_some(bucket / pct)
}

/// Cell `cell`'s schedule (0, or no test: the broadcast's).
pub fn schedule_of(b: &Broadcast, cell: usize) -> Schedule {
    match b
        .ab
        .as_ref()
        .and_then(|p| p.variants.get(cell.wrapping_sub(1)))
    {
        Some(v) => v.schedule(&b.schedule),
        None => b.schedule,
    }
}

/// When the broadcast starts, freezing its audience: without `local`, the earliest of its cells'
/// times (a time variant may come before A's) in the program's zone. With `local`, `head_start`
/// before the first recipient's hour that its dry run of the broadcast as it is found, so that
/// a lead who joins the audience in the meantime is in it and edits stay possible until then;
/// without such a dry run, the earliest cell's time in the earliest zone on Earth (UTC+14). A
/// lead who joins after the dry run, in a zone whose hour comes earlier than every zone the dry
/// run saw, gets the mail when the audience freezes.
pub fn starts_at(b: &Broadcast, program_zone: Tz, head_start: Duration) -> DateTime<Utc> {
    let cells = b.ab.as_ref().map_or(1, Plan::cells);
    let earliest = (0..cells)
        .map(|c| schedule_of(b, c).starts_at(program_zone))
        .min()
        .unwrap_or_else(|| b.schedule.starts_at(program_zone));
    let first_due = b
        .dry_run
        .as_ref()
        .filter(|d| d.hash == b.hash())
        .and_then(|d| d.first_due);
    match first_due {
        // Every lead's hour comes at or after the earliest zone's, so this is never earlier.
        Some(first) if b.schedule.local => first - head_start,
        _ => earliest,
    }
}

/// Cell `cell`'s content (0, or no test: the broadcast's).
pub fn content_of(b: &Broadcast, cell: usize) -> Content {
    match b
        .ab
        .as_ref()
        .and_then(|p| p.variants.get(cell.wrapping_sub(1)))
    {
        Some(v) => v.content(&b.content),
        None => b.content.clone(),
    }
}

/// Every cell's content compiled, A first (only A without a test).
pub fn compile_all(b: &Broadcast) -> std::result::Result<Vec<Compiled>, String> {
    let cells = b.ab.as_ref().map_or(1, Plan::cells);
    (0..cells).map(|c| content_of(b, c).compile()).collect()
}

/// The cell whose mail `lead` gets: its own, else the winner once decided, else A.
pub fn mail_cell(b: &Broadcast, lead: &LeadId) -> usize {
    match &b.ab {
        None => 0,
        Some(plan) => cell_of(plan, &b.id, lead)
            .or(b.decision.as_ref().map(|d| d.winner))
            .unwrap_or(0),
    }
}

/// What the sender does with one recipient of `b`.
pub enum Pick {
    /// Send this cell's mail: a cell recipient (`true`: its send counts toward the test), or
    /// `(0, false)` without a test.
    Cell(usize, bool),
    /// A recipient of the rest: the winner, due at `due` (before quiet hours).
    Rest { winner: usize, due: DateTime<Utc> },
    /// A recipient of the rest before the decision.
    Undecided,
}

/// What the sender does with `lead`'s recipient record, `zone` its zone.
pub fn pick(b: &Broadcast, lead: &LeadId, zone: Tz, program_zone: Tz) -> Pick {
    let Some(plan) = &b.ab else {
        return Pick::Cell(0, false);
    };
    if let Some(c) = cell_of(plan, &b.id, lead) {
        return Pick::Cell(c, true);
    }
    let Some(d) = &b.decision else {
        return Pick::Undecided;
    };
    let s = schedule_of(b, d.winner);
    let tz = if s.local { zone } else { program_zone };
    let day = d.at.with_timezone(&tz).date_naive();
    let mut due = resolve_local(tz, day.and_time(s.at.time()));
    if due < d.at {
        due = resolve_local(tz, (day + Duration::days(1)).and_time(s.at.time()));
    }
    Pick::Rest {
        winner: d.winner,
        due: due.max(d.at),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::broadcasts::ab::{Decision, Variant};
    use crate::sending::ab::{Metric, Verdict};
    use chrono::{NaiveDateTime, TimeZone};

    fn broadcast(local: bool, variant_at: Option<&str>) -> Broadcast {
        let mut b: Broadcast = serde_json::from_value(serde_json::json!({
            "id": "nl", "name": "n", "audience": { "kind": "all" },
            "content": { "source": "t", "parts": { "ja": { "txt": "Subject: A\n\nbody", "html": "<p>body</p>" } } },
            "schedule": { "at": "2026-11-04T10:00:00", "local": local },
            "state": "sending", "created_by": "m", "created_at": "2026-11-01T00:00:00Z", "version": 0
        }))
        .unwrap();
        b.ab = Some(Plan {
            variants: vec![Variant {
                subject: None,
                at: variant_at.map(|a| NaiveDateTime::parse_from_str(a, "%Y-%m-%d %H:%M").unwrap()),
            }],
            cell_percent: 10,
            metric: Metric::Click,
            wait_hours: 4,
            sample: 100,
            confidence: 0.95,
        });
        b
    }

    #[test]
    fn cells_split_the_audience_by_their_share_and_a_lead_keeps_its_cell() {
        let b = broadcast(true, Some("2026-11-04 14:00"));
        let plan = b.ab.as_ref().unwrap();
        let mut counts = [0usize; 3];
        for i in 0..10_000 {
            let lead = LeadId::new(format!("lead-{i}"));
            let c = cell_of(plan, &b.id, &lead);
            assert_eq!(c, cell_of(plan, &b.id, &lead), "stable");
            counts[c.unwrap_or(2)] += 1;
        }
        assert!((850..1150).contains(&counts[0]), "{counts:?}");
        assert!((850..1150).contains(&counts[1]), "{counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), 10_000);
        // Another broadcast splits the same leads differently.
        let other = BroadcastId::new("other");
        let moved = (0..1000)
            .filter(|i| {
                let lead = LeadId::new(format!("lead-{i}"));
                cell_of(plan, &b.id, &lead) != cell_of(plan, &other, &lead)
            })
            .count();
        assert!(moved > 100, "{moved}");
    }

    #[test]
    fn the_rest_is_due_at_the_winners_hour_on_the_first_day_after_the_decision() {
        let tokyo = chrono_tz::Asia::Tokyo;
        let ny = chrono_tz::America::New_York;
        let mut b = broadcast(true, Some("2026-11-04 14:00"));
        let decided = Utc.with_ymd_and_hms(2026, 11, 4, 9, 0, 0).unwrap();
        b.decision = Some(Decision {
            at: decided,
            winner: 1,
            verdict: Verdict::NeedsSample { missing: 1 },
            cells: Vec::new(),
        });
        let rest = (0..)
            .map(|i| LeadId::new(format!("r{i}")))
            .find(|l| cell_of(b.ab.as_ref().unwrap(), &b.id, l).is_none())
            .unwrap();
        let due = |b: &Broadcast, zone| match pick(b, &rest, zone, tokyo) {
            Pick::Rest { winner: 1, due } => due,
            _ => panic!("a rest recipient gets the winner"),
        };
        // 14:00 in Tokyo on the 4th (05:00 UTC) was before the decision: the 5th's.
        assert_eq!(
            due(&b, tokyo),
            Utc.with_ymd_and_hms(2026, 11, 5, 5, 0, 0).unwrap()
        );
        // 14:00 in New York on the 4th (19:00 UTC) is after it: the same day.
        assert_eq!(
            due(&b, ny),
            Utc.with_ymd_and_hms(2026, 11, 4, 19, 0, 0).unwrap()
        );
        // Without `local`, the program's zone for everyone.
        b.schedule.local = false;
        assert_eq!(
            due(&b, ny),
            Utc.with_ymd_and_hms(2026, 11, 5, 5, 0, 0).unwrap()
        );
        // Undecided, a rest recipient waits.
        b.decision = None;
        assert!(matches!(pick(&b, &rest, tokyo, tokyo), Pick::Undecided));
    }

    #[test]
    fn a_broadcast_starts_at_its_earliest_cell() {
        let tokyo = chrono_tz::Asia::Tokyo;
        let b = broadcast(false, Some("2026-11-04 08:00"));
        assert_eq!(
            starts_at(&b, tokyo, Duration::minutes(60)),
            Utc.with_ymd_and_hms(2026, 11, 3, 23, 0, 0).unwrap()
        );
        let b = broadcast(false, Some("2026-11-04 14:00"));
        assert_eq!(
            starts_at(&b, tokyo, Duration::minutes(60)),
            Utc.with_ymd_and_hms(2026, 11, 4, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_local_broadcast_starts_a_head_start_before_the_first_hour_its_dry_run_found() {
        let tokyo = chrono_tz::Asia::Tokyo;
        let mut b = broadcast(true, None);
        b.ab = None;
        let kiribati = Utc.with_ymd_and_hms(2026, 11, 3, 20, 0, 0).unwrap();
        let hour = Duration::minutes(60);
        assert_eq!(starts_at(&b, tokyo, hour), kiribati, "no dry run: UTC+14");
        let ten_jst = Utc.with_ymd_and_hms(2026, 11, 4, 1, 0, 0).unwrap();
        b.dry_run = Some(crate::broadcasts::DryRun {
            hash: b.hash(),
            first_due: Some(ten_jst),
            ..crate::broadcasts::DryRun::default()
        });
        assert_eq!(starts_at(&b, tokyo, hour), ten_jst - hour);
        assert_eq!(starts_at(&b, tokyo, Duration::zero()), ten_jst);
        // A dry run of another version of it says nothing.
        b.dry_run.as_mut().unwrap().hash = "stale".into();
        assert_eq!(starts_at(&b, tokyo, hour), kiribati);
        // Without `local`, everyone is due at once: the head start does not apply.
        let mut b = broadcast(false, None);
        b.ab = None;
        b.dry_run = Some(crate::broadcasts::DryRun {
            hash: b.hash(),
            first_due: Some(ten_jst),
            ..crate::broadcasts::DryRun::default()
        });
        assert_eq!(starts_at(&b, tokyo, hour), ten_jst);
    }

    #[test]
    fn a_variant_subject_replaces_only_the_subject() {
        let b = broadcast(false, None);
        let mut b2 = b.clone();
        b2.ab.as_mut().unwrap().variants[0].subject =
            Some([("ja".to_owned(), "B {{ lead.company or \"\" }}".to_owned())].into());
        let c = content_of(&b2, 1);
        assert_eq!(
            c.parts["ja"].txt,
            "Subject: B {{ lead.company or \"\" }}\n\nbody"
        );
        assert_eq!(c.parts["ja"].html, b.content.parts["ja"].html);
        assert_eq!(content_of(&b2, 0), b.content);
    }
}
