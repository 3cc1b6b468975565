//! Terms journey: the current terms, and agreeing to them.

use crate::AppState;
use crate::extract::{ApiJson, AuthAny, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/terms", get(current))
        .route("/me/terms", post(accept))
}

#[derive(Serialize, ToSchema)]
pub struct TermsDto {
    pub version: String,
    /// Sanitised HTML; null for the built-in terms.
    pub body_html: Option<String>,
    pub published_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": "2026-11-01"}))]
pub struct AcceptTermsBody {
    pub version: String,
}

#[utoipa::path(get, path = "/api/v1/terms", tag = "terms", responses((status = 200, body = TermsDto)))]
pub async fn current(State(state): State<AppState>) -> ApiResult<Json<TermsDto>> {
    let t = state.services.current_terms().await?;
    Ok(Json(TermsDto {
        version: t.version,
        body_html: t.body_html,
        published_at: t.published_at.map(crate::dto::ts),
    }))
}

#[utoipa::path(post, path = "/api/v1/me/terms", tag = "terms", request_body = AcceptTermsBody,
    responses((status = 204, description = "agreed"), (status = 422, description = "invalid_input: not the current version")))]
pub async fn accept(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AuthAny(p): AuthAny,
    ApiJson(body): ApiJson<AcceptTermsBody>,
) -> ApiResult<StatusCode> {
    state.services.accept_terms(&ctx, &p, &body.version).await?;
    Ok(StatusCode::NO_CONTENT)
}
