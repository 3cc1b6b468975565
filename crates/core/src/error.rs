//! The one error type of Roster. Every failure a caller can see has a stable, greppable `code`;
//! the web layer decides HTTP status and wording from the code in exactly one place.

use crate::password::{PasswordPolicy, PasswordRule};

/// A failure reported by a storage backend, classified by kind (never by message text).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (e.g. an App ID or an email already present).
    #[error("unique constraint violated")]
    Unique,
    /// A foreign-key constraint was violated.
    #[error("foreign key constraint violated")]
    ForeignKey,
    /// The database could not be reached or is overloaded (connection refused, pool timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a corrupt row. Logged, never shown to users in detail.
    #[error("database error: {0}")]
    Other(String),
}

/// One field-level validation problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("the password does not meet the policy")]
    /// The broken rules, and the policy they belong to (for their wording).
    PasswordPolicy(Vec<PasswordRule>, PasswordPolicy),
    #[error("no seat available: all {total} seats are in use")]
    SeatUnavailable { total: i64, held: i64 },
    #[error("this invitation has expired")]
    InvitationExpired,
    #[error("this invitation was revoked")]
    InvitationRevoked,
    #[error("this invitation has already been used")]
    InvitationUsed,
    #[error("this invitation was replaced by a newer one")]
    InvitationReplaced,
    #[error("this email is already a member of the app")]
    AlreadyMember,
    #[error("an invitation to this email is already pending; resend it instead")]
    AlreadyInvited,
    #[error("an ID with this email already exists; log in with it to accept")]
    IdExists,
    #[error("no ID exists for this email yet; create one to accept")]
    NoId,
    #[error("the terms must be accepted")]
    TermsRequired,
    #[error("the last admin of an app cannot be removed, demoted or leave")]
    LastAdmin,
    #[error("a member in this state cannot do that")]
    InvalidTransition(&'static str),
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("authentication required")]
    Unauthenticated,
    #[error("not found")]
    NotFound,
    #[error("this invitation is for another ID")]
    WrongIdentity,
    #[error("this link has expired or was already used; ask for a new one")]
    LinkInvalid,
    #[error("the code is wrong")]
    CodeInvalid,
    #[error("the answer to the security question is wrong")]
    SecurityAnswerWrong,
    #[error("the new password must differ from the last {0} passwords of this ID")]
    PasswordReused(usize),
    #[error("this email belongs to another ID")]
    EmailInUse,
    /// Too many failed logins for this ID: locked until then (a correct password too).
    #[error("too many failed attempts for this ID")]
    Locked { retry_after_secs: i64 },
    /// Every login slot of this ID is being verified right now; retry in a second.
    #[error("too many attempts in progress for this ID")]
    Busy,
    /// Too many requests of one kind from one client address.
    #[error("too many requests from this address")]
    RateLimited { retry_after_secs: i64 },
    /// The ID must agree to this version of the terms before going on.
    #[error("the current terms of use must be accepted first")]
    TermsAcceptanceRequired { version: String },
    /// The password was right; the second step must follow (`challenge`, one of `methods`).
    #[error("two-step verification is required")]
    SecondFactorRequired {
        challenge: String,
        methods: Vec<&'static str>,
    },
    #[error("this sign-in has expired or was already completed; log in again")]
    ChallengeInvalid,
    /// The app requires two-step verification and the ID has none yet.
    #[error("this app requires two-step verification: set it up first")]
    SecondFactorEnrolmentRequired { app_id: String },
    /// The change needs a recent login (log in again first).
    #[error("log in again to change your second steps")]
    ReauthenticationRequired,
    /// Roster support suspended the app: its members cannot use it until it is resumed.
    #[error("this app is suspended")]
    AppSuspended,
    /// The API key (or token) lacks the scope this needs.
    #[error("this key lacks the {0} scope")]
    InsufficientScope(&'static str),
    /// `If-Match` named another version than the current one.
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    /// The same `Idempotency-Key` came with another request.
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still running.
    #[error("a request with this Idempotency-Key is in progress")]
    IdempotencyInProgress,
    #[error("storage failure: {0}")]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::PasswordPolicy(..) => "password_policy",
            Error::SeatUnavailable { .. } => "seat_unavailable",
            Error::InvitationExpired => "invitation_expired",
            Error::InvitationRevoked => "invitation_revoked",
            Error::InvitationUsed => "invitation_used",
            Error::InvitationReplaced => "invitation_replaced",
            Error::AlreadyMember => "already_member",
            Error::AlreadyInvited => "already_invited",
            Error::IdExists => "id_exists",
            Error::NoId => "no_id",
            Error::TermsRequired => "terms_required",
            Error::LastAdmin => "last_admin",
            Error::InvalidTransition(_) => "invalid_transition",
            Error::InvalidCredentials => "invalid_credentials",
            Error::Unauthenticated => "unauthenticated",
            Error::NotFound => "not_found",
            Error::WrongIdentity => "wrong_identity",
            Error::LinkInvalid => "link_invalid",
            Error::CodeInvalid => "code_invalid",
            Error::SecurityAnswerWrong => "security_answer_wrong",
            Error::PasswordReused(_) => "password_reused",
            Error::EmailInUse => "email_in_use",
            Error::Locked { .. } => "id_locked",
            Error::Busy => "too_many_attempts",
            Error::RateLimited { .. } => "rate_limited",
            Error::TermsAcceptanceRequired { .. } => "terms_acceptance_required",
            Error::SecondFactorRequired { .. } => "second_factor_required",
            Error::ChallengeInvalid => "challenge_invalid",
            Error::ReauthenticationRequired => "reauthentication_required",
            Error::SecondFactorEnrolmentRequired { .. } => "second_factor_enrolment_required",
            Error::InsufficientScope(_) => "insufficient_scope",
            Error::AppSuspended => "app_suspended",
            Error::PreconditionFailed => "precondition_failed",
            Error::IdempotencyKeyReused => "idempotency_key_reused",
            Error::IdempotencyInProgress => "idempotency_in_progress",
            Error::Store(StoreError::Unavailable(_)) => "unavailable",
            Error::Store(_) | Error::Internal(_) => "internal",
        }
    }

    /// A single invalid field.
    /// Seconds a client should wait before trying again, for the 429 answers.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Error::Locked { retry_after_secs } => Some((*retry_after_secs).max(1)),
            Error::Busy => Some(1),
            Error::RateLimited { retry_after_secs } => Some((*retry_after_secs).max(1)),
            _ => None,
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError {
            field,
            message: message.into(),
        }])
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
