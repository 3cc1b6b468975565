//! Audit journey: an app's recent audit events.

use super::app_id;
use crate::AppState;
use crate::dto::AuditDto;
use crate::extract::Auth;
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/apps/{app_id}/audit", get(audit))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/audit", tag = "audit",
    params(("app_id" = String, Path)), responses((status = 200, body = Vec<AuditDto>)))]
pub async fn audit(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(app): Path<String>,
) -> ApiResult<Json<Vec<AuditDto>>> {
    let app = app_id(&app)?;
    let events = state.services.list_audit(&p, &app, 200).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditDto {
                at: e
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                actor: e.actor_label,
                action: e.action,
                target: e.target,
                client_addr: e.client_addr,
                details: e.details,
            })
            .collect(),
    ))
}
