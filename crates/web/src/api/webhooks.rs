//! Webhooks journey (API): an app's endpoints, their delivery log, and a test event.

use super::app_id;
use crate::AppState;
use crate::dto::{mirror, ts};
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::{DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/apps/{app_id}/webhooks",
            post(create_webhook).get(list_webhooks),
        )
        .route(
            "/apps/{app_id}/webhooks/{webhook_id}",
            get(get_webhook).delete(delete_webhook),
        )
        .route(
            "/apps/{app_id}/webhooks/{webhook_id}/deliveries",
            get(deliveries),
        )
        .route("/apps/{app_id}/webhooks/{webhook_id}/test", post(send_test))
}

mirror! {
    /// An event a webhook can report.
    WebhookEventName <=> WebhookEvent {
        #[serde(rename = "member.invited")]
        MemberInvited,
        #[serde(rename = "member.joined")]
        MemberJoined,
        #[serde(rename = "member.role_changed")]
        MemberRoleChanged,
        #[serde(rename = "member.deactivated")]
        MemberDeactivated,
        #[serde(rename = "member.reactivated")]
        MemberReactivated,
        #[serde(rename = "member.left")]
        MemberLeft,
        #[serde(rename = "invitation.revoked")]
        InvitationRevoked,
        #[serde(rename = "invitation.expired")]
        InvitationExpired,
        #[serde(rename = "seats.changed")]
        SeatsChanged,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://crm.example.com/roster-events", "events": ["member.joined", "member.deactivated"]}))]
pub struct CreateWebhookBody {
    /// An `https://` URL the internet can reach.
    pub url: String,
    pub events: Vec<WebhookEventName>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventName>,
    pub created_at: String,
}

impl From<WebhookEndpoint> for WebhookDto {
    fn from(e: WebhookEndpoint) -> Self {
        WebhookDto {
            id: e.id.to_string(),
            url: e.url,
            events: e.events.into_iter().map(WebhookEventName::from).collect(),
            created_at: ts(e.created_at),
        }
    }
}

/// A new endpoint: the only time its signing secret is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookDto {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// Verify each delivery's `webhook-signature` with it (Standard Webhooks).
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhooksList {
    pub items: Vec<WebhookDto>,
}

mirror! {
    /// `pending` (waiting or retrying), `delivered`, or `failed` (given up).
    WebhookDeliveryState <=> DeliveryState { Pending, Delivered, Failed }
}

/// One delivery and how its last attempt went.
#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveryDto {
    /// The `webhook-id` it is sent with.
    pub id: String,
    pub event: String,
    pub state: WebhookDeliveryState,
    pub attempts: i32,
    pub created_at: String,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub delivered_at: Option<String>,
    /// The body sent (JSON).
    pub payload: serde_json::Value,
}

impl From<WebhookDelivery> for WebhookDeliveryDto {
    fn from(d: WebhookDelivery) -> Self {
        WebhookDeliveryDto {
            id: format!("msg_{}", d.id.simple()),
            event: d.event,
            state: d.state.into(),
            attempts: d.attempts,
            created_at: ts(d.created_at),
            last_status: d.last_status,
            last_error: d.last_error,
            last_duration_ms: d.last_duration_ms,
            delivered_at: d.delivered_at.map(ts),
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveries {
    pub items: Vec<WebhookDeliveryDto>,
    /// Pass as `cursor` for the next (older) page; none on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct DeliveriesParams {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1..=200, default 50 (newest first).
    pub limit: Option<u32>,
}

fn webhook_id(raw: &str) -> Result<uuid::Uuid, Error> {
    raw.parse().map_err(|_| Error::NotFound)
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/webhooks", tag = "webhooks",
    params(("app_id" = String, Path)), request_body = CreateWebhookBody,
    responses((status = 201, body = CreatedWebhookDto)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<CreateWebhookBody>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let events = body.events.into_iter().map(WebhookEvent::from).collect();
    let c = state
        .services
        .create_webhook(&ctx, &p, &app, &body.url, events)
        .await?;
    let body = CreatedWebhookDto {
        webhook: c.endpoint.into(),
        secret: c.secret,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/webhooks", tag = "webhooks",
    params(("app_id" = String, Path)), responses((status = 200, body = WebhooksList)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<WebhooksList>> {
    let app = app_id(&app)?;
    let items = state.services.list_webhooks(&p, &app).await?;
    Ok(Json(WebhooksList {
        items: items.into_iter().map(WebhookDto::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("app_id" = String, Path), ("webhook_id" = String, Path)),
    responses((status = 200, body = WebhookDto)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<WebhookDto>> {
    let app = app_id(&app)?;
    let e = state
        .services
        .get_webhook(&p, &app, webhook_id(&id)?)
        .await?;
    Ok(Json(e.into()))
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/webhooks/{webhook_id}", tag = "webhooks",
    params(("app_id" = String, Path), ("webhook_id" = String, Path)),
    responses((status = 204, description = "Deleted; what was waiting for it is not sent")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let app = app_id(&app)?;
    state
        .services
        .delete_webhook(&ctx, &p, &app, webhook_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("app_id" = String, Path), ("webhook_id" = String, Path), DeliveriesParams),
    responses((status = 200, body = WebhookDeliveries)))]
pub async fn deliveries(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path((app, id)): Path<(String, String)>,
    Query(q): Query<DeliveriesParams>,
) -> ApiResult<Json<WebhookDeliveries>> {
    let app = app_id(&app)?;
    let bad_cursor = || {
        Error::invalid(
            "cursor",
            "The cursor is not valid; start from the first page.",
        )
    };
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.strip_prefix("msg_")
                .and_then(|h| uuid::Uuid::parse_str(h).ok())
                .ok_or_else(bad_cursor)?,
        ),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let items = state
        .services
        .webhook_deliveries(&p, &app, webhook_id(&id)?, before, limit)
        .await?;
    let next_cursor = (items.len() as u32 == limit)
        .then(|| items.last().map(|d| format!("msg_{}", d.id.simple())))
        .flatten();
    Ok(Json(WebhookDeliveries {
        items: items.into_iter().map(WebhookDeliveryDto::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/webhooks/{webhook_id}/test", tag = "webhooks",
    params(("app_id" = String, Path), ("webhook_id" = String, Path)),
    responses((status = 202, body = WebhookDeliveryDto, description = "Queued; see the deliveries")))]
pub async fn send_test(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let d = state
        .services
        .send_test_webhook(&ctx, &p, &app, webhook_id(&id)?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(WebhookDeliveryDto::from(d))).into_response())
}
