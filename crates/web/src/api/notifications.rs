//! Notifications journey (API): an admin's own choice of the emails they get about the app,
//! and the app's invitation reminders.

use super::app_id;
use crate::AppState;
use crate::dto::NotificationKindName;
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::model::NotificationKind;
use roster_core::service::NotificationSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/apps/{app_id}/notifications",
        get(get_settings).patch(patch_settings),
    )
}

/// One kind of notification and whether the caller gets it.
#[derive(Serialize, ToSchema)]
pub struct NotificationKindDto {
    pub kind: NotificationKindName,
    pub label: String,
    pub enabled: bool,
}

/// The caller's notification choices in the app, and the app's reminder setting.
#[derive(Serialize, ToSchema)]
pub struct NotificationSettingsDto {
    pub kinds: Vec<NotificationKindDto>,
    /// Invited people get one reminder a day before their invitation expires.
    pub invitation_reminders: bool,
}

impl From<NotificationSettings> for NotificationSettingsDto {
    fn from(s: NotificationSettings) -> Self {
        NotificationSettingsDto {
            kinds: s
                .kinds
                .into_iter()
                .map(|p| NotificationKindDto {
                    kind: p.kind.into(),
                    label: p.kind.label().into(),
                    enabled: p.enabled,
                })
                .collect(),
            invitation_reminders: s.invitation_reminders,
        }
    }
}

/// Change some choices: only the kinds named change.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"kinds": {"invited": false}, "invitation_reminders": true}))]
pub struct NotificationSettingsBody {
    /// Kind → whether to get it; kinds not named keep their choice.
    #[serde(default)]
    pub kinds: BTreeMap<NotificationKindName, bool>,
    pub invitation_reminders: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/notifications", tag = "notifications",
    params(("app_id" = String, Path)),
    responses((status = 200, body = NotificationSettingsDto), (status = 404, description = "not an admin of this app")))]
pub async fn get_settings(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<NotificationSettingsDto>> {
    let app = app_id(&app)?;
    Ok(Json(
        state.services.notification_settings(&p, &app).await?.into(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/apps/{app_id}/notifications", tag = "notifications",
    params(("app_id" = String, Path)), request_body = NotificationSettingsBody,
    responses((status = 200, body = NotificationSettingsDto), (status = 404, description = "not an admin of this app"),
        (status = 422, description = "an unknown kind")))]
pub async fn patch_settings(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<NotificationSettingsBody>,
) -> ApiResult<Json<NotificationSettingsDto>> {
    let app = app_id(&app)?;
    let kinds: Vec<(NotificationKind, bool)> = body
        .kinds
        .iter()
        .map(|(k, on)| ((*k).into(), *on))
        .collect();
    Ok(Json(
        state
            .services
            .set_notification_settings(&ctx, &p, &app, &kinds, body.invitation_reminders)
            .await?
            .into(),
    ))
}
