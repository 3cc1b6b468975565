//! `/metrics` in the Prometheus text format (`metrics` + `metrics-exporter-prometheus`).
//!
//! One recorder per process, installed the first time a router is built (tests start many
//! servers in one process: they share it). Counters and histograms are fed as things happen —
//! requests here ([`track`], by route template, never the concrete path), audited security
//! events in `roster_core::ops::count_audit`, deliveries in the mail and webhook workers; the
//! gauges (outbox, webhooks, seats, database pool) are read from the store at each scrape.

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Request latency buckets, seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use; `None` when another recorder was installed
/// first (then `/metrics` shows only the gauges it sets itself, which go nowhere: logged once).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(
                Matcher::Full("roster_http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            );
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::error!(error = %e, "metrics: bad histogram buckets");
                    return None;
                }
            };
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "metrics: another recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            // histogram samples wait in the recorder until upkeep folds them in: do it often,
            // whether or not anyone scrapes
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "metrics: no upkeep thread; histograms fold at scrapes");
            }
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "roster_http_requests_total",
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(
        "roster_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route template and method"
    );
    describe_counter!(
        "roster_audit_events_total",
        "Audited events by action (every security event is audited)"
    );
    describe_counter!(
        "roster_logins_total",
        "Logins by outcome: ok, failed, locked"
    );
    describe_counter!(
        "roster_second_factor_total",
        "Second steps of logins by outcome: ok, failed"
    );
    describe_counter!("roster_lockouts_total", "IDs locked after failed logins");
    describe_counter!(
        "roster_invitations_total",
        "Invitation events: sent, accepted, resent, revoked, link_copied"
    );
    describe_counter!(
        "roster_mail_deliveries_total",
        "Mail delivery attempts of this node by outcome: sent, retry, failed"
    );
    describe_counter!(
        "roster_webhook_deliveries_total",
        "Webhook delivery attempts of this node by outcome: delivered, retry, failed"
    );
    describe_gauge!(
        "roster_outbox_pending",
        "Messages in the outbox waiting to be sent (all nodes)"
    );
    describe_gauge!(
        "roster_outbox_oldest_pending_age_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest message waiting in the outbox (0 when none)"
    );
    describe_gauge!(
        "roster_webhook_deliveries_pending",
        "Webhook deliveries waiting (all nodes)"
    );
    describe_gauge!("roster_seats_held", "Seats held, summed over every app");
    describe_gauge!(
        "roster_seats_total",
        "Seats purchased plus complimentary, summed over every app"
    );
    describe_gauge!("roster_apps", "Apps");
    describe_gauge!(
        "roster_database_up",
        "1 when the last scrape read the database, 0 when it could not (the database gauges are then stale)"
    );
    describe_gauge!(
        "roster_db_connections",
        "This node's database connections by state: in_use, idle, max"
    );
}

/// Counts every request by its route template (`/api/v1/apps/{app_id}/members`; a request
/// that matched no route is `(unmatched)`), method and status, and times it.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!(
        "roster_http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "roster_http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    res
}

/// The `/metrics` route (on the main router, or alone on `metrics_listen`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The gauges, read now.
async fn refresh(state: &AppState) -> roster_core::Result<()> {
    let store = state.services.store();
    let pool = store.pool_figures();
    metrics::gauge!("roster_db_connections", "state" => "in_use").set(f64::from(pool.in_use));
    metrics::gauge!("roster_db_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("roster_db_connections", "state" => "max").set(f64::from(pool.max));
    let f = store.read().await?.ops_figures().await?;
    let now = time::OffsetDateTime::now_utc();
    let age = f
        .outbox_oldest_pending
        .map(|t| (now - t).as_seconds_f64().max(0.0))
        .unwrap_or(0.0);
    metrics::gauge!("roster_outbox_pending").set(f.outbox_pending as f64);
    metrics::gauge!("roster_outbox_oldest_pending_age_seconds").set(age);
    metrics::gauge!("roster_webhook_deliveries_pending").set(f.webhooks_pending as f64);
    metrics::gauge!("roster_seats_held").set(f.seats_held as f64);
    metrics::gauge!("roster_seats_total").set(f.seats_total as f64);
    metrics::gauge!("roster_apps").set(f.apps as f64);
    Ok(())
}

#[utoipa::path(get, path = "/metrics", tag = "ops",
    description = "Counters, histograms and gauges in the Prometheus text format (version \
        0.0.4). On the main address unless `metrics_listen` is configured: then only there.",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain", body = String),
        (status = 503, description = "unavailable: the database cannot be reached for the gauges")
    ))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // one scrape at a time: the gauges are the process's, so each answer shows what its own
    // refresh read (several servers in one process, as in tests, each see their own database)
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    // the counters are worth having while the database is away: the gauges are then skipped
    let up = match tokio::time::timeout(Duration::from_secs(3), refresh(&state)).await {
        Ok(Ok(())) => 1.0,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: gauges not refreshed");
            0.0
        }
        Err(_) => {
            tracing::warn!("metrics: the database did not answer within 3 s; gauges not refreshed");
            0.0
        }
    };
    metrics::gauge!("roster_database_up").set(up);
    let Some(handle) = handle() else {
        return crate::problem::Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Metrics are not recorded by this process.",
        )
        .into_response();
    };
    handle.run_upkeep();
    let mut res = (StatusCode::OK, handle.render()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}
