//! The API reference at `/api/docs`: the vendored Swagger UI (`static/apidocs/`, see its
//! README for origin and licence) showing `/api/v1/openapi.json`. Everything is compiled into the
//! binary, so the page works offline. The page runs under the site's own Content-Security-Policy
//! ([`crate::headers::PAGE_CSP`], set by [`crate::headers::security_headers`]): its script is a
//! file (`roster-apidocs.js`), and Swagger UI sets styles through the DOM (allowed), never with
//! inline `<style>` or `style="…"` markup, so nothing needs relaxing.

use crate::AppState;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

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
