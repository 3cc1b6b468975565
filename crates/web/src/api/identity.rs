//! Session journey: log in, log out, who am I (and my apps).

use super::{app_id_field, clear_cookie, logged_in_response};
use crate::AppState;
use crate::dto::{AppSummary, LoginRequest, MeResponse, SessionResponse};
use crate::extract::{ApiJson, AuthAny, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/session", post(login).delete(logout))
        .route("/me", get(me))
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse),
        (status = 401, description = "invalid_credentials; or second_factor_required with `challenge` and `methods`"),
        (status = 422, description = "invalid_input: `app_id` is not an App ID"),
        (status = 429, description = "id_locked, too_many_attempts, rate_limited (Retry-After)")))]
pub async fn login(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let device = crate::cookies::read(&headers, crate::cookies::DEVICE, state.secure_cookies);
    let app = body.app_id.as_deref().map(app_id_field).transpose()?;
    let li = state
        .services
        .login_from(
            &ctx,
            &body.email,
            &body.password,
            app.as_ref(),
            device.as_deref(),
        )
        .await?;
    Ok(logged_in_response(&state, li, StatusCode::OK))
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "logged out")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = crate::extract::session_token(&headers, state.secure_cookies) {
        state.services.logout(&token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&state));
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = MeResponse), (status = 401, description = "unauthenticated")))]
pub async fn me(State(state): State<AppState>, AuthAny(p): AuthAny) -> ApiResult<Json<MeResponse>> {
    let me = state.services.me(&p).await?;
    Ok(Json(MeResponse {
        id: me.identity.id.to_string(),
        email: me.identity.email.to_string(),
        first_name: me.identity.first_name,
        terms_pending: p.terms_pending,
        last_name: me.identity.last_name,
        apps: me
            .apps
            .into_iter()
            .map(|(a, m)| AppSummary {
                url: format!("/app/{}", a.app_id),
                app_id: a.app_id.to_string(),
                name: a.name,
                admin: m.admin,
                kind: m.kind.into(),
            })
            .collect(),
    }))
}
