//! Members journey: list, read and change an app's members (admin flag, active/inactive).

use super::app_id;
use crate::AppState;
use crate::dto::{MemberDto, MembersPage, PatchMember, StatusChangeDto};
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::{Member, MemberFilter, MemberQuery};
use roster_core::service::{MemberUpdate, StatusChange};
use roster_core::types::MemberId;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

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

/// Which members a list shows.
#[derive(Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "snake_case")]
pub enum MemberFilterDto {
    /// Active and invited users and partners (the default).
    ActiveInvited,
    Inactive,
    Partners,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersParams {
    /// Default `active_invited`. (Read as text, so that another value is a 422 naming the
    /// field rather than an unreadable query.)
    #[param(value_type = Option<MemberFilterDto>)]
    pub filter: Option<String>,
    /// Search, compared in lower case: 3 characters or more match anywhere in the email or the
    /// name; 1–2 characters match the start of the email, the first name or the last name.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1..=200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/members", tag = "members", params(("app_id" = String, Path), MembersParams),
    responses((status = 200, body = MembersPage), (status = 404, description = "not_found")))]
pub async fn list_members(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
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
    params(("app_id" = String, Path), ("member_id" = uuid::Uuid, Path)),
    responses((status = 200, body = MemberDto, headers(("ETag" = String, description = "The member's version, for If-Match")))))]
pub async fn get_member(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path((app, member)): Path<(String, String)>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let id: MemberId = member.parse()?;
    Ok(with_etag(state.services.get_member(&p, &app, id).await?))
}

/// The member as JSON with its `ETag`.
fn with_etag(m: Member) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", m.etag())).ok();
    let mut res = Json(MemberDto::from(m)).into_response();
    if let Some(tag) = tag {
        res.headers_mut().insert(header::ETAG, tag);
    }
    res
}

/// The version an `If-Match` header names: `*`, or one entity tag (weak tags never match a
/// write, RFC 9110 §13.1.1). A list of several tags is taken as none of them.
fn if_match(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let v = v.to_str().unwrap_or("").trim();
    if v == "*" {
        return Ok(Some("*".into()));
    }
    match v.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(tag) if !tag.contains('"') => Ok(Some(tag.to_string())),
        _ => Err(Error::PreconditionFailed),
    }
}

#[utoipa::path(patch, path = "/api/v1/apps/{app_id}/members/{member_id}", tag = "members",
    params(("app_id" = String, Path), ("member_id" = uuid::Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag of the member as read; the change is made only if it is still that version (else 412)")),
    request_body = PatchMember,
    responses((status = 200, body = MemberDto, headers(("ETag" = String, description = "The member's new version"))),
        (status = 409, description = "last_admin, seat_unavailable or invalid_transition"),
        (status = 412, description = "precondition_failed: the member changed since it was read")))]
pub async fn patch_member(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    headers: HeaderMap,
    Path((app, member)): Path<(String, String)>,
    ApiJson(body): ApiJson<PatchMember>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let id: MemberId = member.parse()?;
    let status = body.status.map(|s| match s {
        StatusChangeDto::Active => StatusChange::Reactivate,
        StatusChangeDto::Inactive => StatusChange::Deactivate,
    });
    let records_to = match body.records_to.as_deref() {
        None => None,
        Some(r) => Some(r.parse::<MemberId>().map_err(|_| {
            Error::invalid(
                "records_to",
                "Choose an active member to receive the records.",
            )
        })?),
    };
    if body.admin.is_none() && status.is_none() {
        return Err(Error::invalid("admin", "Send admin and/or status.").into());
    }
    let expected = if_match(&headers)?;
    let upd = MemberUpdate {
        admin: body.admin,
        status,
        records_to,
    };
    let m = state
        .services
        .update_member(&ctx, &p, &app, id, upd, expected.as_deref())
        .await?;
    Ok(with_etag(m))
}
