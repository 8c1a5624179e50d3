//! The moves a person makes on a broadcast, one enum for the CLI, the admin interface and the
//! route `POST /admin/broadcasts/{broadcast}/{move}`: each name is declared once, and each move
//! is carried out by one match ([`make`]).

use super::{lifecycle, Broadcast, Broadcasts};
use crate::error::Result;
use crate::ids::BroadcastId;

/// A move of a broadcast's lifecycle (edits and test sends take bodies of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Move {
    /// Render for every recipient and count who would get it; sends nothing.
    DryRun,
    /// Approve it as it is now.
    Approve,
    /// Arm an approved broadcast.
    Schedule,
    /// Stop sending until resumed.
    Pause,
    /// Go on where it stood.
    Resume,
    /// Go on past a guard.
    Confirm,
    /// Stop for good.
    Cancel,
}

crate::named!(Move {
    DryRun = "dry-run",
    Approve = "approve",
    Schedule = "schedule",
    Pause = "pause",
    Resume = "resume",
    Confirm = "confirm",
    Cancel = "cancel",
});

/// Makes `mv` on broadcast `id` as `by`.
pub async fn make(k: &Broadcasts<'_>, id: &BroadcastId, mv: Move, by: &str) -> Result<Broadcast> {
    match mv {
        Move::DryRun => super::dry_run::dry_run(k, id, by).await,
        Move::Approve => lifecycle::approve(k, id, by).await,
        Move::Schedule => lifecycle::schedule(k, id, by).await,
        Move::Pause => lifecycle::pause(k, id, by).await,
        Move::Resume => lifecycle::resume(k, id, by).await,
        Move::Confirm => lifecycle::confirm(k, id, by).await,
        Move::Cancel => lifecycle::cancel(k, id, by).await,
    }
}
