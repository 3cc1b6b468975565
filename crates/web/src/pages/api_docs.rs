//! The API reference at `/api/docs`: the vendored Swagger UI (`static/apidocs/`, see its
//! README for origin and licence) showing `/api/v1/openapi.json`. Everything is compiled into the
//! binary, so the page works offline. Its page and assets are served here, with the page's own
//! Content-Security-Policy ([`API_DOCS_CSP`]); every other page keeps
//! [`crate::headers::PAGE_CSP`].

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The policy of `/api/docs`: the site's policy, and Swagger UI's inline `style` attributes
/// (`'unsafe-inline'` in `style-src` only; scripts stay `'self'`, no inline script anywhere).
pub const API_DOCS_CSP: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'none'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/docs", get(page))
        .route("/static/apidocs/swagger-ui.css", get(css))
        .route("/static/apidocs/swagger-ui-bundle.js", get(bundle))
        .route("/static/apidocs/roster-apidocs.js", get(init))
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, API_DOCS_CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        include_str!("../../static/apidocs/index.html"),
    )
        .into_response()
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_bytes!("../../static/apidocs/swagger-ui.css"),
    )
}

async fn bundle() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/apidocs/swagger-ui-bundle.js"),
    )
}

async fn init() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/apidocs/roster-apidocs.js"),
    )
}
