//! Two-step verification journey: the second step of a login, setting up an authenticator app
//! or email codes, backup codes, trusted browsers, and an app's requirement.

use super::{app_id, logged_in_response};
use crate::AppState;
use crate::cookies;
use crate::extract::{ApiJson, AppAuth, Auth, AuthAny, RequestCtx};
use crate::problem::{ApiResult, SecondFactorMethod};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use roster_core::service::{Enrolled, SecondStep};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/session/second-factor", post(second_factor))
        .route("/session/second-factor/email", post(email_code))
        .route("/me/two-step", get(status))
        .route("/me/two-step/totp", post(start_totp))
        .route("/me/two-step/totp/confirm", post(confirm_totp))
        .route("/me/two-step/email", post(enable_email))
        .route("/me/two-step/backup-codes", post(backup_codes))
        .route("/me/two-step/disable", post(disable))
        .route(
            "/me/two-step/trusted-browsers/forget",
            post(forget_browsers),
        )
        .route("/apps/{app_id}/two-step", put(app_requirement))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"challenge": "Hq7sP2vL9xK4mN0bC3dF6gJ8", "method": "totp", "code": "492039", "trust_browser": true}))]
pub struct SecondFactorBody {
    /// From the 401 `second_factor_required` answer of `POST /api/v1/session`.
    pub challenge: String,
    /// One of the `methods` of that answer.
    pub method: SecondFactorMethod,
    pub code: String,
    /// Skip the second step in this browser for 30 days (a `roster_device` cookie).
    #[serde(default)]
    pub trust_browser: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"challenge": "Hq7sP2vL9xK4mN0bC3dF6gJ8"}))]
pub struct ChallengeBody {
    pub challenge: String,
}

#[derive(Serialize, ToSchema)]
pub struct TwoStepStatus {
    pub enabled: bool,
    pub totp: bool,
    pub email: bool,
    pub backup_codes_left: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TotpSetup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    pub otpauth_url: String,
    /// The same URL as an SVG QR code.
    pub qr_svg: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "492039"}))]
pub struct CodeBody {
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Blue-Kettle-42"}))]
pub struct PasswordBody {
    pub current_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct EnrolledDto {
    /// The session's new token (every other session ended).
    pub token: String,
    /// Shown once: each works once when the other methods are not at hand.
    pub backup_codes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct BackupCodes {
    pub backup_codes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"required": true}))]
pub struct RequirementBody {
    pub required: bool,
}

/// The `roster_device` cookie for a trusted browser.
pub fn device_cookie(state: &AppState, token: &str) -> Option<HeaderValue> {
    let max_age = roster_core::service::TRUST_TTL.whole_seconds();
    cookies::set(
        cookies::DEVICE,
        token,
        &format!("HttpOnly; SameSite=Lax; Max-Age={max_age}"),
        state.secure_cookies,
    )
}

/// An SVG QR code of `text` (rendered on the server; no script).
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

fn no_store<T: IntoResponse>(v: T) -> Response {
    let mut res = v.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[utoipa::path(post, path = "/api/v1/session/second-factor", tag = "session", request_body = SecondFactorBody,
    responses((status = 200, body = crate::dto::SessionResponse),
        (status = 401, description = "challenge_invalid: expired or used; log in again"),
        (status = 422, description = "code_invalid (counts towards the ID's lockout)"),
        (status = 429, description = "id_locked, rate_limited")))]
pub async fn second_factor(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<SecondFactorBody>,
) -> ApiResult<Response> {
    let step = SecondStep {
        challenge: body.challenge,
        method: body.method.as_str().to_string(),
        code: body.code,
        trust_browser: body.trust_browser,
    };
    let (li, device) = state.services.finish_second_step(&ctx, &step).await?;
    let mut res = logged_in_response(&state, li, StatusCode::OK);
    if let Some(c) = device.and_then(|d| device_cookie(&state, &d)) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

#[utoipa::path(post, path = "/api/v1/session/second-factor/email", tag = "session", request_body = ChallengeBody,
    responses((status = 202, description = "a 6-digit code was emailed (10 minutes, 5 tries)"),
        (status = 401, description = "challenge_invalid"),
        (status = 422, description = "invalid_input: email codes are not a second step of this ID"),
        (status = 429, description = "rate_limited (Retry-After)")))]
pub async fn email_code(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<ChallengeBody>,
) -> ApiResult<StatusCode> {
    state
        .services
        .send_login_code(&ctx, &body.challenge)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(get, path = "/api/v1/me/two-step", tag = "two-step", responses((status = 200, body = TwoStepStatus)))]
pub async fn status(State(state): State<AppState>, AuthAny(p): AuthAny) -> ApiResult<Response> {
    let s = state.services.two_step_status(&p).await?;
    Ok(no_store(Json(TwoStepStatus {
        enabled: s.enabled(),
        totp: s.totp,
        email: s.email,
        backup_codes_left: s.backup_codes_left,
    })))
}

#[utoipa::path(post, path = "/api/v1/me/two-step/totp", tag = "two-step",
    responses((status = 200, body = TotpSetup, description = "active after POST …/totp/confirm with a first code"),
        (status = 403, description = "reauthentication_required: log in again (the last login is more than 10 minutes old)"),
        (status = 422, description = "invalid_input: an authenticator app is already set up")))]
pub async fn start_totp(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AuthAny(p): AuthAny,
) -> ApiResult<Response> {
    let e = state.services.start_totp(&ctx, &p).await?;
    Ok(no_store(Json(TotpSetup {
        qr_svg: qr_svg(&e.otpauth_url),
        secret: e.secret_base32,
        otpauth_url: e.otpauth_url,
    })))
}

pub(crate) fn enrolled(state: &AppState, e: Enrolled) -> Response {
    let cookie = super::session_cookie(state, &e.session);
    let mut res = no_store(Json(EnrolledDto {
        token: e.session.token,
        backup_codes: e.backup_codes,
    }));
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res
}

#[utoipa::path(post, path = "/api/v1/me/two-step/totp/confirm", tag = "two-step", request_body = CodeBody,
    responses((status = 200, body = EnrolledDto), (status = 422, description = "invalid_input (code)")))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AuthAny(p): AuthAny,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Response> {
    let e = state.services.confirm_totp(&ctx, &p, &body.code).await?;
    Ok(enrolled(&state, e))
}

#[utoipa::path(post, path = "/api/v1/me/two-step/email", tag = "two-step", request_body = PasswordBody,
    responses((status = 200, body = EnrolledDto),
        (status = 422, description = "invalid_input: the password is wrong"),
        (status = 429, description = "id_locked or too_many_attempts: too many wrong passwords for this ID (Retry-After)")))]
pub async fn enable_email(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AuthAny(p): AuthAny,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let e = state
        .services
        .enable_email_codes(&ctx, &p, &body.current_password)
        .await?;
    Ok(enrolled(&state, e))
}

#[utoipa::path(post, path = "/api/v1/me/two-step/backup-codes", tag = "two-step",
    responses((status = 200, body = BackupCodes, description = "a new set; the old one stops working"),
        (status = 403, description = "reauthentication_required: log in again (the last login is more than 10 minutes old)"),
        (status = 422, description = "invalid_input: two-step verification is off")))]
pub async fn backup_codes(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
) -> ApiResult<Response> {
    let codes = state.services.regenerate_backup_codes(&ctx, &p).await?;
    Ok(no_store(Json(BackupCodes {
        backup_codes: codes,
    })))
}

#[utoipa::path(post, path = "/api/v1/me/two-step/disable", tag = "two-step", request_body = PasswordBody,
    responses((status = 204, description = "off"), (status = 422, description = "invalid_input: an app of the ID requires it, or the password is wrong"),
        (status = 429, description = "id_locked or too_many_attempts: too many wrong passwords for this ID (Retry-After)")))]
pub async fn disable(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    state
        .services
        .disable_two_step(&ctx, &p, &body.current_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/two-step/trusted-browsers/forget", tag = "two-step",
    responses((status = 204, description = "every trusted browser asks for the second step again")))]
pub async fn forget_browsers(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
) -> ApiResult<StatusCode> {
    state.services.forget_trusted_browsers(&ctx, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/apps/{app_id}/two-step", tag = "two-step", request_body = RequirementBody,
    params(("app_id" = String, Path)),
    responses((status = 204, description = "saved"), (status = 404, description = "not an admin"),
        (status = 422, description = "the admin has no second step yet")))]
pub async fn app_requirement(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AppAuth(p): AppAuth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<RequirementBody>,
) -> ApiResult<StatusCode> {
    let app = app_id(&raw)?;
    state
        .services
        .set_app_requires_two_step(&ctx, &p, &app, body.required)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
