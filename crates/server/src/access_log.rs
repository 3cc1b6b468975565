//! One log line per request: method, route, status, duration and request id (also returned to
//! the client as `x-request-id`, so a person reporting a problem can quote it).

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

const HEADER: &str = "x-request-id";

/// A client's request id is kept when it is short and printable; otherwise a new one is made.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

pub async fn access_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    // The route pattern (`/app/{app_id}/admin/users`), never the concrete path: paths carry
    // invitation and setup tokens, which must not reach a log.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "roster::http",
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        ms = format_args!("{ms:.1}"),
        request_id = %id,
        "request"
    );
    res
}
