//! Webhooks: an app's endpoints, the events they pick, and each delivery (written in the
//! transaction of the change it reports, delivered by a worker, retried with backoff).

use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a webhook can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WebhookEvent {
    #[serde(rename = "member.invited")]
    MemberInvited,
    #[serde(rename = "member.joined")]
    MemberJoined,
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged,
    #[serde(rename = "member.deactivated")]
    MemberDeactivated,
    #[serde(rename = "member.reactivated")]
    MemberReactivated,
    #[serde(rename = "member.left")]
    MemberLeft,
    #[serde(rename = "invitation.revoked")]
    InvitationRevoked,
    #[serde(rename = "invitation.expired")]
    InvitationExpired,
    #[serde(rename = "seats.changed")]
    SeatsChanged,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 9] = [
        WebhookEvent::MemberInvited,
        WebhookEvent::MemberJoined,
        WebhookEvent::MemberRoleChanged,
        WebhookEvent::MemberDeactivated,
        WebhookEvent::MemberReactivated,
        WebhookEvent::MemberLeft,
        WebhookEvent::InvitationRevoked,
        WebhookEvent::InvitationExpired,
        WebhookEvent::SeatsChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::MemberInvited => "member.invited",
            WebhookEvent::MemberJoined => "member.joined",
            WebhookEvent::MemberRoleChanged => "member.role_changed",
            WebhookEvent::MemberDeactivated => "member.deactivated",
            WebhookEvent::MemberReactivated => "member.reactivated",
            WebhookEvent::MemberLeft => "member.left",
            WebhookEvent::InvitationRevoked => "invitation.revoked",
            WebhookEvent::InvitationExpired => "invitation.expired",
            WebhookEvent::SeatsChanged => "seats.changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// For people: what it means.
    pub fn label(self) -> &'static str {
        match self {
            WebhookEvent::MemberInvited => "Someone was invited",
            WebhookEvent::MemberJoined => "Someone joined",
            WebhookEvent::MemberRoleChanged => "Someone was made or stopped being an admin",
            WebhookEvent::MemberDeactivated => "Someone was deactivated",
            WebhookEvent::MemberReactivated => "Someone was reactivated",
            WebhookEvent::MemberLeft => "Someone left",
            WebhookEvent::InvitationRevoked => "An invitation was revoked",
            WebhookEvent::InvitationExpired => "An invitation expired",
            WebhookEvent::SeatsChanged => "The number of seats changed",
        }
    }

    pub fn join(events: &[WebhookEvent]) -> String {
        let mut v = events.to_vec();
        v.sort();
        v.dedup();
        v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" ")
    }

    pub fn split(s: &str) -> Vec<WebhookEvent> {
        s.split_whitespace()
            .filter_map(WebhookEvent::parse)
            .collect()
    }
}

/// An HTTPS endpoint of an app's business application.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: uuid::Uuid,
    pub app_id: AppId,
    pub url: String,
    /// The signing secret (`whsec_…`), sealed with the server's secret key.
    pub secret_sealed: Vec<u8>,
    pub events: Vec<WebhookEvent>,
    pub created_by: Option<IdentityId>,
    pub created_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One message to one endpoint; its id is the `webhook-id` (the same on every retry).
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub id: uuid::Uuid,
    pub endpoint_id: uuid::Uuid,
    pub app_id: AppId,
    pub event: String,
    /// The JSON body sent.
    pub payload: String,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
    pub attempts: i32,
    pub state: DeliveryState,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub delivered_at: Option<OffsetDateTime>,
}

/// A delivery claimed by a worker, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: WebhookDelivery,
    pub url: String,
    pub secret_sealed: Vec<u8>,
}

/// What one attempt gave.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub at: OffsetDateTime,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// Next state, and when to try again if still pending.
    pub state: DeliveryState,
    pub next_attempt_at: OffsetDateTime,
}
