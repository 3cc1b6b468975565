//! Roster's HTTP layer: the JSON API under `/api/v1` with its OpenAPI document.
//! Handlers are thin; every rule lives in `roster_core`.

pub mod api;
pub mod dto;
pub mod extract;
pub mod openapi;
pub mod pages;
pub mod problem;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use roster_core::Services;
use std::sync::Arc;
use time::OffsetDateTime;
use tower_http::set_header::SetResponseHeaderLayer;

/// The clock: real time in production, a controllable one in tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    /// Public base URL without trailing slash (used in links).
    pub base_url: String,
    pub secure_cookies: bool,
    pub clock: Clock,
}

impl AppState {
    pub fn new(services: Arc<Services>, base_url: &str) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        AppState {
            services,
            secure_cookies: base_url.starts_with("https://"),
            base_url,
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    pub fn accept_url(&self, token: &str) -> String {
        format!("{}/invite/{}", self.base_url, token)
    }
}

/// Largest request body accepted (JSON bodies are small).
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/session", post(api::login).delete(api::logout))
        .route("/me", get(api::me))
        .route("/apps/{app_id}/members", get(api::list_members))
        .route(
            "/apps/{app_id}/members/{member_id}",
            get(api::get_member).patch(api::patch_member),
        )
        .route(
            "/apps/{app_id}/invitations",
            post(api::invite).get(api::list_invitations),
        )
        .route(
            "/apps/{app_id}/invitations/{invitation_id}/resend",
            post(api::resend),
        )
        .route(
            "/apps/{app_id}/invitations/{invitation_id}",
            axum::routing::delete(api::revoke),
        )
        .route("/apps/{app_id}/seats", get(api::seats).post(api::buy_seats))
        .route("/apps/{app_id}/audit", get(api::audit))
        .route("/invitations/{token}", get(api::public_invitation))
        .route("/invitations/{token}/accept", post(api::accept))
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(api::not_found);

    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/apps", get(pages::apps))
        .route("/terms", get(pages::terms))
        .route("/static/roster.css", get(pages::stylesheet))
        .route("/app/{app_id}", get(pages::app_home))
        .route("/app/{app_id}/admin/users", get(pages::users))
        .route(
            "/app/{app_id}/admin/users/add",
            get(pages::add_user_page).post(pages::add_user_submit),
        )
        .route(
            "/app/{app_id}/admin/partners/add",
            get(pages::add_partner_page).post(pages::add_partner_submit),
        )
        .route("/app/{app_id}/admin/seats/buy", post(pages::buy_and_invite))
        .route(
            "/app/{app_id}/admin/seats/request",
            post(pages::request_seat),
        )
        .route(
            "/app/{app_id}/admin/invitations/{id}/{action}",
            post(pages::invitation_action),
        )
        .route(
            "/app/{app_id}/admin/members/{id}/deactivate",
            get(pages::confirm_deactivate),
        )
        .route(
            "/app/{app_id}/admin/members/{id}/{action}",
            post(pages::member_action),
        )
        .route("/app/{app_id}/setup", get(pages::setup_start))
        .route(
            "/app/{app_id}/setup/1",
            get(pages::setup_step_1).post(pages::setup_details),
        )
        .route(
            "/app/{app_id}/setup/2",
            get(pages::setup_step_2).post(pages::setup_signature),
        )
        .route(
            "/app/{app_id}/setup/3",
            get(pages::setup_step_3)
                .post(pages::setup_logo)
                .layer(DefaultBodyLimit::max(3 * 1024 * 1024)),
        )
        .route("/app/{app_id}/profile", get(pages::profile_page))
        .route("/app/{app_id}/profile/logo", get(pages::logo))
        .route(
            "/setup/{token}",
            get(pages::first_run).post(pages::first_run_submit),
        )
        .route("/invite/{token}", get(pages::invitation))
        .route("/invite/{token}/create", post(pages::invitation_create))
        .route("/invite/{token}/join", post(pages::invitation_join));

    Router::new()
        .nest("/api/v1", api)
        .merge(pages)
        .route("/healthz", get(api::healthz))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}
