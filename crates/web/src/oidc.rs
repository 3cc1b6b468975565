//! The OpenID Connect provider's machine endpoints: discovery, JWKS, token, userinfo,
//! introspection (RFC 7662) and revocation (RFC 7009). Errors use the OAuth format
//! (`{"error", "error_description"}`, RFC 6749 §5.2), not problem+json. The browser steps
//! (authorize, the app picker, consent, logout) are in `pages::oidc`.

use crate::AppState;
use crate::extract::request_ctx;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use roster_core::service::{ClientAuth, OauthError, SCOPES_SUPPORTED, TokenRequest};
use roster_core::{Ctx, Error};
use serde::Deserialize;
use serde_json::{Value, json};

/// The machine endpoints (not the browser steps of `pages::oidc`).
pub const MACHINE_PATHS: [&str; 6] = [
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/token",
    "/oauth2/userinfo",
    "/oauth2/introspect",
    "/oauth2/revoke",
];

pub(crate) fn routes() -> Router<AppState> {
    // browser clients (plugins in a page) call these from their own origin; no cookie is ever
    // read here, so any origin may
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    Router::new()
        .route(MACHINE_PATHS[0], get(discovery))
        .route(MACHINE_PATHS[1], get(jwks))
        .route(MACHINE_PATHS[2], post(token))
        .route(MACHINE_PATHS[3], get(userinfo).post(userinfo))
        .route(MACHINE_PATHS[4], post(introspect))
        .route(MACHINE_PATHS[5], post(revoke))
        .layer(cors)
}

/// An OAuth error response; 401s name the scheme, 429s say when to retry.
pub struct OauthReply(pub OauthError);

impl IntoResponse for OauthReply {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut res = (
            status,
            Json(json!({"error": e.error, "error_description": e.description})),
        )
            .into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"roster\""),
            );
        }
        if let Some(s) = e.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        res
    }
}

fn no_store(v: Value) -> Response {
    let mut res = Json(v).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn discovery(State(state): State<AppState>) -> Response {
    let iss = state.services.issuer();
    let mut res = Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "sid",
            "email", "email_verified", "name", "given_name", "family_name",
            "app_id", "app_name", "member_id", "role", "kind"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "ui_locales_supported": ["en"],
        "service_documentation": format!("{iss}/api/docs"),
    }))
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

async fn jwks(State(state): State<AppState>) -> Result<Response, OauthReply> {
    let keys = state
        .services
        .jwks(state.now())
        .await
        .map_err(|e| OauthReply(e.into()))?;
    let mut res = Json(keys).into_response();
    // short: a rotated key is seen within a minute
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(res)
}

/// The request context and the client's credentials from `Authorization: Basic` (RFC 6749
/// §2.3.1: form-urlencoded id and secret) when present.
pub struct Client(pub Ctx, pub ClientAuth);

impl FromRequestParts<AppState> for Client {
    type Rejection = OauthReply;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OauthReply> {
        let ctx = request_ctx(parts, state);
        let mut auth = ClientAuth::default();
        if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
            let bad = || {
                OauthReply(OauthError {
                    status: 401,
                    error: "invalid_client",
                    description: "The Authorization header is not valid Basic credentials.".into(),
                    retry_after: None,
                })
            };
            let raw = v.to_str().map_err(|_| bad())?;
            let b64 = raw.strip_prefix("Basic ").ok_or_else(bad)?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| bad())?;
            let s = String::from_utf8(decoded).map_err(|_| bad())?;
            let (id, secret) = s.split_once(':').ok_or_else(bad)?;
            let dec = |x: &str| {
                url::form_urlencoded::parse(format!("v={x}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            auth.client_id = dec(id);
            auth.secret = dec(secret);
        }
        Ok(Client(ctx, auth))
    }
}

/// Form credentials (client_secret_post, or a public client's id) when no Basic header came.
fn merge(
    mut auth: ClientAuth,
    id: Option<String>,
    secret: Option<String>,
) -> Result<ClientAuth, OauthReply> {
    if auth.client_id.is_some() {
        if secret.is_some()
            || id
                .as_ref()
                .is_some_and(|i| Some(i) != auth.client_id.as_ref())
        {
            return Err(OauthReply(OauthError {
                status: 400,
                error: "invalid_request",
                description: "Use one client authentication method.".into(),
                retry_after: None,
            }));
        }
        return Ok(auth);
    }
    auth.client_id = id;
    auth.secret = secret;
    Ok(auth)
}

async fn token(
    State(state): State<AppState>,
    Client(ctx, auth): Client,
    Form(req): Form<TokenRequest>,
) -> Result<Response, OauthReply> {
    let auth = merge(auth, req.client_id.clone(), req.client_secret.clone())?;
    let t = state
        .services
        .token(&ctx, auth, req)
        .await
        .map_err(OauthReply)?;
    Ok(no_store(json!(t)))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn introspect(
    State(state): State<AppState>,
    Client(ctx, auth): Client,
    Form(f): Form<TokenForm>,
) -> Result<Response, OauthReply> {
    let auth = merge(auth, f.client_id, f.client_secret)?;
    let v = state
        .services
        .introspect(&ctx, auth, f.token.trim())
        .await
        .map_err(OauthReply)?;
    Ok(no_store(v))
}

async fn revoke(
    State(state): State<AppState>,
    Client(ctx, auth): Client,
    Form(f): Form<TokenForm>,
) -> Result<Response, OauthReply> {
    let auth = merge(auth, f.client_id, f.client_secret)?;
    state
        .services
        .revoke_token(&ctx, auth, f.token.trim())
        .await
        .map_err(OauthReply)?;
    Ok(no_store(json!({})))
}

fn bearer_error(error: &str, description: &str) -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    let v = format!("Bearer error=\"{error}\"");
    if let Ok(v) = HeaderValue::from_str(&v) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = crate::extract::bearer(&headers) else {
        return bearer_error(
            "invalid_request",
            "Send the access token as a Bearer token.",
        );
    };
    match state.services.userinfo(&Ctx::at(state.now()), token).await {
        Ok(v) => no_store(v),
        Err(Error::Unauthenticated) => bearer_error(
            "invalid_token",
            "The access token is not valid or was revoked.",
        ),
        Err(e) => OauthReply(e.into()).into_response(),
    }
}
