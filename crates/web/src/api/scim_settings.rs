//! SCIM provisioning setting (API): what the app's identity provider's new users become —
//! invited (the default) or Active members at once. The SCIM protocol itself is `crate::scim`.

use super::app_id;
use crate::AppState;
use crate::dto::mirror;
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::model::ScimProvisioning;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/apps/{app_id}/scim-settings",
        get(get_settings).put(put_settings),
    )
}

mirror! {
    /// `invite`: a SCIM create sends an invitation, and the person joins when they accept it.
    /// `active`: a SCIM create makes an Active member at once, linked to the Roster ID with that
    /// email; when there is none, an ID is made and its owner chooses a password from an email.
    ScimProvisioningDto <=> ScimProvisioning { Invite, Active }
}

/// The app's SCIM setting.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provisioning": "active"}))]
pub struct ScimSettings {
    pub provisioning: ScimProvisioningDto,
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/scim-settings", tag = "scim",
    params(("app_id" = String, Path)),
    responses((status = 200, body = ScimSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<ScimSettings>> {
    let app = app_id(&app)?;
    let mode = state.services.scim_provisioning(&p, &app).await?;
    Ok(Json(ScimSettings {
        provisioning: mode.into(),
    }))
}

#[utoipa::path(put, path = "/api/v1/apps/{app_id}/scim-settings", tag = "scim",
    params(("app_id" = String, Path)), request_body = ScimSettings,
    responses((status = 200, body = ScimSettings, description = "Saved (audited when it changed)")))]
pub async fn put_settings(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(b): ApiJson<ScimSettings>,
) -> ApiResult<Json<ScimSettings>> {
    let app = app_id(&app)?;
    let mode = state
        .services
        .set_scim_provisioning(&ctx, &p, &app, b.provisioning.into())
        .await?;
    Ok(Json(ScimSettings {
        provisioning: mode.into(),
    }))
}
