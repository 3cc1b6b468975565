//! Accept journey (public side): what an invitation offers, and accepting it with a new or
//! an existing ID.

use super::logged_in_response;
use crate::AppState;
use crate::dto::{
    AcceptBody, PublicInvitation, QuestionModeDto, SecurityQuestionOption, SessionResponse,
};
use crate::extract::{ApiJson, MaybeAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use roster_core::service::{NewIdentityForm, QuestionMode};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/invitations/{token}", get(public_invitation))
        .route("/invitations/{token}/accept", post(accept))
}

#[utoipa::path(get, path = "/api/v1/invitations/{token}", tag = "invitations",
    params(("token" = String, Path)),
    responses((status = 200, body = PublicInvitation), (status = 404, description = "not_found"),
        (status = 410, description = "invitation_expired, invitation_revoked, invitation_used or invitation_replaced")))]
pub async fn public_invitation(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
) -> ApiResult<Json<PublicInvitation>> {
    let i = state.services.invitation_info(&ctx, &token).await?;
    Ok(Json(PublicInvitation {
        app_name: i.app_name,
        app_id: i.app_id.to_string(),
        inviter_name: i.inviter_name,
        email: i.email,
        kind: i.kind.into(),
        admin: i.admin,
        first_name: i.first_name,
        last_name: i.last_name,
        id_exists: i.id_exists,
        expires_at: i
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        security_question_mode: match state.services.settings().security_question {
            QuestionMode::Required => QuestionModeDto::Required,
            QuestionMode::Optional => QuestionModeDto::Optional,
            QuestionMode::Off => QuestionModeDto::Off,
        },
        security_questions: SecurityQuestionOption::all(),
    }))
}

#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "invitations",
    params(("token" = String, Path)), request_body = AcceptBody,
    responses((status = 201, body = SessionResponse), (status = 422, description = "password_policy or invalid_input"),
        (status = 401, description = "invalid_credentials: the password of the existing ID is wrong; or second_factor_required: finish logging in first, then accept with that session"),
        (status = 409, description = "id_exists, no_id, wrong_identity or already_member"),
        (status = 410, description = "invitation_expired, invitation_revoked, invitation_used or invitation_replaced"),
        (status = 429, description = "rate_limited, id_locked or too_many_attempts (Retry-After)")))]
pub async fn accept(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    MaybeAuth(current): MaybeAuth,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> ApiResult<Response> {
    let li = if body.first_name.is_some() {
        state
            .services
            .accept_new(
                &ctx,
                &token,
                NewIdentityForm {
                    first_name: body.first_name.unwrap_or_default(),
                    last_name: body.last_name,
                    password: body.password.unwrap_or_default(),
                    security_question: body.security_question,
                    security_answer: body.security_answer,
                    accept_terms: body.accept_terms.unwrap_or(false),
                },
            )
            .await?
    } else {
        state
            .services
            .accept_existing(&ctx, &token, current.as_ref(), body.password)
            .await?
    };
    Ok(logged_in_response(&state, li, StatusCode::CREATED))
}
