//! Every change of a broadcast's state, by a person ([`super::lifecycle`]) or by the sender
//! ([`super::run`]), goes through one table ([`apply`]): from which states a transition may
//! go, and where it leads. The guards that read more than the state (a dry run of the broadcast
//! as it is, the second approver, a hold to confirm) stay with the move that needs them.

use super::{Broadcast, State};
use crate::error::{Error, Result};
use crate::names::Named;

/// Who the sender's own transitions are recorded as, in a broadcast's history.
pub const SENDER: &str = "kindling";

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A person edits it: back to draft, its approval void.
    Edit,
    Approve,
    Schedule,
    Pause,
    /// Back to where it stood: sending if it had started, else scheduled.
    Resume,
    /// Past a guard's hold, back to where it stood.
    Confirm,
    Cancel,
    /// The sender starts it at its time.
    Start,
    /// The sender holds a start that is too late.
    HoldStale,
    /// The sender holds an audience above the size guard.
    HoldSize,
    /// The sender handled its last recipient.
    Finish,
}

/// Where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    State(State),
    /// Sending if it had started, else scheduled.
    WhereItStood,
}

/// The table: the states a transition leaves from, where it leads, and how a refusal reads.
fn row(t: Transition) -> (&'static [State], To, &'static str) {
    use State::*;
    match t {
        Transition::Edit => (&[Draft, Approved, Scheduled], To::State(Draft), "edited"),
        Transition::Approve => (&[Draft], To::State(Approved), "approved"),
        Transition::Schedule => (
            &[Approved],
            To::State(Scheduled),
            "scheduled (approve it first)",
        ),
        Transition::Pause => (&[Scheduled, Sending], To::State(Paused), "paused"),
        Transition::Resume => (&[Paused], To::WhereItStood, "resumed"),
        Transition::Confirm => (&[Paused], To::WhereItStood, "confirmed"),
        Transition::Cancel => (
            &[Draft, Approved, Scheduled, Sending, Paused],
            To::State(Cancelled),
            "cancelled",
        ),
        Transition::Start => (&[Scheduled], To::State(Sending), "started"),
        Transition::HoldStale => (&[Scheduled], To::State(Paused), "held"),
        Transition::HoldSize => (&[Sending], To::State(Paused), "held"),
        Transition::Finish => (&[Sending], To::State(Sent), "finished"),
    }
}

/// Whether `b`'s state allows `t` (a move checks this before its own guards).
pub fn allows(b: &Broadcast, t: Transition) -> Result<()> {
    let (from, _, doing) = row(t);
    if from.contains(&b.state) {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "broadcast {} is {}: it cannot be {doing}",
        b.id,
        b.state.name()
    )))
}

/// Moves `b` along `t`, or refuses (nothing changed) when its state does not allow it.
pub fn apply(b: &mut Broadcast, t: Transition) -> Result<()> {
    allows(b, t)?;
    let (_, to, _) = row(t);
    b.state = match to {
        To::State(s) => s,
        To::WhereItStood if b.started_at.is_some() => State::Sending,
        To::WhereItStood => State::Scheduled,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn broadcast(state: State, started: bool) -> Broadcast {
        let mut b: Broadcast = serde_json::from_value(serde_json::json!({
            "id": "nl", "name": "n", "audience": { "kind": "all" },
            "content": { "source": "t", "parts": {} },
            "schedule": { "at": "2026-11-04T10:00:00", "local": false },
            "state": "draft", "created_by": "m", "created_at": "2026-11-01T00:00:00Z", "version": 0
        }))
        .unwrap();
        b.state = state;
        if started {
            b.started_at = Some("2026-11-04T01:00:00Z".parse().unwrap());
        }
        b
    }

    /// The whole table, written out: (transition, from, to), `None` where it is refused.
    #[test]
    fn every_state_and_transition_meets_the_table() {
        use State::*;
        use Transition as T;
        let all = [Draft, Approved, Scheduled, Sending, Sent, Paused, Cancelled];
        let expect = |t: T, from: State, started: bool| -> Option<State> {
            match (t, from) {
                (T::Edit, Draft | Approved | Scheduled) => Some(Draft),
                (T::Approve, Draft) => Some(Approved),
                (T::Schedule, Approved) => Some(Scheduled),
                (T::Pause, Scheduled | Sending) => Some(Paused),
                (T::Resume | T::Confirm, Paused) if started => Some(Sending),
                (T::Resume | T::Confirm, Paused) => Some(Scheduled),
                (T::Cancel, Sent | Cancelled) => None,
                (T::Cancel, _) => Some(Cancelled),
                (T::Start, Scheduled) => Some(Sending),
                (T::HoldStale, Scheduled) => Some(Paused),
                (T::HoldSize, Sending) => Some(Paused),
                (T::Finish, Sending) => Some(Sent),
                _ => None,
            }
        };
        let transitions = [
            T::Edit,
            T::Approve,
            T::Schedule,
            T::Pause,
            T::Resume,
            T::Confirm,
            T::Cancel,
            T::Start,
            T::HoldStale,
            T::HoldSize,
            T::Finish,
        ];
        for t in transitions {
            for from in all {
                for started in [false, true] {
                    let mut b = broadcast(from, started);
                    let got = apply(&mut b, t).ok().map(|()| b.state);
                    assert_eq!(got, expect(t, from, started), "{t:?} from {from:?}");
                    if got.is_none() {
                        assert_eq!(b.state, from, "a refusal changes nothing");
                    }
                }
            }
        }
        let mut sent = broadcast(Sent, true);
        let e = apply(&mut sent, T::Cancel).unwrap_err().to_string();
        assert_eq!(e, "broadcast nl is sent: it cannot be cancelled");
    }
}
