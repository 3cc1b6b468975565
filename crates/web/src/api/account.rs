//! Account journey: what a person does with their own ID's memberships.

use super::app_id;
use crate::AppState;
use crate::dto::{SessionDto, SessionsEnded, SessionsPage};
use crate::extract::{Auth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use roster_core::Error;
use roster_core::types::SessionId;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/apps/{app_id}", delete(leave_app))
        .route("/me/sessions", get(sessions).delete(end_other_sessions))
        .route("/me/sessions/{id}", delete(end_session))
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "session",
    responses((status = 200, body = SessionsPage), (status = 401, description = "unauthenticated")))]
pub async fn sessions(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
) -> ApiResult<Json<SessionsPage>> {
    let items = state.services.my_sessions(&ctx, &p).await?;
    Ok(Json(SessionsPage {
        items: items.into_iter().map(SessionDto::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "session",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204, description = "ended (ending the current session logs out)"),
        (status = 404, description = "not_found: not a session of this ID")))]
pub async fn end_session(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let id: SessionId = raw.parse().map_err(|_| Error::NotFound)?;
    state.services.end_session(&ctx, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "session",
    responses((status = 200, body = SessionsEnded, description = "every other session of this ID ended")))]
pub async fn end_other_sessions(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
) -> ApiResult<Json<SessionsEnded>> {
    let ended = state.services.end_other_sessions(&ctx, &p).await?;
    Ok(Json(SessionsEnded { ended }))
}

#[utoipa::path(delete, path = "/api/v1/me/apps/{app_id}", tag = "session",
    params(("app_id" = String, Path)),
    responses((status = 204, description = "left: the membership is Inactive, its seat freed, sessions bound to the app ended, admins told"),
        (status = 404, description = "not_found: not an Active member of that app"),
        (status = 409, description = "last_admin: the last admin cannot leave")))]
pub async fn leave_app(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    state.services.leave_app(&ctx, &p, &app_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
