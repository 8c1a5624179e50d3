//! Reading a claim: whether the mail is ours to send, and what to make of a record found from
//! before. Pure, so the lease is tested without a store.

use crate::sending::ledger::{SendRecord, SendState, CLAIM_LEASE_MINUTES};
use crate::sending::ports::SendClaim;
use chrono::{DateTime, Duration, Utc};

/// What a claim's outcome means for the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The claim is ours: send.
    Ours,
    /// The cap is full until `until` (the caller moves it out of quiet hours and its window).
    Capped { until: DateTime<Utc> },
    /// Another sender holds a claim younger than the lease: leave it alone this run.
    InProgress,
    /// A sender stopped between claiming and recording: the provider may have accepted the
    /// mail. Record it `unknown`; never send it blindly again.
    Abandoned(SendRecord),
    /// Recorded (sent, failed or unknown) before.
    Recorded(SendRecord),
}

/// Reads a claim made at `now`.
pub fn read_claim(claim: SendClaim, now: DateTime<Utc>) -> Claim {
    match claim {
        SendClaim::Claimed => Claim::Ours,
        SendClaim::CapReached { until } => Claim::Capped {
            until: until.max(now),
        },
        SendClaim::Exists(existing) => match existing.state {
            SendState::Sending
                if now - existing.claimed_at < Duration::minutes(CLAIM_LEASE_MINUTES) =>
            {
                Claim::InProgress
            }
            SendState::Sending => Claim::Abandoned(existing),
            _ => Claim::Recorded(existing),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EnrollmentId, LeadId, TemplateId};
    use crate::message::MessageKey;
    use chrono::TimeZone;

    fn record(state: SendState, claimed_at: DateTime<Utc>) -> SendRecord {
        SendRecord {
            key: MessageKey::step(LeadId::new("l1"), EnrollmentId::new("e1"), 0),
            sequence_id: None,
            template: TemplateId::new("t"),
            state,
            claimed_at,
            sent_at: None,
            provider_message_id: None,
            links: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn a_claim_is_ours_capped_in_progress_abandoned_or_recorded() {
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 1, 0, 0).unwrap();
        assert_eq!(read_claim(SendClaim::Claimed, now), Claim::Ours);
        let until = now + Duration::hours(3);
        assert_eq!(
            read_claim(SendClaim::CapReached { until }, now),
            Claim::Capped { until }
        );
        let past = now - Duration::hours(1);
        assert_eq!(
            read_claim(SendClaim::CapReached { until: past }, now),
            Claim::Capped { until: now },
            "never due in the past"
        );
        let lease = Duration::minutes(CLAIM_LEASE_MINUTES);
        let fresh = record(SendState::Sending, now - lease + Duration::seconds(1));
        assert_eq!(read_claim(SendClaim::Exists(fresh), now), Claim::InProgress);
        let stale = record(SendState::Sending, now - lease);
        assert_eq!(
            read_claim(SendClaim::Exists(stale.clone()), now),
            Claim::Abandoned(stale)
        );
        for state in [SendState::Sent, SendState::Failed, SendState::Unknown] {
            let r = record(state, now - Duration::days(1));
            assert_eq!(
                read_claim(SendClaim::Exists(r.clone()), now),
                Claim::Recorded(r)
            );
        }
    }
}
