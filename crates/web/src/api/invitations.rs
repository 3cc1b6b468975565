//! Invitations journey (admin side): invite a user or partner, list, resend, revoke.

use super::app_id;
use crate::AppState;
use crate::dto::{InvitationDto, InvitationsPage, InviteBody};
use crate::extract::{ApiJson, AppAuth, OptionalApiJson, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::InvitationQuery;
use roster_core::service::InviteRequest;
use roster_core::types::InvitationId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/apps/{app_id}/invitations",
            post(invite).get(list_invitations),
        )
        .route(
            "/apps/{app_id}/invitations/{invitation_id}/resend",
            post(resend),
        )
        .route("/apps/{app_id}/invitations/{invitation_id}", delete(revoke))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/invitations", tag = "invitations",
    params(("app_id" = String, Path)), request_body = InviteBody,
    responses((status = 201, body = InvitationDto), (status = 409, description = "seat_unavailable, already_member or already_invited")))]
pub async fn invite(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let issued = state
        .services
        .invite(
            &ctx,
            &p,
            &app,
            InviteRequest {
                email: body.email,
                first_name: body.first_name,
                last_name: body.last_name,
                admin: body.admin,
                kind: body.kind.into(),
            },
        )
        .await?;
    let url = state.accept_url(&issued.token);
    Ok((
        StatusCode::CREATED,
        Json(InvitationDto::new(issued.invitation, ctx.now, Some(url))),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
pub struct PageParams {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/invitations", tag = "invitations",
    params(("app_id" = String, Path), PageParams), responses((status = 200, body = InvitationsPage)))]
pub async fn list_invitations(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    Query(params): Query<PageParams>,
) -> ApiResult<Json<InvitationsPage>> {
    let app = app_id(&app)?;
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let before = match params.cursor.as_deref() {
        Some(c) => Some(c.parse::<InvitationId>().map_err(|_| {
            Error::invalid(
                "cursor",
                "The cursor is not valid; start from the first page.",
            )
        })?),
        None => None,
    };
    let items = state
        .services
        .list_invitations(&p, &app, &InvitationQuery { before, limit })
        .await?;
    let ids: Vec<_> = items.iter().map(|i| i.id).collect();
    let deliveries = state.services.invitation_deliveries(&p, &app, &ids).await?;
    let next_cursor = if items.len() as u32 == limit {
        items.last().map(|i| i.id.to_string())
    } else {
        None
    };
    Ok(Json(InvitationsPage {
        items: items
            .into_iter()
            .map(|i| {
                let d = deliveries
                    .iter()
                    .find(|(id, _)| *id == i.id)
                    .map(|(_, d)| d.into());
                let mut dto = InvitationDto::new(i, ctx.now, None);
                dto.delivery = d;
                dto
            })
            .collect(),
        next_cursor,
    }))
}

/// Optional body of a resend: a corrected address.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "rohit@example.com"}))]
pub struct ResendBody {
    /// Send to this address instead (e.g. after "undeliverable"); the old link dies.
    #[schema(example = "rohit@example.com")]
    pub email: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/invitations/{invitation_id}/resend", tag = "invitations",
    params(("app_id" = String, Path), ("invitation_id" = uuid::Uuid, Path)),
    request_body(content = Option<ResendBody>, description = "optional: a corrected email address"),
    responses((status = 201, body = InvitationDto), (status = 404, description = "not_found"),
        (status = 409, description = "already_member, already_invited or seat_unavailable (for a corrected address)"),
        (status = 410, description = "invitation_used, invitation_revoked or invitation_replaced: the member is no longer invited, or a newer invitation replaced this one"),
        (status = 422, description = "invalid_input: the address is not valid")))]
pub async fn resend(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path((app, inv)): Path<(String, String)>,
    OptionalApiJson(body): OptionalApiJson<ResendBody>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let id: InvitationId = inv.parse()?;
    let corrected = body.and_then(|b| b.email);
    let issued = match corrected {
        Some(email) => state.services.resend_to(&ctx, &p, &app, id, &email).await?,
        None => state.services.resend(&ctx, &p, &app, id).await?,
    };
    let url = state.accept_url(&issued.token);
    Ok((
        StatusCode::CREATED,
        Json(InvitationDto::new(issued.invitation, ctx.now, Some(url))),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/invitations/{invitation_id}", tag = "invitations",
    params(("app_id" = String, Path), ("invitation_id" = uuid::Uuid, Path)),
    responses((status = 204, description = "revoked"),
        (status = 410, description = "invitation_used, invitation_revoked or invitation_replaced: no longer pending")))]
pub async fn revoke(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path((app, inv)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = app_id(&app)?;
    let id: InvitationId = inv.parse()?;
    state.services.revoke(&ctx, &p, &app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
