//! Mail: the typed messages waiting in the outbox, admin notifications and their preferences,
//! and what became of an invitation's email.

use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::SecurityEvent;

/// A typed email waiting in the outbox. Rendered only when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Mail {
    /// An invitation to join an app as a user (holds a seat) or partner.
    Invitation {
        kind: MemberKind,
        app_name: String,
        app_id: AppId,
        inviter_name: String,
        invitee_first_name: Option<String>,
        admin: bool,
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// Sent after the initial setup: the ID, the app's name, App ID and URL, how to get help.
    AccountInformation {
        first_name: String,
        email: String,
        app_name: String,
        app_id: AppId,
    },
    /// A password reset link with its 8-digit code. The secret holds both, as `TOKEN CODE`.
    PasswordReset {
        first_name: String,
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
        /// Sent because the ID was locked after failed logins (not because someone asked).
        locked: bool,
    },
    /// A short notice to the ID's owner about a change to their ID (password changed or reset,
    /// login email changing, second factors reset, ...). `report` links to the reset page.
    SecurityNotice {
        first_name: String,
        event: SecurityEvent,
        /// The new login email, for an email change.
        detail: Option<String>,
    },
    /// A one-time login code (secret: the 6 digits), valid 10 minutes.
    LoginCode { first_name: String },
    /// A confirmation link to the new login email (secret: the token).
    EmailChange {
        first_name: String,
        new_email: String,
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// To each admin of the app: a member left it from their ID's account page.
    MemberLeft {
        app_name: String,
        app_id: AppId,
        member_name: String,
        member_email: String,
        kind: MemberKind,
    },
    /// About a day before an invitation expires, once (secret: a second token of the same
    /// invitation, so the first link keeps working too).
    InvitationReminder {
        kind: MemberKind,
        app_name: String,
        app_id: AppId,
        inviter_name: String,
        invitee_first_name: Option<String>,
        admin: bool,
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// To one admin: what happened in the app. Events of one kind that happen close together
    /// are grouped into one message (a bulk invite of 500 is one summary).
    AdminNotification {
        app_name: String,
        app_id: AppId,
        kind: NotificationKind,
        events: Vec<NotificationEvent>,
        /// Events beyond the ones listed (a summary lists at most [`MAX_LISTED_EVENTS`]).
        #[serde(default)]
        more: u32,
        /// The one-click unsubscribe token for this admin, app and kind.
        unsubscribe: String,
    },
    /// To the member concerned: their role or status in the app changed (cannot be turned off).
    MemberNotice {
        first_name: Option<String>,
        app_name: String,
        app_id: AppId,
        change: MemberChange,
        by: String,
    },
    /// An invitation to become a Roster support operator (link with the token, 7 days).
    OperatorInvitation {
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// The app's identity provider added the person as an Active member (SCIM direct
    /// provisioning). `set_password_until`: a Roster ID was made for them and the secret is a
    /// link to choose its password, usable until then.
    Provisioned {
        first_name: Option<String>,
        app_name: String,
        app_id: AppId,
        #[serde(default, with = "time::serde::rfc3339::option")]
        set_password_until: Option<OffsetDateTime>,
    },
    /// Support answered an admin's seat request (granted: how many; declined: `None`).
    SeatRequestAnswered {
        first_name: String,
        app_name: String,
        app_id: AppId,
        asked: i64,
        granted: Option<i64>,
        /// The operator's note or reason.
        note: Option<String>,
    },
    /// To the admin who bought seats.
    SeatReceipt {
        first_name: String,
        app_name: String,
        app_id: AppId,
        quantity: i64,
        seats_total: i64,
        reference: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// A summary lists at most this many events by name; the rest are counted.
pub const MAX_LISTED_EVENTS: usize = 100;

/// The kinds of notification an admin gets about their app, each of which they can turn off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// X was invited by Y.
    Invited,
    /// X accepted an invitation and joined.
    Joined,
    /// X is now an admin / no longer an admin.
    AdminChanged,
    /// X was deactivated / reactivated.
    StatusChanged,
    /// X left the app.
    Left,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 5] = [
        Self::Invited,
        Self::Joined,
        Self::AdminChanged,
        Self::StatusChanged,
        Self::Left,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Joined => "joined",
            Self::AdminChanged => "admin_changed",
            Self::StatusChanged => "status_changed",
            Self::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What a person reads on the preferences page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Invited => "Someone was invited",
            Self::Joined => "Someone joined",
            Self::AdminChanged => "Someone became an admin or stopped being one",
            Self::StatusChanged => "Someone was deactivated or reactivated",
            Self::Left => "Someone left the app",
        }
    }
}

/// A change to a membership, told to the admins and to the member concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    MadeAdmin,
    AdminRemoved,
    Deactivated,
    Reactivated,
}

impl MemberChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MadeAdmin => "made_admin",
            Self::AdminRemoved => "admin_removed",
            Self::Deactivated => "deactivated",
            Self::Reactivated => "reactivated",
        }
    }
}

/// One thing that happened, in an admin notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationEvent {
    pub member_name: String,
    pub member_email: String,
    /// Who did it (absent when the member did it themselves).
    pub by: Option<String>,
    pub partner: bool,
    pub change: Option<MemberChange>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// An admin's choice for one kind of notification in one app (absent: on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NotificationPref {
    pub kind: NotificationKind,
    pub enabled: bool,
}

/// What became of an email, as the admin sees it on an invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting for its first attempt.
    Queued,
    /// Accepted by the receiving mail server.
    Delivered {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// A temporary failure; it is tried again.
    Retrying {
        #[serde(with = "time::serde::rfc3339")]
        next_attempt_at: OffsetDateTime,
        error: String,
    },
    /// Refused for good (or retried until given up): the server's reply.
    Undeliverable { error: String },
}

impl Delivery {
    pub fn of(m: &OutboxMessage) -> Delivery {
        match m.status {
            OutboxStatus::Sent => Delivery::Delivered {
                at: m.sent_at.unwrap_or(m.created_at),
            },
            OutboxStatus::Failed => Delivery::Undeliverable {
                error: m.last_error.clone().unwrap_or_default(),
            },
            OutboxStatus::Pending => match &m.last_error {
                Some(e) => Delivery::Retrying {
                    next_attempt_at: m.next_attempt_at,
                    error: e.clone(),
                },
                None => Delivery::Queued,
            },
        }
    }

    pub fn state(&self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Delivered { .. } => "delivered",
            Delivery::Retrying { .. } => "retrying",
            Delivery::Undeliverable { .. } => "undeliverable",
        }
    }
}

impl Mail {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Mail::Invitation { .. } => "invitation",
            Mail::AccountInformation { .. } => "account_information",
            Mail::MemberLeft { .. } => "member_left",
            Mail::PasswordReset { .. } => "password_reset",
            Mail::SecurityNotice { .. } => "security_notice",
            Mail::EmailChange { .. } => "email_change",
            Mail::LoginCode { .. } => "login_code",
            Mail::InvitationReminder { .. } => "invitation_reminder",
            Mail::AdminNotification { .. } => "admin_notification",
            Mail::MemberNotice { .. } => "member_notice",
            Mail::SeatReceipt { .. } => "seat_receipt",
            Mail::SeatRequestAnswered { .. } => "seat_request_answered",
            Mail::OperatorInvitation { .. } => "operator_invitation",
            Mail::Provisioned { .. } => "provisioned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: MessageId,
    pub created_at: OffsetDateTime,
    pub to: String,
    pub mail: Mail,
    /// A secret the rendered mail needs (an invitation token); erased once the mail is sent.
    pub secret: Option<String>,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
    /// Messages with the same key that are still waiting are merged into one (notifications).
    pub group_key: Option<String>,
    /// The invitation this message is about: its delivery shows on the invitation.
    pub invitation_id: Option<InvitationId>,
}

impl OutboxMessage {
    pub fn new(now: OffsetDateTime, to: &Email, mail: Mail, secret: Option<String>) -> Self {
        OutboxMessage {
            id: MessageId::new(),
            created_at: now,
            to: to.mailbox(),
            mail,
            secret,
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
            group_key: None,
            invitation_id: None,
        }
    }

    /// About this invitation: its delivery state shows on it.
    pub fn for_invitation(mut self, id: InvitationId) -> Self {
        self.invitation_id = Some(id);
        self
    }

    /// Wait until `due` for more messages with `key` to merge into this one.
    pub fn grouped(mut self, key: String, due: OffsetDateTime) -> Self {
        self.group_key = Some(key);
        self.next_attempt_at = due;
        self
    }

    /// The stable RFC 5322 Message-ID, the same on every delivery attempt.
    pub fn message_id_header(&self, domain: &str) -> String {
        format!("<{}@{}>", self.id.0, domain)
    }
}
