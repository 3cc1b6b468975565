//! Every error a browser or a client can meet, decided in one place: an error under `/api/` (or
//! asked for as JSON) is `application/problem+json`; anything else is an HTML page in the site's
//! frame (header, nav, a way back). Handlers and axum itself (unknown address, wrong method,
//! unreadable form) only say *what* went wrong; [`frame_errors`] decides how it looks.

use super::frame::{Csrf, ErrorInfo, MessagePage, Page, app_id, nav_for, principal};
use crate::AppState;
use crate::problem::Problem;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The fallback for unknown addresses (the body is chosen by [`frame_errors`]).
pub async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// Whether the caller gets problem+json rather than an HTML page.
pub fn wants_problem(path: &str, headers: &HeaderMap) -> bool {
    if path == "/api" || path.starts_with("/api/") || crate::api::OPS_PATHS.contains(&path) {
        return true;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("json") && !accept.contains("text/html")
}

fn content_type(res: &Response) -> &str {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// What a page says for an error that carries no [`ErrorInfo`] (from axum or the fallback).
fn generic(status: StatusCode) -> ErrorInfo {
    let (title, message) = match status {
        StatusCode::NOT_FOUND => (
            "Not found",
            "There is nothing at this address. It may have been mistyped, or the page has moved.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "That did not work",
            "This page cannot be used that way. Go back, reload the page and try again.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too large",
            "What was sent is larger than this page accepts.",
        ),
        s if s.is_client_error() => (
            "That did not work",
            "The form could not be read. Go back, reload the page and try again.",
        ),
        _ => (
            "Something went wrong",
            "Something went wrong on our side. It has been logged; please try again.",
        ),
    };
    ErrorInfo {
        title: title.into(),
        message: message.into(),
        link: None,
    }
}

fn problem_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// Middleware over the whole site: gives every error response the body its caller can use.
pub async fn frame_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // SCIM answers in its own error format (application/scim+json)
    if path.starts_with("/scim/") {
        if content_type(&res).starts_with("application/scim+json") {
            return res;
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        return crate::scim::ScimError::new(status, None, format!("{reason}.")).into_response();
    }
    // the OpenID Connect machine endpoints answer in the OAuth error format (application/json),
    // axum's own rejections (a form that is not one, a wrong method) included
    if crate::oidc::MACHINE_PATHS.contains(&path.as_str()) {
        if content_type(&res).starts_with("application/json") {
            return res;
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        let mut out = (
            status,
            axum::Json(serde_json::json!({
                "error": "invalid_request",
                "error_description": format!("{reason}."),
            })),
        )
            .into_response();
        if let Some(allow) = res.headers().get(header::ALLOW) {
            out.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return out;
    }
    if wants_problem(&path, &headers) {
        if content_type(&res).starts_with("application/problem+json") {
            return res;
        }
        let allow = res.headers().get(header::ALLOW).cloned();
        let detail = match status {
            StatusCode::NOT_FOUND => "No such resource.".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "This resource does not take that method.".into(),
            // axum's own rejections (an unreadable path segment or query) say what is wrong
            s if content_type(&res).starts_with("text/plain") => {
                let said = axum::body::to_bytes(res.into_body(), 2048)
                    .await
                    .ok()
                    .and_then(|b| String::from_utf8(b.to_vec()).ok())
                    .map(|t| t.trim().to_string())
                    .unwrap_or_default();
                if said.is_empty() {
                    s.canonical_reason().unwrap_or("Error").to_string()
                } else {
                    said
                }
            }
            s => s.canonical_reason().unwrap_or("Error").to_string(),
        };
        let mut p = Problem::new(status, problem_code(status), detail).into_response();
        if let Some(allow) = allow {
            p.headers_mut().insert(header::ALLOW, allow);
        }
        return p;
    }
    let info = match res.extensions().get::<ErrorInfo>() {
        Some(i) => i.clone(),
        // a page that answers with its own HTML (a refused form) is left alone
        None if content_type(&res).starts_with("text/html") => return res,
        None => generic(status),
    };
    let mut framed = framed_page(&state, &headers, &path, status, info).await;
    if let Some(allow) = res.headers().get(header::ALLOW) {
        framed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    framed
}

/// The error page with the header of whoever is asking and a way back.
async fn framed_page(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    status: StatusCode,
    info: ErrorInfo,
) -> Response {
    let p = principal(state, headers).await.ok().flatten();
    let app = path
        .strip_prefix("/app/")
        .and_then(|r| r.split('/').next())
        .and_then(|a| app_id(a).ok());
    let nav = match &p {
        Some(p) => {
            let in_app = match &app {
                Some(a) => nav_for(state, p, Some(a)).await.ok(),
                None => None,
            };
            match in_app {
                Some(n) => Some(n),
                None => nav_for(state, p, None).await.ok(),
            }
        }
        None => None,
    };
    let in_app = nav.as_ref().and_then(|n| n.app.as_ref());
    let link = info.link.clone().or_else(|| match in_app {
        Some(a) if a.admin && path.contains("/admin/") => Some((
            format!("/app/{}/admin/users", a.app_id),
            "Back to Users".to_string(),
        )),
        Some(a) => Some((format!("/app/{}", a.app_id), format!("Back to {}", a.name))),
        None if p.is_some() => Some(("/apps".into(), "Your apps".into())),
        None => Some(("/".into(), "Home".into())),
    });
    let csrf = Csrf::of(headers, state);
    let t = MessagePage {
        product: &state.services.settings().product_name,
        nav,
        csrf: csrf.token.clone(),
        title: info.title.clone(),
        message: info.message.clone(),
        link,
    };
    match Page::new(&t, &csrf) {
        Ok(page) => page.status(status).into_response(),
        Err(_) => (status, info.title).into_response(),
    }
}
