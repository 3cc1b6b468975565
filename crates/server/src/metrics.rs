//! `roster serve`'s operational wiring: the separate `/metrics` listener (`metrics_listen`)
//! and the mail worker's heartbeat that `/readyz` checks.

use crate::config::Config;
use roster_core::ops::Heartbeat;
use std::sync::Arc;

/// The mail worker's heartbeat. It beats at least every pass (5 s when idle) and at every
/// recorded batch; a pass waits on SMTP at most about two timeouts before something is
/// recorded, so silence longer than that and a minute means it is stuck or gone.
pub fn mail_heartbeat(cfg: &Config) -> Arc<Heartbeat> {
    let secs = 60 + 2 * cfg.smtp_timeout_secs;
    Arc::new(Heartbeat::new(std::time::Duration::from_secs(secs)))
}

/// With `metrics_listen` set: bind it and serve `/metrics` there alone (the main router then
/// has none: see `AppState::without_metrics_route`). The task ends with the process.
pub async fn start_listener(
    cfg: &Config,
    state: roster_web::AppState,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(addr) = cfg.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (metrics_listen): {e}"))?;
    // the recorder exists before anything counts (the main router does the same)
    roster_web::metrics::handle();
    let app = roster_web::metrics::routes().with_state(state);
    tracing::info!(listen = %addr, "serving /metrics");
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    })))
}
