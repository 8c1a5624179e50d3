//! The enrollment store port.

use crate::ids::LeadId;
use crate::ports::{Cas, PortResult, Put};
use crate::sequences::Enrollment;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Enrollments of leads in sequences.
#[async_trait]
pub trait EnrollmentStore: Send + Sync {
    /// Enrolls; `Existed` if the lead already has an enrollment in that sequence.
    async fn enroll(&self, enrollment: &Enrollment) -> PortResult<Put>;
    /// Every enrollment of a lead.
    async fn enrollments_of_lead(&self, lead: &LeadId) -> PortResult<Vec<Enrollment>>;
    /// Active enrollments due at or before `now`, earliest first, at most `limit`.
    async fn due_enrollments(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<Enrollment>>;
    /// Replaces the enrollment if the stored version equals `e.version`.
    async fn update_enrollment(&self, e: &Enrollment) -> PortResult<Cas>;
}
