//! Members journey: list, read and change an app's members (admin flag, active/inactive).

use super::app_id;
use crate::AppState;
use crate::dto::{MemberDto, MembersPage, PatchMember};
use crate::extract::{ApiJson, Auth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::{MemberFilter, MemberQuery};
use roster_core::service::StatusChange;
use roster_core::types::MemberId;
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{app_id}/members", get(list_members))
        .route(
            "/apps/{app_id}/members/{member_id}",
            get(get_member).patch(patch_member),
        )
}

fn hex_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Result<String, Error> {
    let bad = || {
        Error::invalid(
            "cursor",
            "The cursor is not valid; start from the first page.",
        )
    };
    if !s.len().is_multiple_of(2) || s.len() > 1024 {
        return Err(bad());
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[derive(Deserialize, IntoParams)]
pub struct MembersParams {
    /// "active_invited" (default), "inactive" or "partners".
    pub filter: Option<String>,
    /// Matches name or email.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1..=200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/members", tag = "members", params(("app_id" = String, Path), MembersParams),
    responses((status = 200, body = MembersPage), (status = 404, description = "not_found")))]
pub async fn list_members(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(app): Path<String>,
    Query(params): Query<MembersParams>,
) -> ApiResult<Json<MembersPage>> {
    let app = app_id(&app)?;
    let filter = match params.filter.as_deref() {
        None | Some("active_invited") => MemberFilter::ActiveInvited,
        Some("inactive") => MemberFilter::Inactive,
        Some("partners") => MemberFilter::Partners,
        Some(_) => {
            return Err(
                Error::invalid("filter", "Use active_invited, inactive or partners.").into(),
            );
        }
    };
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let q = MemberQuery {
        filter,
        search: params.q,
        after: params.cursor.as_deref().map(hex_decode).transpose()?,
        limit,
    };
    let items = state.services.list_members(&p, &app, &q).await?;
    let next_cursor = if items.len() as u32 == limit {
        items.last().map(|m| hex_encode(m.email.normalized()))
    } else {
        None
    };
    Ok(Json(MembersPage {
        items: items.into_iter().map(MemberDto::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/members/{member_id}", tag = "members",
    params(("app_id" = String, Path), ("member_id" = String, Path)),
    responses((status = 200, body = MemberDto), (status = 404, description = "not_found")))]
pub async fn get_member(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path((app, member)): Path<(String, String)>,
) -> ApiResult<Json<MemberDto>> {
    let app = app_id(&app)?;
    let id: MemberId = member.parse()?;
    Ok(Json(state.services.get_member(&p, &app, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/apps/{app_id}/members/{member_id}", tag = "members",
    params(("app_id" = String, Path), ("member_id" = String, Path)), request_body = PatchMember,
    responses((status = 200, body = MemberDto), (status = 409, description = "last_admin, seat_unavailable or invalid_transition")))]
pub async fn patch_member(
    State(state): State<AppState>,
    Auth(p): Auth,
    RequestCtx(ctx): RequestCtx,
    Path((app, member)): Path<(String, String)>,
    ApiJson(body): ApiJson<PatchMember>,
) -> ApiResult<Json<MemberDto>> {
    let app = app_id(&app)?;
    let id: MemberId = member.parse()?;
    let change = match body.status.as_deref() {
        None => None,
        Some("active") => Some(StatusChange::Reactivate),
        Some("inactive") => Some(StatusChange::Deactivate),
        Some(_) => return Err(Error::invalid("status", "Use active or inactive.").into()),
    };
    let records_to = match body.records_to.as_deref() {
        None => None,
        Some(r) => Some(r.parse::<MemberId>().map_err(|_| {
            Error::invalid(
                "records_to",
                "Choose an active member to receive the records.",
            )
        })?),
    };
    if body.admin.is_none() && change.is_none() {
        return Err(Error::invalid("admin", "Send admin and/or status.").into());
    }
    let mut m = state.services.get_member(&p, &app, id).await?;
    // Demotion goes before deactivation would not matter; apply status first so a deactivated
    // admin keeps the last-admin protection.
    if let Some(c) = change {
        m = state
            .services
            .set_status(&ctx, &p, &app, id, c, records_to)
            .await?;
    }
    if let Some(a) = body.admin {
        m = state.services.set_admin(&ctx, &p, &app, id, a).await?;
    }
    Ok(Json(m.into()))
}
