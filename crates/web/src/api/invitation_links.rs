//! Invitations journey, continued (API): a fresh link to copy and hand over (no email); the
//! previous link stops working.

use super::app_id;
use crate::AppState;
use crate::dto::InvitationDto;
use crate::extract::{AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use roster_core::types::InvitationId;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/apps/{app_id}/invitations/{invitation_id}/link",
        post(new_link),
    )
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/invitations/{invitation_id}/link", tag = "invitations",
    params(("app_id" = String, Path), ("invitation_id" = uuid::Uuid, Path)),
    responses((status = 201, body = InvitationDto, description = "The invitation with its new accept_url; an expired one is renewed (it takes a seat again)"),
        (status = 404, description = "not_found"),
        (status = 409, description = "seat_unavailable: renewing an expired invitation needs a free seat"),
        (status = 410, description = "invitation_used, invitation_revoked or invitation_replaced: the member is no longer invited, or a newer invitation replaced this one")))]
pub async fn new_link(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let id: InvitationId = id.parse()?;
    let issued = state.services.new_link(&ctx, &p, &app, id).await?;
    let url = state.accept_url(&issued.token);
    Ok((
        StatusCode::CREATED,
        Json(InvitationDto::new(issued.invitation, ctx.now, Some(url))),
    )
        .into_response())
}
