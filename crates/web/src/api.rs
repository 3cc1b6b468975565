//! `/api/v1` handlers: parse → call a core service → render. Nothing else.

use crate::AppState;
use crate::dto::*;
use crate::extract::{ApiJson, Auth, MaybeAuth, RequestCtx, SESSION_COOKIE};
use crate::problem::{ApiResult, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_core::Error;
use roster_core::model::{InvitationQuery, MemberFilter, MemberQuery};
use roster_core::service::{InviteRequest, LoggedIn, NewIdentityForm, StatusChange};
use roster_core::types::{AppId, InvitationId, MemberId, MemberKind};
use serde::Deserialize;
use utoipa::IntoParams;

fn app_id(raw: &str) -> Result<AppId, Error> {
    AppId::parse(raw).map_err(|_| Error::NotFound)
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

/// The session cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS.
pub fn session_cookie(state: &AppState, li: &LoggedIn) -> HeaderValue {
    let max_age = (li.expires_at - state.now()).whole_seconds().max(0);
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        li.token
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn logged_in_response(state: &AppState, li: LoggedIn, status: StatusCode) -> Response {
    let cookie = session_cookie(state, &li);
    let body = SessionResponse {
        token: li.token,
        expires_at: li
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        location: li.app_id.as_ref().map(|a| format!("/app/{a}")),
        app_id: li.app_id.map(|a| a.to_string()),
    };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, description = "database unreachable")))]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let store = state.services.store();
    store.read().await.map_err(Error::from)?;
    Ok(Json(Health {
        status: "ok".into(),
        backend: store.backend().into(),
    }))
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse), (status = 401, description = "invalid_credentials")))]
pub async fn login(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let app = match body.app_id.as_deref() {
        Some(a) => Some(app_id(a)?),
        None => None,
    };
    let li = state
        .services
        .login(&ctx, &body.email, &body.password, app.as_ref())
        .await?;
    Ok(logged_in_response(&state, li, StatusCode::OK))
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "logged out")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(token) = crate::extract::session_token(&parts) {
        state.services.logout(&token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&state));
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = MeResponse), (status = 401, description = "unauthenticated")))]
pub async fn me(State(state): State<AppState>, Auth(p): Auth) -> ApiResult<Json<MeResponse>> {
    let me = state.services.me(&p).await?;
    Ok(Json(MeResponse {
        id: me.identity.id.to_string(),
        email: me.identity.email.to_string(),
        first_name: me.identity.first_name,
        last_name: me.identity.last_name,
        apps: me
            .apps
            .into_iter()
            .map(|(a, m)| AppSummary {
                url: format!("/app/{}", a.app_id),
                app_id: a.app_id.to_string(),
                name: a.name,
                admin: m.admin,
                kind: m.kind.as_str().into(),
            })
            .collect(),
    }))
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

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/invitations", tag = "invitations",
    params(("app_id" = String, Path)), request_body = InviteBody,
    responses((status = 201, body = InvitationDto), (status = 409, description = "seat_unavailable, already_member or already_invited")))]
pub async fn invite(
    State(state): State<AppState>,
    Auth(p): Auth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let kind = MemberKind::parse(&body.kind)
        .ok_or_else(|| Error::invalid("kind", "Use user or partner."))?;
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
                kind,
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
    Auth(p): Auth,
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
    let next_cursor = if items.len() as u32 == limit {
        items.last().map(|i| i.id.to_string())
    } else {
        None
    };
    Ok(Json(InvitationsPage {
        items: items
            .into_iter()
            .map(|i| InvitationDto::new(i, ctx.now, None))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/invitations/{invitation_id}/resend", tag = "invitations",
    params(("app_id" = String, Path), ("invitation_id" = String, Path)),
    responses((status = 201, body = InvitationDto)))]
pub async fn resend(
    State(state): State<AppState>,
    Auth(p): Auth,
    RequestCtx(ctx): RequestCtx,
    Path((app, inv)): Path<(String, String)>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let id: InvitationId = inv.parse()?;
    let issued = state.services.resend(&ctx, &p, &app, id).await?;
    let url = state.accept_url(&issued.token);
    Ok((
        StatusCode::CREATED,
        Json(InvitationDto::new(issued.invitation, ctx.now, Some(url))),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/invitations/{invitation_id}", tag = "invitations",
    params(("app_id" = String, Path), ("invitation_id" = String, Path)),
    responses((status = 204, description = "revoked")))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(p): Auth,
    RequestCtx(ctx): RequestCtx,
    Path((app, inv)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = app_id(&app)?;
    let id: InvitationId = inv.parse()?;
    state.services.revoke(&ctx, &p, &app, id).await?;
    Ok(StatusCode::NO_CONTENT)
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
        kind: i.kind.as_str().into(),
        admin: i.admin,
        first_name: i.first_name,
        last_name: i.last_name,
        id_exists: i.id_exists,
        expires_at: i
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    }))
}

#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "invitations",
    params(("token" = String, Path)), request_body = AcceptBody,
    responses((status = 201, body = SessionResponse), (status = 422, description = "password_policy or invalid_input"),
        (status = 409, description = "id_exists, no_id, wrong_identity"), (status = 410, description = "unusable invitation")))]
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

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/seats", tag = "seats",
    params(("app_id" = String, Path)), responses((status = 200, body = SeatsDto)))]
pub async fn seats(
    State(state): State<AppState>,
    Auth(p): Auth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
) -> ApiResult<Json<SeatsDto>> {
    let app = app_id(&app)?;
    Ok(Json(
        state.services.seat_summary(&ctx, &p, &app).await?.into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/seats", tag = "seats",
    params(("app_id" = String, Path)), request_body = BuySeats,
    responses((status = 201, body = SeatsDto)))]
pub async fn buy_seats(
    State(state): State<AppState>,
    Auth(p): Auth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<BuySeats>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let s = state
        .services
        .buy_seats(&ctx, &p, &app, body.quantity)
        .await?;
    Ok((StatusCode::CREATED, Json(SeatsDto::from(s))).into_response())
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/audit", tag = "audit",
    params(("app_id" = String, Path)), responses((status = 200, body = Vec<AuditDto>)))]
pub async fn audit(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(app): Path<String>,
) -> ApiResult<Json<Vec<AuditDto>>> {
    let app = app_id(&app)?;
    let events = state.services.list_audit(&p, &app, 200).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditDto {
                at: e
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                actor: e.actor_label,
                action: e.action,
                target: e.target,
                client_addr: e.client_addr,
                details: e.details,
            })
            .collect(),
    ))
}

pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
}
