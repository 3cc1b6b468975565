//! `/api/v1` handlers: parse → call a core service → render. Nothing else.
//! One module per journey, each owning its routes; this module holds what they share.

pub mod accept;
pub mod account;
pub mod api_keys;
pub mod audit;
pub mod bulk;
pub mod identity;
pub mod invitation_links;
pub mod invitations;
pub mod login_email;
pub mod members;
pub mod notifications;
pub mod passkeys;
pub mod password;
pub mod profile;
pub mod ready;
pub mod scim_settings;
pub mod seat_requests;
pub mod seats;
pub mod terms;
pub mod two_step;
pub mod webhooks;

use crate::AppState;
use crate::cookies;
use crate::dto::{Backend, Health, HealthStatus, SessionResponse};
use crate::openapi;
use crate::problem::{ApiResult, Problem};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::Error;
use roster_core::service::LoggedIn;
use roster_core::types::AppId;

/// Every `/api/v1` route (paths relative to `/api/v1`), with the JSON 404 for the rest.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(identity::routes())
        .merge(account::routes())
        .merge(api_keys::routes())
        .merge(members::routes())
        .merge(invitations::routes())
        .merge(bulk::routes())
        .merge(invitation_links::routes())
        .merge(seat_requests::routes())
        .merge(profile::routes())
        .merge(notifications::routes())
        .merge(seats::routes())
        .merge(audit::routes())
        .merge(accept::routes())
        .merge(password::routes())
        .merge(login_email::routes())
        .merge(terms::routes())
        .merge(two_step::routes())
        .merge(passkeys::routes())
        .merge(webhooks::routes())
        .merge(scim_settings::routes())
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(not_found)
}

/// The operational routes: their errors are problem+json for every client (probes and
/// scrapers send no `Accept`).
pub const OPS_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Operational routes served at the root, outside `/api/v1`: the health check (the process
/// runs) and the readiness check (it should take traffic; see [`ready`]).
pub(crate) fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready::readyz))
}

fn app_id(raw: &str) -> Result<AppId, Error> {
    AppId::parse(raw).map_err(|_| Error::NotFound)
}

/// An App ID sent in a body (not an address): one that is not an App ID is a field error.
fn app_id_field(raw: &str) -> Result<AppId, Error> {
    AppId::parse(raw).map_err(|_| Error::invalid("app_id", "Not an App ID (like ab123)."))
}

/// The session cookie: HttpOnly, SameSite=Lax; `__Host-`-prefixed and Secure over HTTPS.
pub fn session_cookie(state: &AppState, li: &LoggedIn) -> HeaderValue {
    let max_age = (li.expires_at - state.now()).whole_seconds().max(0);
    cookies::set(
        cookies::SESSION,
        &li.token,
        &format!("HttpOnly; SameSite=Lax; Max-Age={max_age}"),
        state.secure_cookies,
    )
    .unwrap_or_else(|| HeaderValue::from_static(""))
}

/// The `Set-Cookie` that ends the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    cookies::set(
        cookies::SESSION,
        "",
        "HttpOnly; SameSite=Lax; Max-Age=0",
        state.secure_cookies,
    )
    .unwrap_or_else(|| HeaderValue::from_static(""))
}

fn logged_in_response(state: &AppState, li: LoggedIn, status: StatusCode) -> Response {
    let cookie = session_cookie(state, &li);
    let body = SessionResponse {
        token: li.token,
        expires_at: li
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        location: li.app_id.as_ref().map(|a| format!("/app/{a}")),
        app_id: li.app_id.map(|a| a.to_string()),
    };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, description = "database unreachable")))]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let store = state.services.store();
    store
        .read()
        .await
        .map_err(Error::from)?
        .ping()
        .await
        .map_err(Error::from)?;
    let backend = if store.backend() == "postgres" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    Ok(Json(Health {
        status: HealthStatus::Ok,
        backend,
    }))
}

pub async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
}
