//! Roster's HTTP layer: the JSON API under `/api/v1` with its OpenAPI document.
//! Handlers are thin; every rule lives in `roster_core`.

pub mod api;
pub mod cookies;
pub mod device;
pub mod dto;
pub mod extract;
pub mod headers;
pub mod idempotency;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod openapi_rules;
pub mod pages;
pub mod problem;
pub mod scim;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use roster_core::Services;
use std::sync::Arc;
use time::OffsetDateTime;

/// The clock: real time in production, a controllable one in tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    /// Public base URL without trailing slash (used in links).
    pub base_url: String,
    pub secure_cookies: bool,
    pub clock: Clock,
    /// Signs flash messages (see `pages::flash`).
    pub flash_key: Arc<[u8; 32]>,
    /// Proxies whose `X-Forwarded-For` is believed (see [`extract::client_addr`]).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// The heartbeat of this process's mail worker (`/readyz`); `None`: it runs none.
    pub mail_heartbeat: Option<Arc<roster_core::ops::Heartbeat>>,
    /// Serve `/metrics` on this router (false when `metrics_listen` serves it elsewhere).
    pub metrics_route: bool,
}

impl AppState {
    pub fn new(services: Arc<Services>, base_url: &str) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        AppState {
            services,
            secure_cookies: base_url.starts_with("https://"),
            base_url,
            clock: Arc::new(OffsetDateTime::now_utc),
            flash_key: Arc::new(rand::random()),
            trusted_proxies: Arc::new(Vec::new()),
            mail_heartbeat: None,
            metrics_route: true,
        }
    }

    /// `/readyz` checks this heartbeat of the process's mail worker.
    pub fn with_mail_heartbeat(mut self, hb: Arc<roster_core::ops::Heartbeat>) -> Self {
        self.mail_heartbeat = Some(hb);
        self
    }

    /// `/metrics` is served on another address (see [`metrics::routes`]), not on this router.
    pub fn without_metrics_route(mut self) -> Self {
        self.metrics_route = false;
        self
    }

    /// Believe `X-Forwarded-For` from these proxies (addresses or CIDR ranges).
    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Take the signing keys from the database, so that every node behind a load balancer
    /// shares them (a flash set by one node is shown by another).
    pub async fn with_shared_keys(mut self) -> roster_core::Result<Self> {
        self.flash_key = Arc::new(self.services.server_key("flash").await?);
        Ok(self)
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
    // the process's metrics recorder, before the first request counts anything
    metrics::handle();
    let ops = if state.metrics_route {
        api::ops_routes().merge(metrics::routes())
    } else {
        api::ops_routes()
    };
    Router::new()
        .nest(
            "/api/v1",
            api::routes().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                idempotency::idempotency,
            )),
        )
        .merge(scim::routes())
        .merge(oidc::routes())
        .merge(pages::routes())
        .merge(ops)
        .fallback(pages::errors::not_found)
        // every error gets the body its caller can use: problem+json or a framed page
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::errors::frame_errors,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // outermost: CSP, nosniff, Referrer-Policy, HSTS, no-store on the API (see `headers`)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        // requests by route template and status, and their latency (see `metrics`)
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}
