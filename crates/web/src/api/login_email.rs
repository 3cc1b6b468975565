//! Login email journey: ask to change it (a link goes to the new address), confirm it.

use super::password::{Accepted, AcceptedStatus};
use crate::AppState;
use crate::extract::{ApiJson, Auth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/email", post(request_change))
        .route("/email/confirm", post(confirm))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Blue-Kettle-42", "email": "ada.admin@acme.example"}))]
pub struct EmailChangeBody {
    pub current_password: String,
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Zq3xT0mYH0b8c1L2k9Vw4rS5uN6pQ7aE"}))]
pub struct ConfirmEmailBody {
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct EmailChanged {
    pub email: String,
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "password", request_body = EmailChangeBody,
    responses((status = 202, body = Accepted, description = "a confirmation link went to the new address (whether or not another ID has it)"),
        (status = 422, description = "invalid_input (email, current_password)"),
        (status = 429, description = "id_locked or too_many_attempts: too many wrong passwords for this ID (Retry-After)"),
        (status = 403, description = "terms_acceptance_required")))]
pub async fn request_change(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
    ApiJson(body): ApiJson<EmailChangeBody>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    state
        .services
        .request_email_change(&ctx, &p, &body.current_password, &body.email)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: AcceptedStatus::Accepted,
            detail: "A confirmation link went to the new address; it works once, for 24 hours. \
                     Your login email changes when it is used."
                .into(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/email/confirm", tag = "password", request_body = ConfirmEmailBody,
    responses((status = 200, body = EmailChanged),
        (status = 409, description = "email_in_use: another ID has this address by now"),
        (status = 410, description = "link_invalid")))]
pub async fn confirm(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<ConfirmEmailBody>,
) -> ApiResult<Json<EmailChanged>> {
    let email = state
        .services
        .confirm_email_change(&ctx, &body.token)
        .await?;
    Ok(Json(EmailChanged {
        email: email.to_string(),
    }))
}
