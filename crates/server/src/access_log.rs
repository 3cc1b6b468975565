//! One log line per request (target `roster::http`): method, route, status, duration, request
//! id, and the app and actor when known. The request id is also returned to the client as
//! `x-request-id`, so a person reporting a problem can quote it, and every line logged while
//! the request is handled carries it (the `request` span).
//!
//! Nothing secret reaches the line: the route is the pattern (`/invite/{token}`, never the
//! token), the app id is taken from the path only where the pattern says `{app_id}` and only
//! when it is an App ID, and the actor is an ID's id (or `key:<id>` for a service key).

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use roster_core::ops::RequestNotes;
use roster_core::types::AppId;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

const HEADER: &str = "x-request-id";

/// A client's request id is kept when it comes from a trusted proxy (which set or passed it on)
/// and is short and printable; otherwise a new one is made.
fn request_id(req: &Request, trusted: bool) -> String {
    req.headers()
        .get(HEADER)
        .filter(|_| trusted)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The App ID in `path` where the route pattern has `{app_id}`.
fn app_id_of(route: &str, path: &str) -> Option<String> {
    route
        .split('/')
        .zip(path.split('/'))
        .find(|(pattern, _)| *pattern == "{app_id}")
        .and_then(|(_, raw)| AppId::parse(raw).ok())
        .map(|a| a.to_string())
}

/// The access log, trusting no proxy's `X-Request-Id` (tests, and servers without
/// `trusted_proxies`).
pub async fn access_log(req: Request, next: Next) -> Response {
    log_request(&[], req, next).await
}

/// The access log, keeping the `X-Request-Id` of requests whose peer is one of these proxies
/// (`trusted_proxies`).
pub async fn access_log_trusting(
    State(trusted): State<Arc<Vec<ipnet::IpNet>>>,
    req: Request,
    next: Next,
) -> Response {
    log_request(&trusted, req, next).await
}

async fn log_request(trusted: &[ipnet::IpNet], req: Request, next: Next) -> Response {
    let started = Instant::now();
    let from_proxy = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| trusted.iter().any(|n| n.contains(&c.0.ip())));
    let id = request_id(&req, from_proxy);
    let method = req.method().clone();
    // The route pattern (`/app/{app_id}/admin/users`), never the concrete path: paths carry
    // invitation and setup tokens, which must not reach a log.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    let app_id = app_id_of(&route, req.uri().path());
    let notes = RequestNotes::default();
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = notes.scope(next.run(req)).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    let actor = notes.actor();
    tracing::info!(
        target: "roster::http",
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        duration_ms = ms,
        request_id = %id,
        app_id = app_id.as_deref(),
        actor_id = actor.as_deref(),
        "request"
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_id_comes_from_the_pattern_position_only() {
        assert_eq!(
            app_id_of(
                "/api/v1/apps/{app_id}/members",
                "/api/v1/apps/ab123/members"
            ),
            Some("ab123".into())
        );
        assert_eq!(app_id_of("/invite/{token}", "/invite/ab123"), None);
        assert_eq!(app_id_of("/app/{app_id}", "/app/not-an-id"), None);
        assert_eq!(app_id_of("(unmatched)", "/app/ab123"), None);
    }
}
