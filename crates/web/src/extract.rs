//! Request extractors whose failures are problem documents, never plain-text 4xx or 500s.

use crate::AppState;
use crate::problem::{ApiError, Problem};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use roster_core::model::ApiScope;
use roster_core::service::KEY_PREFIX;
use roster_core::{Ctx, Error, Principal};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

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

/// An optional JSON body: none at all (or only white space) is `None`; anything else is read as
/// [`ApiJson`] reads it (400 malformed, 415 not JSON, 422 wrong shape, 413 too large).
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rej| {
                let (code, status) = if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ("body_too_large", StatusCode::PAYLOAD_TOO_LARGE)
                } else {
                    ("bad_request", StatusCode::BAD_REQUEST)
                };
                ApiError(Problem::new(status, code, rej.body_text()))
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalApiJson(None));
        }
        if !json_type {
            return Err(ApiError(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Expected request with `Content-Type: application/json`",
            )));
        }
        serde_json::from_slice::<T>(&bytes)
            .map(|v| OptionalApiJson(Some(v)))
            .map_err(|e| {
                let (code, status) = if e.is_data() {
                    ("invalid_input", StatusCode::UNPROCESSABLE_ENTITY)
                } else {
                    ("malformed_json", StatusCode::BAD_REQUEST)
                };
                ApiError(Problem::new(
                    status,
                    code,
                    format!("Failed to parse the request body as JSON: {e}"),
                ))
            })
    }
}

/// The request's time and client address.
pub struct RequestCtx(pub Ctx);

impl FromRequestParts<AppState> for RequestCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(RequestCtx(request_ctx(parts, state)))
    }
}

/// The request's time, client address and User-Agent.
pub fn request_ctx(parts: &Parts, state: &AppState) -> Ctx {
    let addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_addr(c.0.ip(), &parts.headers, &state.trusted_proxies).to_string());
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect());
    Ctx {
        now: state.now(),
        client_addr: addr,
        user_agent,
    }
}

/// The client's address: the socket's peer, unless that peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left
/// were written by the client and prove nothing).
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut addr = peer;
    for v in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(v) = v.to_str() else { return addr };
        for part in v.rsplit(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) if is_trusted(&ip) => addr = ip,
                Ok(ip) => return ip,
                Err(_) => return addr,
            }
        }
    }
    addr
}

/// The session token of the request: `Authorization: Bearer …` or the session cookie (under
/// its name for this scheme, see [`crate::cookies`]). An API key is not a session token.
pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    if let Some(t) = bearer(headers)
        && !t.starts_with(KEY_PREFIX)
        && access_token(headers).is_none()
    {
        return Some(t.to_string());
    }
    crate::cookies::read(headers, crate::cookies::SESSION, secure)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// An OpenID Connect access token sent as `Authorization: Bearer …` (a JWS: it has dots; a
/// session token never does).
pub fn access_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).filter(|t| t.contains('.'))
}

/// The API key of the request: `X-Roster-Api-Key`, or `Authorization: Bearer rk_live_…`.
pub fn api_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-roster-api-key") {
        return Some(v.to_str().unwrap_or("").trim());
    }
    bearer(headers).filter(|t| t.starts_with(KEY_PREFIX))
}

/// A request to an app's routes, authenticated by a session (as [`Auth`]), by an API key of
/// that app, or by an OpenID Connect access token for that app. A key needs the `read` scope for GET and HEAD and `write` for anything else; the
/// services check the rest (the key's app, `admin` for keys and admins).
pub struct AppAuth(pub Principal);

impl FromRequestParts<AppState> for AppAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ctx = request_ctx(parts, state);
        let p = if let Some(raw) = api_key(&parts.headers) {
            state.services.authenticate_key(&ctx, raw).await?
        } else if let Some(t) = access_token(&parts.headers) {
            state.services.authenticate_access_token(&ctx, t).await?
        } else {
            let Auth(p) = Auth::from_request_parts(parts, state).await?;
            return Ok(AppAuth(p));
        };
        if let Some(granted) = p.key.as_ref().and_then(|k| k.oidc_scopes.as_ref()) {
            let route = parts
                .extensions
                .get::<axum::extract::MatchedPath>()
                .map(|m| m.as_str())
                .unwrap_or("");
            match oidc_scope_for(&parts.method, route) {
                Some(s) if granted.iter().any(|g| g == s) => {}
                Some(s) => return Err(Error::InsufficientScope(s).into()),
                None => return Err(Error::InsufficientScope("session").into()),
            }
        }
        let needed = if matches!(parts.method, Method::GET | Method::HEAD) {
            ApiScope::Read
        } else {
            ApiScope::Write
        };
        if !p.allows(needed) {
            return Err(Error::InsufficientScope(needed.as_str()).into());
        }
        Ok(AppAuth(p))
    }
}

/// The one route family an OpenID Connect access token may reach, and the scope it needs:
/// reading members and invitations (`members:read`), changing a member (`members:write`),
/// inviting, resending, copying a link and revoking (`invitations:write`). Everything else
/// (settings, seats, keys, webhooks, the audit log, two-step rules) needs a session or an API
/// key.
fn oidc_scope_for(method: &Method, route: &str) -> Option<&'static str> {
    let r = route.strip_prefix("/api/v1")?;
    match (method.as_str(), r) {
        (
            "GET" | "HEAD",
            "/apps/{app_id}/members"
            | "/apps/{app_id}/members/{member_id}"
            | "/apps/{app_id}/invitations",
        ) => Some("members:read"),
        ("PATCH", "/apps/{app_id}/members/{member_id}") => Some("members:write"),
        (
            "POST",
            "/apps/{app_id}/invitations"
            | "/apps/{app_id}/invitations/bulk"
            | "/apps/{app_id}/invitations/{invitation_id}/resend"
            | "/apps/{app_id}/invitations/{invitation_id}/link",
        )
        | ("DELETE", "/apps/{app_id}/invitations/{invitation_id}") => Some("invitations:write"),
        _ => None,
    }
}

fn key_not_here() -> ApiError {
    ApiError(Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "API keys work on an app's routes (/api/v1/apps/{app_id}/...) only; this needs a \
         session (POST /api/v1/session).",
    ))
}

/// An authenticated request (401 problem otherwise) of an ID that agreed to the current terms
/// (403 `terms_acceptance_required` otherwise).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthAny(p) = AuthAny::from_request_parts(parts, state).await?;
        if let Some(version) = p.terms_pending {
            return Err(Error::TermsAcceptanceRequired { version }.into());
        }
        Ok(Auth(p))
    }
}

/// An authenticated request, terms agreed to or not (who am I, agree to the terms).
pub struct AuthAny(pub Principal);

impl FromRequestParts<AppState> for AuthAny {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if api_key(&parts.headers).is_some() || access_token(&parts.headers).is_some() {
            return Err(key_not_here());
        }
        let token =
            session_token(&parts.headers, state.secure_cookies).ok_or(Error::Unauthenticated)?;
        let p = state
            .services
            .authenticate(&Ctx::at(state.now()), &token)
            .await?;
        Ok(AuthAny(p))
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

/// The request's media type without parameters, lower case (`""` when absent or unreadable).
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for x in v {
            h.append("x-forwarded-for", x.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let h = xff(&["1.1.1.1, 203.0.113.9"]);
        // a stranger cannot choose their address by sending the header
        assert_eq!(
            client_addr("198.51.100.7".parse().unwrap(), &h, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // from the proxy: the right-most entry that is not a trusted proxy
        assert_eq!(
            client_addr(proxy, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let h = xff(&["203.0.113.9, 10.0.0.7"]);
        assert_eq!(
            client_addr(proxy, &h, &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // no header, or garbage: the proxy itself
        assert_eq!(client_addr(proxy, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(client_addr(proxy, &xff(&["nonsense"]), &trusted), proxy);
        // nothing trusted: never the header
        assert_eq!(client_addr(proxy, &xff(&["203.0.113.9"]), &[]), proxy);
    }
}
