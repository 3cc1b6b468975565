//! API keys journey (API): make, list and revoke personal and service keys of an app.

use super::app_id;
use crate::AppState;
use crate::dto::{mirror, ts};
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::{ApiKey, ApiKeyKind, ApiScope};
use roster_core::service::NewApiKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{app_id}/api-keys", post(create_key).get(list_keys))
        .route("/apps/{app_id}/api-keys/{key_id}", delete(revoke_key))
}

mirror! {
    /// Whose rights a key carries: `personal` (its member's, in this app) or `service` (an
    /// admin with no person behind it; admins only).
    KeyKindDto <=> ApiKeyKind { Personal, Service }
}

mirror! {
    /// What a key may do: `read` (GET), `write` (changes), `admin` (manage API keys and
    /// admins), `scim` (SCIM provisioning; service keys only).
    ScopeDto <=> ApiScope { Read, Write, Admin, Scim }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Zapier", "kind": "service", "scopes": ["read", "write"], "expires_at": "2027-06-30T00:00:00Z"}))]
pub struct CreateKeyBody {
    /// 1 to 100 characters, to recognise the key by.
    pub name: String,
    pub kind: KeyKindDto,
    /// Default `["read", "write"]`; `read` is always included.
    pub scopes: Option<Vec<ScopeDto>>,
    /// RFC 3339; none: the key does not expire.
    pub expires_at: Option<String>,
}

/// An API key as listed (never its secret).
#[derive(Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: String,
    pub name: String,
    pub kind: KeyKindDto,
    /// The visible start of the key, e.g. `rk_live_ab123_Xk3f`.
    pub prefix: String,
    pub scopes: Vec<ScopeDto>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub last_used_address: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: KeyStateDto,
}

#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum KeyStateDto {
    Active,
    Expired,
    Revoked,
}

impl ApiKeyDto {
    pub fn new(k: ApiKey, now: OffsetDateTime) -> Self {
        let state = if k.revoked_at.is_some() {
            KeyStateDto::Revoked
        } else if !k.live(now) {
            KeyStateDto::Expired
        } else {
            KeyStateDto::Active
        };
        ApiKeyDto {
            id: k.id.to_string(),
            name: k.name,
            kind: k.kind.into(),
            prefix: k.prefix,
            scopes: k.scopes.into_iter().map(ScopeDto::from).collect(),
            created_at: ts(k.created_at),
            expires_at: k.expires_at.map(ts),
            revoked_at: k.revoked_at.map(ts),
            last_used_at: k.last_used_at.map(ts),
            last_used_address: k.last_used_addr,
            state,
        }
    }
}

/// A new key: the only time its secret is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedKeyDto {
    #[serde(flatten)]
    pub key: ApiKeyDto,
    /// The key itself; send it as `Authorization: Bearer <key>` or `X-Roster-Api-Key`.
    #[schema(example = "rk_live_ab123_3qPq0m2p1u9z8hWcY4Jf0S8cQmVbq3rZq9n1kJX0p6E")]
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeysPage {
    pub items: Vec<ApiKeyDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct KeysParams {
    /// `personal` (the caller's own keys, the default) or `service` (admins).
    pub kind: Option<KeyKindDto>,
    pub cursor: Option<String>,
    /// 1..=200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/api-keys", tag = "api-keys",
    params(("app_id" = String, Path)), request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKeyDto)))]
pub async fn create_key(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|e| {
            OffsetDateTime::parse(e, &Rfc3339)
                .map_err(|_| Error::invalid("expires_at", "Use an RFC 3339 time."))
        })
        .transpose()?;
    let issued = state
        .services
        .create_api_key(
            &ctx,
            &p,
            &app,
            NewApiKey {
                name: body.name,
                kind: body.kind.into(),
                scopes: body
                    .scopes
                    .map(|v| v.into_iter().map(ApiScope::from).collect()),
                expires_at,
            },
        )
        .await?;
    let body = CreatedKeyDto {
        key: ApiKeyDto::new(issued.key, ctx.now),
        secret: issued.secret,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/api-keys", tag = "api-keys",
    params(("app_id" = String, Path), KeysParams), responses((status = 200, body = ApiKeysPage)))]
pub async fn list_keys(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    Query(params): Query<KeysParams>,
) -> ApiResult<Json<ApiKeysPage>> {
    let app = app_id(&app)?;
    let before = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<uuid::Uuid>().map_err(|_| {
                Error::invalid(
                    "cursor",
                    "The cursor is not valid; start from the first page.",
                )
            })
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let kind = params.kind.unwrap_or(KeyKindDto::Personal).into();
    let items = state
        .services
        .list_api_keys(&p, &app, kind, before, limit)
        .await?;
    let next_cursor = (items.len() as u32 == limit)
        .then(|| items.last().map(|k| k.id.to_string()))
        .flatten();
    Ok(Json(ApiKeysPage {
        items: items
            .into_iter()
            .map(|k| ApiKeyDto::new(k, ctx.now))
            .collect(),
        next_cursor,
    }))
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/api-keys/{key_id}", tag = "api-keys",
    params(("app_id" = String, Path), ("key_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ApiKeyDto)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path((app, key)): Path<(String, String)>,
) -> ApiResult<Json<ApiKeyDto>> {
    let app = app_id(&app)?;
    let id: uuid::Uuid = key.parse().map_err(|_| Error::NotFound)?;
    let k = state.services.revoke_api_key(&ctx, &p, &app, id).await?;
    Ok(Json(ApiKeyDto::new(k, ctx.now)))
}
