//! One core error, rendered as `application/problem+json` (RFC 9457). Status codes and wording
//! are decided here and nowhere else.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_core::Error;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Every `code` a problem document can carry: the core errors' codes and the HTTP layer's own
/// (unreadable requests, unknown addresses). Documented as the enum of [`ProblemDoc::code`].
pub const PROBLEM_CODES: &[&str] = &[
    // the HTTP layer (extractors, middleware, fallbacks)
    "bad_request",
    "malformed_json",
    "unsupported_media_type",
    "body_too_large",
    "method_not_allowed",
    // the core errors (`roster_core::Error::code`)
    "invalid_input",
    "password_policy",
    "seat_unavailable",
    "invitation_expired",
    "invitation_revoked",
    "invitation_used",
    "invitation_replaced",
    "already_member",
    "already_invited",
    "id_exists",
    "no_id",
    "terms_required",
    "last_admin",
    "invalid_transition",
    "invalid_credentials",
    "unauthenticated",
    "not_found",
    "wrong_identity",
    "link_invalid",
    "code_invalid",
    "security_answer_wrong",
    "password_reused",
    "email_in_use",
    "id_locked",
    "too_many_attempts",
    "rate_limited",
    "terms_acceptance_required",
    "second_factor_required",
    "challenge_invalid",
    "reauthentication_required",
    "second_factor_enrolment_required",
    "insufficient_scope",
    "app_suspended",
    "precondition_failed",
    "idempotency_key_reused",
    "idempotency_in_progress",
    "unavailable",
    "internal",
];

// Never built: the documents are written by [`Problem`]; this type only describes them.
/// Every error answer (`application/problem+json`, RFC 9457). `code` is stable; some codes add
/// the fields documented with them.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    #[schema(example = "/problems/not_found")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404, minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong and what to do about it, for a person.
    #[schema(example = "No such resource.")]
    pub detail: String,
    /// The stable, machine-readable code.
    #[schema(schema_with = problem_code_schema)]
    pub code: String,
    /// The fields at fault (`invalid_input`, `password_policy`, `password_reused`).
    pub errors: Option<Vec<FieldProblem>>,
    /// The broken password rules (`password_policy`).
    pub rules: Option<Vec<PasswordRuleDoc>>,
    /// Seconds until another try can succeed (`id_locked`, `rate_limited`; also `Retry-After`).
    pub retry_after: Option<i64>,
    /// The terms version to agree to (`terms_acceptance_required`).
    pub version: Option<String>,
    /// The login's pending second step (`second_factor_required`): send it to
    /// `POST /api/v1/session/second-factor` with one of `methods`.
    pub challenge: Option<String>,
    pub methods: Option<Vec<SecondFactorMethod>>,
    /// The app that requires two-step verification (`second_factor_enrolment_required`).
    pub app_id: Option<String>,
    /// The scope the API key lacks (`insufficient_scope`).
    pub scope: Option<crate::api::api_keys::ScopeDto>,
    /// The app's seats (`seat_unavailable`).
    pub seats: Option<ProblemSeats>,
    /// The failed checks of `GET /readyz` (`unavailable`).
    pub failed: Option<Vec<crate::api::ready::FailedCheck>>,
}

/// One field at fault.
#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    #[schema(example = "email")]
    pub field: String,
    /// The broken password rule (`password_policy` only).
    pub rule: Option<PasswordRuleDoc>,
    #[schema(example = "Enter a valid email address.")]
    pub message: String,
}

/// A password rule (`roster_core::password::PasswordRule`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordRuleDoc {
    MinLength,
    MaxLength,
    Uppercase,
    Lowercase,
    Digit,
    ContainsEmail,
    Common,
}

/// A second step of a login.
#[derive(Serialize, serde::Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorMethod {
    /// A code from an authenticator app.
    Totp,
    /// A code sent by email (`POST /api/v1/session/second-factor/email` first).
    Email,
    /// A one-time backup code.
    BackupCode,
    /// A passkey (`POST /api/v1/session/second-factor/passkey/start` first; the credential
    /// JSON is the `code`).
    Passkey,
}

impl SecondFactorMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorMethod::Totp => "totp",
            SecondFactorMethod::Email => "email",
            SecondFactorMethod::BackupCode => "backup_code",
            SecondFactorMethod::Passkey => "passkey",
        }
    }
}

/// The seats of an app when none is free.
#[derive(Serialize, ToSchema)]
pub struct ProblemSeats {
    pub total: i64,
    pub used: i64,
}

fn problem_code_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(PROBLEM_CODES.iter().copied()))
        .description(Some("The stable, machine-readable code of the problem."))
        .examples([json!("not_found")])
        .build()
}

/// The HTTP status of each error code.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Invalid(_)
        | Error::PasswordPolicy(..)
        | Error::TermsRequired
        | Error::CodeInvalid
        | Error::SecurityAnswerWrong
        | Error::PasswordReused(_)
        | Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        Error::InsufficientScope(_) | Error::AppSuspended => StatusCode::FORBIDDEN,
        Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        Error::IdempotencyInProgress => StatusCode::CONFLICT,
        Error::EmailInUse => StatusCode::CONFLICT,
        Error::LinkInvalid => StatusCode::GONE,
        Error::Locked { .. } | Error::Busy | Error::RateLimited { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        Error::TermsAcceptanceRequired { .. } => StatusCode::FORBIDDEN,
        Error::SeatUnavailable { .. }
        | Error::AlreadyMember
        | Error::AlreadyInvited
        | Error::IdExists
        | Error::NoId
        | Error::LastAdmin
        | Error::InvalidTransition(_)
        | Error::WrongIdentity => StatusCode::CONFLICT,
        Error::InvitationExpired
        | Error::InvitationRevoked
        | Error::InvitationUsed
        | Error::InvitationReplaced => StatusCode::GONE,
        Error::InvalidCredentials
        | Error::Unauthenticated
        | Error::SecondFactorRequired { .. }
        | Error::ChallengeInvalid => StatusCode::UNAUTHORIZED,
        Error::SecondFactorEnrolmentRequired { .. } | Error::ReauthenticationRequired => {
            StatusCode::FORBIDDEN
        }
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Store(roster_core::StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Store(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A problem document.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// Seconds for a `Retry-After` header (the 429 answers).
    pub retry_after: Option<i64>,
    pub code: String,
    pub title: String,
    pub detail: String,
    pub extra: Value,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            retry_after: None,
            code: code.to_string(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            detail: detail.into(),
            extra: Value::Null,
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        let code = e.code();
        let mut extra = json!({});
        let detail = match &e {
            Error::Invalid(errors) => {
                extra["errors"] = json!(errors);
                errors
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            Error::PasswordPolicy(rules, policy) => {
                extra["rules"] = json!(rules);
                extra["errors"] = json!(
                    rules
                        .iter()
                        .map(|r| json!({"field": "password", "rule": r, "message": r.describe(policy)}))
                        .collect::<Vec<_>>()
                );
                format!(
                    "The password breaks {} rule(s): {}.",
                    rules.len(),
                    rules
                        .iter()
                        .map(|r| serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Error::SeatUnavailable { total, held } => {
                extra["seats"] = json!({"total": total, "used": held});
                format!(
                    "No seat available: all {total} seats are in use ({held} held). Buy another \
                     seat (POST /api/v1/apps/{{app_id}}/seats with {{\"quantity\": 1}}) or ask \
                     support for a complimentary seat, then send the invitation again."
                )
            }
            Error::InvitationExpired => {
                "This invitation has expired. Ask an administrator of the app to resend it.".into()
            }
            Error::InvitationRevoked => {
                "This invitation was revoked. Ask an administrator of the app to send a new one."
                    .into()
            }
            Error::InvitationUsed => {
                "This invitation has already been used. Log in with your ID instead.".into()
            }
            Error::InvitationReplaced => {
                "This invitation link was replaced by a newer one. Use the link in the most \
                 recent email, or ask an administrator to resend it."
                    .into()
            }
            Error::Locked { retry_after_secs } => {
                extra["retry_after"] = json!(retry_after_secs);
                format!(
                    "Too many failed attempts for this ID: it is locked for {}. Try again \
                     later, or reset the password (POST /api/v1/password/forgot): a reset always \
                     gets the owner back in.",
                    human_seconds(*retry_after_secs)
                )
            }
            Error::Busy => {
                "Too many attempts for this ID are in progress. Try again in a second.".into()
            }
            Error::RateLimited { retry_after_secs } => {
                extra["retry_after"] = json!(retry_after_secs);
                format!(
                    "Too many requests from this address. Try again in {}.",
                    human_seconds(*retry_after_secs)
                )
            }
            Error::TermsAcceptanceRequired { version } => {
                extra["version"] = json!(version);
                format!(
                    "Agree to the terms of use, version {version} (GET /api/v1/terms), with \
                     POST /api/v1/me/terms {{\"version\": \"{version}\"}} before going on."
                )
            }
            Error::SecondFactorRequired { challenge, methods } => {
                extra["challenge"] = json!(challenge);
                extra["methods"] = json!(methods);
                "The password is right; finish with POST /api/v1/session/second-factor \
                 {\"challenge\", \"method\", \"code\"} within 10 minutes."
                    .into()
            }
            Error::SecondFactorEnrolmentRequired { app_id } => {
                extra["app_id"] = json!(app_id);
                format!(
                    "App {app_id} requires two-step verification. Set up an authenticator app \
                     (POST /api/v1/me/two-step/totp) or email codes first."
                )
            }
            Error::PasswordReused(n) => {
                extra["errors"] = json!([{"field": "password", "message": format!("Choose a password that is not one of your last {n}.")}]);
                format!("The new password must differ from the last {n} passwords of this ID.")
            }
            Error::InsufficientScope(scope) => {
                extra["scope"] = json!(scope);
                format!(
                    "This API key lacks the {scope} scope that this needs. Use a key made with \
                     it, or a session."
                )
            }
            Error::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    "The service is temporarily unavailable. Try again shortly.".into()
                } else {
                    "Something went wrong on our side. It has been logged.".into()
                }
            }
            Error::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                "Something went wrong on our side. It has been logged.".into()
            }
            other => {
                let mut s = other.to_string();
                if let Some(first) = s.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                s.push('.');
                s
            }
        };
        Problem {
            status,
            retry_after: e.retry_after(),
            code: code.to_string(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            detail,
            extra,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("/problems/{}", self.code),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        if let (Some(obj), Value::Object(extra)) = (body.as_object_mut(), self.extra) {
            for (k, v) in extra {
                obj.insert(k, v);
            }
        }
        let mut res = (self.status, body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

/// "45 seconds", "5 minutes", "2 hours".
pub fn human_seconds(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs < 90 {
        plural(secs.max(1), "second")
    } else if secs < 90 * 60 {
        plural((secs + 59) / 60, "minute")
    } else {
        plural((secs + 3599) / 3600, "hour")
    }
}

/// Handlers return this; `?` on a core error becomes a problem response.
pub struct ApiError(pub Problem);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(Problem::from(e))
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::password::{PasswordPolicy, PasswordPreset};

    /// One of each core error; the `match` has no wildcard, so a new variant does not compile
    /// until it is listed here (and its code documented in [`PROBLEM_CODES`]).
    fn every_error() -> Vec<Error> {
        use roster_core::StoreError;
        let policy = PasswordPolicy::from_preset(PasswordPreset::Seed);
        let all = vec![
            Error::Invalid(vec![]),
            Error::PasswordPolicy(vec![], policy),
            Error::SeatUnavailable { total: 1, held: 1 },
            Error::InvitationExpired,
            Error::InvitationRevoked,
            Error::InvitationUsed,
            Error::InvitationReplaced,
            Error::AlreadyMember,
            Error::AlreadyInvited,
            Error::IdExists,
            Error::NoId,
            Error::TermsRequired,
            Error::LastAdmin,
            Error::InvalidTransition("x"),
            Error::InvalidCredentials,
            Error::Unauthenticated,
            Error::NotFound,
            Error::WrongIdentity,
            Error::LinkInvalid,
            Error::CodeInvalid,
            Error::SecurityAnswerWrong,
            Error::PasswordReused(3),
            Error::EmailInUse,
            Error::Locked {
                retry_after_secs: 1,
            },
            Error::Busy,
            Error::RateLimited {
                retry_after_secs: 1,
            },
            Error::TermsAcceptanceRequired {
                version: "v".into(),
            },
            Error::SecondFactorRequired {
                challenge: "c".into(),
                methods: vec!["totp"],
            },
            Error::ChallengeInvalid,
            Error::SecondFactorEnrolmentRequired { app_id: "a".into() },
            Error::ReauthenticationRequired,
            Error::InsufficientScope("admin"),
            Error::AppSuspended,
            Error::PreconditionFailed,
            Error::IdempotencyKeyReused,
            Error::IdempotencyInProgress,
            Error::Store(StoreError::Unique),
            Error::Store(StoreError::ForeignKey),
            Error::Store(StoreError::Unavailable("x".into())),
            Error::Store(StoreError::Other("x".into())),
            Error::Internal("x".into()),
        ];
        for e in &all {
            match e {
                Error::Invalid(_)
                | Error::PasswordPolicy(..)
                | Error::SeatUnavailable { .. }
                | Error::InvitationExpired
                | Error::InvitationRevoked
                | Error::InvitationUsed
                | Error::InvitationReplaced
                | Error::AlreadyMember
                | Error::AlreadyInvited
                | Error::IdExists
                | Error::NoId
                | Error::TermsRequired
                | Error::LastAdmin
                | Error::InvalidTransition(_)
                | Error::InvalidCredentials
                | Error::Unauthenticated
                | Error::NotFound
                | Error::WrongIdentity
                | Error::LinkInvalid
                | Error::CodeInvalid
                | Error::SecurityAnswerWrong
                | Error::PasswordReused(_)
                | Error::EmailInUse
                | Error::Locked { .. }
                | Error::Busy
                | Error::RateLimited { .. }
                | Error::TermsAcceptanceRequired { .. }
                | Error::SecondFactorRequired { .. }
                | Error::ChallengeInvalid
                | Error::SecondFactorEnrolmentRequired { .. }
                | Error::ReauthenticationRequired
                | Error::InsufficientScope(_)
                | Error::AppSuspended
                | Error::PreconditionFailed
                | Error::IdempotencyKeyReused
                | Error::IdempotencyInProgress
                | Error::Store(_)
                | Error::Internal(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_problem_code_is_in_the_documented_enum() {
        for e in every_error() {
            let p = Problem::from(e);
            assert!(PROBLEM_CODES.contains(&p.code.as_str()), "{}", p.code);
            assert!(p.status.is_client_error() || p.status.is_server_error());
        }
        let mut seen = std::collections::HashSet::new();
        assert!(PROBLEM_CODES.iter().all(|c| seen.insert(c)), "duplicates");
    }

    #[test]
    fn password_rules_are_worded_by_the_configured_policy() {
        let nist = PasswordPolicy::from_preset(PasswordPreset::Nist);
        let Err(e) = nist.check("short", "someone") else {
            panic!("accepted")
        };
        let p = Problem::from(e);
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.extra["errors"][0]["message"], "15 characters minimum");
    }
}
