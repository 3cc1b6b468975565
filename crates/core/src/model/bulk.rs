//! Bulk invitations: one row of a list, what became of it, and a long run's progress.

use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One row of a bulk invitation, as sent (parsed by the service, each on its own).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BulkRow {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// `user` (the default) or `partner`.
    pub kind: Option<String>,
    /// What was wrong with the row before it could be read (e.g. a CSV `admin` that is not
    /// yes or no): the row is refused with this reason.
    #[serde(skip)]
    pub problem: Option<String>,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// 1-based position in the list.
    pub row: usize,
    pub email: String,
    /// `None`: invited.
    pub error: Option<BulkError>,
    pub invitation_id: Option<InvitationId>,
    pub member_id: Option<MemberId>,
}

/// Why a row was refused: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkError {
    pub code: String,
    pub message: String,
}

/// The answer to a bulk invitation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BulkReport {
    pub invited: usize,
    pub failed: usize,
    /// Seats that would have let every refused `seat_unavailable` row through.
    pub seats_needed: usize,
    pub rows: Vec<BulkOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkState {
    Running,
    Done,
    Failed,
}

impl BulkState {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkState::Running => "running",
            BulkState::Done => "done",
            BulkState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(BulkState::Running),
            "done" => Some(BulkState::Done),
            "failed" => Some(BulkState::Failed),
            _ => None,
        }
    }
}

/// A bulk invitation run from the page: its progress, then its report (kept in the database
/// so any node can show it).
#[derive(Debug, Clone)]
pub struct BulkJob {
    pub id: uuid::Uuid,
    pub app_id: AppId,
    pub created_by: Option<IdentityId>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub total: i64,
    pub done: i64,
    pub state: BulkState,
    /// The report as JSON, once done.
    pub report: Option<String>,
}
