//! Passkeys journey: register one, list and remove them, sign in with one (no password), and
//! the options for a passkey second step. The browser side is `navigator.credentials` in
//! `/static/roster.js`; options and answers travel as WebAuthn JSON.

use super::logged_in_response;
use crate::AppState;
use crate::extract::{ApiJson, Auth, AuthAny, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine;
use roster_core::Error;
use roster_core::service::CeremonyStart;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/passkeys", get(list))
        .route("/me/passkeys/{id}", delete(remove))
        .route("/me/passkeys/register/start", post(register_start))
        .route("/me/passkeys/register/finish", post(register_finish))
        .route("/session/passkey/start", post(sign_in_start))
        .route("/session/passkey/finish", post(sign_in_finish))
        .route(
            "/session/second-factor/passkey/start",
            post(second_step_start),
        )
}

#[derive(Serialize, ToSchema)]
pub struct CeremonyDto {
    /// Pass back to the matching `…/finish` (or, for a second step, nothing: the login
    /// challenge names it).
    pub ceremony: String,
    /// `PublicKeyCredentialCreationOptions` / `…RequestOptions` as WebAuthn JSON
    /// (`{"publicKey": …}`, binary fields base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

impl From<CeremonyStart> for CeremonyDto {
    fn from(c: CeremonyStart) -> Self {
        CeremonyDto {
            ceremony: c.ceremony,
            options: c.options,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ceremony": "c1Vb2nM3kL4jH5gF6dS7aP8o", "name": "Laptop", "credential": {
    "id": "AQIDBA", "rawId": "AQIDBA", "type": "public-key",
    "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0", "attestationObject": "o2NmbXRkbm9uZQ"}}}))]
pub struct RegisterFinishBody {
    pub ceremony: String,
    /// A name to tell passkeys apart ("Laptop").
    #[serde(default)]
    pub name: String,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ceremony": "c1Vb2nM3kL4jH5gF6dS7aP8o", "app_id": "ab123", "credential": {
    "id": "AQIDBA", "rawId": "AQIDBA", "type": "public-key",
    "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0", "authenticatorData": "SZYN5YgO",
        "signature": "MEUCIQ", "userHandle": null}}}))]
pub struct SignInFinishBody {
    pub ceremony: String,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// Sign straight into this app.
    pub app_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"challenge": "Hq7sP2vL9xK4mN0bC3dF6gJ8"}))]
pub struct ChallengeOnly {
    pub challenge: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

fn no_store<T: IntoResponse>(v: T) -> Response {
    let mut res = v.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "two-step", responses((status = 200, body = Vec<PasskeyDto>)))]
pub async fn list(State(state): State<AppState>, AuthAny(p): AuthAny) -> ApiResult<Response> {
    let keys = state.services.my_passkeys(&p).await?;
    Ok(no_store(Json(
        keys.into_iter()
            .map(|k| PasskeyDto {
                id: b64(&k.cred_id),
                name: k.name,
                created_at: crate::dto::ts(k.created_at),
                last_used_at: k.last_used_at.map(crate::dto::ts),
            })
            .collect::<Vec<_>>(),
    )))
}

#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "two-step", params(("id" = String, Path)),
    responses((status = 204, description = "removed"), (status = 404, description = "not a passkey of this ID"),
        (status = 403, description = "reauthentication_required: log in again (the last login is more than 10 minutes old)"),
        (status = 422, description = "invalid_input: the last second step of an ID whose app requires one")))]
pub async fn remove(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim())
        .map_err(|_| Error::NotFound)?;
    state.services.delete_passkey(&ctx, &p, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/passkeys/register/start", tag = "two-step",
    responses((status = 200, body = CeremonyDto),
        (status = 403, description = "reauthentication_required: log in again (the last login is more than 10 minutes old)"),
        (status = 422, description = "invalid_input: passkeys are not available on this server (its base_url is not a host name)")))]
pub async fn register_start(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AuthAny(p): AuthAny,
) -> ApiResult<Response> {
    let c = state.services.passkey_register_start(&ctx, &p).await?;
    Ok(no_store(Json(CeremonyDto::from(c))))
}

#[utoipa::path(post, path = "/api/v1/me/passkeys/register/finish", tag = "two-step", request_body = RegisterFinishBody,
    responses((status = 200, body = super::two_step::EnrolledDto),
        (status = 401, description = "challenge_invalid: the ceremony expired, was used, or is another ID's"),
        (status = 422, description = "invalid_input: the answer did not verify")))]
pub async fn register_finish(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    AuthAny(p): AuthAny,
    ApiJson(body): ApiJson<RegisterFinishBody>,
) -> ApiResult<Response> {
    let e = state
        .services
        .passkey_register_finish(&ctx, &p, &body.ceremony, &body.name, &body.credential)
        .await?;
    Ok(super::two_step::enrolled(&state, e))
}

#[utoipa::path(post, path = "/api/v1/session/passkey/start", tag = "session",
    responses((status = 200, body = CeremonyDto),
        (status = 422, description = "invalid_input: passkeys are not available on this server"),
        (status = 429, description = "rate_limited (Retry-After)")))]
pub async fn sign_in_start(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
) -> ApiResult<Response> {
    let c = state.services.passkey_sign_in_start(&ctx).await?;
    Ok(no_store(Json(CeremonyDto::from(c))))
}

#[utoipa::path(post, path = "/api/v1/session/passkey/finish", tag = "session", request_body = SignInFinishBody,
    responses((status = 200, body = crate::dto::SessionResponse),
        (status = 401, description = "challenge_invalid"), (status = 422, description = "invalid_input: the answer did not verify, or `app_id` is not an App ID"),
        (status = 429, description = "id_locked, rate_limited (Retry-After)")))]
pub async fn sign_in_finish(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<SignInFinishBody>,
) -> ApiResult<Response> {
    let app = body
        .app_id
        .as_deref()
        .map(super::app_id_field)
        .transpose()?;
    let li = state
        .services
        .passkey_sign_in_finish(&ctx, &body.ceremony, &body.credential, app.as_ref())
        .await?;
    Ok(logged_in_response(&state, li, StatusCode::OK))
}

#[utoipa::path(post, path = "/api/v1/session/second-factor/passkey/start", tag = "session", request_body = ChallengeOnly,
    responses((status = 200, body = CeremonyDto, description = "then POST /api/v1/session/second-factor with method passkey and the credential JSON as code"),
        (status = 401, description = "challenge_invalid: expired or used; log in again"),
        (status = 422, description = "invalid_input: this ID has no passkey, or passkeys are not available on this server"),
        (status = 429, description = "rate_limited (Retry-After)")))]
pub async fn second_step_start(
    State(state): State<AppState>,
    RequestCtx(ctx): RequestCtx,
    ApiJson(body): ApiJson<ChallengeOnly>,
) -> ApiResult<Response> {
    let c = state
        .services
        .passkey_second_step_start(&ctx, &body.challenge)
        .await?;
    Ok(no_store(Json(CeremonyDto::from(c))))
}
