//! Password journey: forgot password, reset it with the emailed link or code, change it.

use super::logged_in_response;
use crate::AppState;
use crate::extract::{ApiJson, Auth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use roster_core::service::ResetRequest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", post(forgot))
        .route("/password/reset", post(reset))
        .route("/me/password", post(change))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@acme.example"}))]
pub struct ForgotBody {
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub status: AcceptedStatus,
    pub detail: String,
}

/// Always `accepted`: the request was taken; what follows happens by email.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcceptedStatus {
    Accepted,
}

/// Either `token`, or `email` with `code`; then the new `password`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Zq3xT0mYH0b8c1L2k9Vw4rS5uN6pQ7aE", "password": "Green-Lantern-77", "security_answer": "Rex"}))]
pub struct ResetBody {
    /// The token from the emailed link (`/reset-password/{token}`) …
    pub token: Option<String>,
    /// … or the ID's email with the emailed 8-digit code.
    pub email: Option<String>,
    pub code: Option<String>,
    pub password: String,
    /// Required when the ID has a security question (an extra check, never the only one).
    pub security_answer: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Blue-Kettle-42", "new_password": "Green-Lantern-77"}))]
pub struct ChangePasswordBody {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/password/forgot", tag = "password", request_body = ForgotBody,
    responses((status = 202, body = Accepted, description = "the same answer whether or not an ID has this email"),
        (status = 429, description = "rate_limited")))]
pub async fn forgot(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<ForgotBody>,
) -> ApiResult<Response> {
    state.services.forgot_password(&ctx, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: AcceptedStatus::Accepted,
            detail: "If an ID has this email, a reset link and code are on their way. They work \
                     once, for 30 minutes."
                .into(),
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/password/reset", tag = "password", request_body = ResetBody,
    responses((status = 204, description = "password changed; every session of the ID ended; lock cleared"),
        (status = 410, description = "link_invalid: expired, used or unknown"),
        (status = 422, description = "password_policy, password_reused, code_invalid, security_answer_wrong, invalid_input"),
        (status = 429, description = "rate_limited")))]
pub async fn reset(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<StatusCode> {
    let req = ResetRequest {
        token: body.token,
        email: body.email,
        code: body.code,
        password: body.password,
        security_answer: body.security_answer,
    };
    state.services.reset_password(&ctx, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "password", request_body = ChangePasswordBody,
    responses((status = 200, body = crate::dto::SessionResponse, description = "changed: every other session ended, this one has a new token"),
        (status = 422, description = "invalid_input (current_password), password_policy, password_reused"),
        (status = 429, description = "id_locked or too_many_attempts: too many wrong passwords for this ID (Retry-After)"),
        (status = 403, description = "terms_acceptance_required")))]
pub async fn change(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<Response> {
    let li = state
        .services
        .change_password(&ctx, &p, &body.current_password, &body.new_password)
        .await?;
    Ok(logged_in_response(&state, li, StatusCode::OK))
}
