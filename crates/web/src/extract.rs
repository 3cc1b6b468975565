//! Request extractors whose failures are problem documents, never plain-text 4xx or 500s.

use crate::AppState;
use crate::problem::{ApiError, Problem};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use roster_core::{Ctx, Error, Principal};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// The session cookie's base name (`__Host-roster_session` over https, see [`crate::cookies`]).
pub const SESSION_COOKIE: &str = crate::cookies::SESSION;

/// JSON body; malformed JSON → 400, wrong shape or types → 422, too large → 413, wrong
/// content type → 415, each as problem+json.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let (code, status) = match &rej {
                    JsonRejection::JsonSyntaxError(_) => {
                        ("malformed_json", StatusCode::BAD_REQUEST)
                    }
                    JsonRejection::JsonDataError(_) => {
                        ("invalid_input", StatusCode::UNPROCESSABLE_ENTITY)
                    }
                    JsonRejection::MissingJsonContentType(_) => {
                        ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
                    }
                    _ if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        ("body_too_large", StatusCode::PAYLOAD_TOO_LARGE)
                    }
                    _ => ("bad_request", rej.status()),
                };
                Err(ApiError(Problem::new(status, code, rej.body_text())))
            }
        }
    }
}

/// The request's time and client address.
pub struct RequestCtx(pub Ctx);

impl FromRequestParts<AppState> for RequestCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        Ok(RequestCtx(Ctx {
            now: state.now(),
            client_addr: addr,
            user_agent,
        }))
    }
}

/// The session token of the request: `Authorization: Bearer …` or the session cookie (under
/// its name for this scheme, see [`crate::cookies`]).
pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION)
        && let Ok(s) = v.to_str()
        && let Some(t) = s.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    crate::cookies::read(headers, crate::cookies::SESSION, secure)
}

/// An authenticated request (401 problem otherwise).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token =
            session_token(&parts.headers, state.secure_cookies).ok_or(Error::Unauthenticated)?;
        let p = state
            .services
            .authenticate(&Ctx::at(state.now()), &token)
            .await?;
        Ok(Auth(p))
    }
}

/// Authenticated if a valid session is present, anonymous otherwise.
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = session_token(&parts.headers, state.secure_cookies) else {
            return Ok(MaybeAuth(None));
        };
        match state
            .services
            .authenticate(&Ctx::at(state.now()), &token)
            .await
        {
            Ok(p) => Ok(MaybeAuth(Some(p))),
            Err(Error::Unauthenticated) => Ok(MaybeAuth(None)),
            Err(e) => Err(e.into()),
        }
    }
}
