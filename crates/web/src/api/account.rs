//! Account journey: what a person does with their own ID's memberships.

use super::app_id;
use crate::AppState;
use crate::extract::{Auth, RequestCtx};
use crate::problem::ApiResult;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::delete;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/me/apps/{app_id}", delete(leave_app))
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
