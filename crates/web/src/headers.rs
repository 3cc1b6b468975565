//! The browser security headers of every response, set in one place ([`security_headers`], the
//! outermost layer of [`crate::router`], so framed error pages get them too).
//!
//! - Every HTML response: [`PAGE_CSP`]. No inline script or style anywhere: the behaviour lives
//!   in /static/roster.js and the look in /static/roster.css. A response that brings its own
//!   policy (the logo: `default-src 'none'; sandbox`) keeps it.
//! - Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and
//!   `Strict-Transport-Security` when the base URL is https.
//! - Every `/api/` response: `Cache-Control: no-store` (they carry personal data, tokens or
//!   secrets; a handler may still choose otherwise). Pages already send `no-store` themselves
//!   (see `pages::frame::Page`); only the static files are cacheable.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of every HTML page. `frame-src 'self'` admits the sandboxed
/// `srcdoc` signature preview, which inherits this policy (so the signature cannot run scripts
/// or load anything from elsewhere).
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'; object-src 'none'";

/// One year, subdomains included.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Middleware over the whole site; see the module documentation.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path() == "/api" || req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let h = res.headers_mut();
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !h.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if state.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    res
}
