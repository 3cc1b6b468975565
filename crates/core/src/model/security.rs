//! What J7 adds to an ID: single-use mailbox tokens, terms versions, the audit filter.

use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What an [`IdentityToken`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    PasswordReset,
    EmailChange,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password_reset" => Some(Self::PasswordReset),
            "email_change" => Some(Self::EmailChange),
            _ => None,
        }
    }
}

/// A single-use link sent to an ID's mailbox. Only hashes of the token (and of the code a
/// reset email also carries) are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityToken {
    pub id: uuid::Uuid,
    pub identity_id: IdentityId,
    pub purpose: TokenPurpose,
    pub token_hash: Vec<u8>,
    pub code_hash: Option<Vec<u8>>,
    /// The address an email change goes to.
    pub new_email: Option<Email>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    /// Wrong codes entered against it (5 void it).
    pub tries: i64,
}

impl IdentityToken {
    pub fn usable(&self, now: OffsetDateTime) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// What a [`crate::model::Mail::SecurityNotice`] tells the owner of an ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEvent {
    PasswordChanged,
    PasswordReset,
    /// To the old address: a change of the login email was asked for.
    EmailChangeRequested,
    /// To the old address: the login email was changed.
    EmailChanged,
    /// Two-step verification was turned on (or a method added).
    SecondFactorEnabled,
    /// Two-step verification was turned off by the owner.
    SecondFactorDisabled,
    /// An operator removed the ID's second factors.
    SecondFactorsReset,
    /// A login from a browser or program (User-Agent) this ID has not logged in with lately.
    NewSignIn,
}

/// One published version of the terms of use (its body is sanitised HTML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsVersion {
    pub version: String,
    pub body_html: String,
    pub published_at: OffsetDateTime,
}

/// Which audit events to list. Every field narrows; `before` is the paging cursor (the last
/// event of the previous page: events strictly older are listed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events whose actor is this ID.
    pub actor: Option<IdentityId>,
    /// Events whose actor label (an email) contains this text, case-insensitively.
    pub actor_text: Option<String>,
    /// Events whose action starts with this (`login.`, `member.invited`).
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub before: Option<(OffsetDateTime, uuid::Uuid)>,
}

/// An ID's authenticator app (TOTP, RFC 6238). The secret is sealed with the server's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub identity_id: IdentityId,
    pub secret_enc: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// Set by the first valid code; until then the factor is not used at login.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last 30-second step whose code was accepted (no code is accepted twice).
    pub last_step: i64,
}

/// Which second factors an ID has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecondFactorStatus {
    pub totp: bool,
    pub email: bool,
    pub backup_codes_left: i64,
    pub passkeys: i64,
}

impl SecondFactorStatus {
    /// Whether the ID uses two-step verification at all.
    pub fn enabled(&self) -> bool {
        self.totp || self.email || self.passkeys > 0
    }
}

/// A login whose password was right, waiting for its second step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginChallenge {
    pub token_hash: Vec<u8>,
    pub identity_id: IdentityId,
    pub app_id: Option<AppId>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub email_code_hash: Option<Vec<u8>>,
    pub email_code_until: Option<OffsetDateTime>,
    pub email_code_tries: i64,
    pub used_at: Option<OffsetDateTime>,
}

/// A registered passkey of an ID. `credential` is the verified credential (public key, sign
/// counter) as the WebAuthn library serialises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub cred_id: Vec<u8>,
    pub identity_id: IdentityId,
    pub name: String,
    pub credential: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A WebAuthn ceremony in progress: its server-side state, used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub token_hash: Vec<u8>,
    pub identity_id: Option<IdentityId>,
    /// `register`, `sign_in` or `second_factor`.
    pub purpose: String,
    pub state: String,
    pub expires_at: OffsetDateTime,
}

/// An emailed invitation to become an operator (for a person without an ID yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorInvite {
    pub token_hash: Vec<u8>,
    pub email: Email,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}
