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

/// When the broadcast starts: the earliest of its cells' times (a time variant may come before
/// A's).
pub fn starts_at(b: &Broadcast, program_zone: Tz) -> DateTime<Utc> {
    let cells = b.ab.as_ref().map_or(1, Plan::cells);
    (0..cells)
        .map(|c| schedule_of(b, c).starts_at(program_zone))
        .min()
        .unwrap_or_else(|| b.schedule.starts_at(program_zone))
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
            starts_at(&b, tokyo),
            Utc.with_ymd_and_hms(2026, 11, 3, 23, 0, 0).unwrap()
        );
        let b = broadcast(false, Some("2026-11-04 14:00"));
        assert_eq!(
            starts_at(&b, tokyo),
            Utc.with_ymd_and_hms(2026, 11, 4, 1, 0, 0).unwrap()
        );
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
