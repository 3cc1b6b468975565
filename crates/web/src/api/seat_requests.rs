//! Seats journey, continued (API): the seat ledger, and asking support for seats (the seat
//! requests and how they were answered).

use super::app_id;
use crate::AppState;
use crate::dto::{mirror, ts};
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::{SeatEntryKind, SeatLedgerEntry, SeatRequest, SeatRequestStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{app_id}/seats/ledger", get(ledger))
        .route(
            "/apps/{app_id}/seat-requests",
            get(list_requests).post(request_seats),
        )
}

mirror! {
    /// Why the seats changed.
    LedgerKind <=> SeatEntryKind { Initial, Purchase, Complimentary }
}

/// One change of the app's seats.
#[derive(Serialize, ToSchema)]
pub struct LedgerEntryDto {
    pub id: String,
    pub at: String,
    pub kind: LedgerKind,
    pub quantity: i64,
    /// The ID that made it (none: Roster support or a service key).
    pub actor_id: Option<String>,
}

impl From<SeatLedgerEntry> for LedgerEntryDto {
    fn from(e: SeatLedgerEntry) -> Self {
        LedgerEntryDto {
            id: e.id.to_string(),
            at: ts(e.at),
            kind: e.kind.into(),
            quantity: e.quantity,
            actor_id: e.actor.map(|a| a.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerPage {
    pub items: Vec<LedgerEntryDto>,
    pub next_cursor: Option<String>,
}

/// Cursor paging of the ledger and the seat requests.
#[derive(Deserialize, IntoParams)]
pub struct LedgerParams {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1..=200, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/seats/ledger", tag = "seats",
    params(("app_id" = String, Path), LedgerParams), responses((status = 200, body = LedgerPage)))]
pub async fn ledger(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path(app): Path<String>,
    Query(q): Query<LedgerParams>,
) -> ApiResult<Json<LedgerPage>> {
    let app = app_id(&app)?;
    let all = state.services.seat_ledger(&p, &app).await?;
    let (items, next_cursor) = page(all, |e| e.id.to_string(), q.cursor.as_deref(), q.limit)?;
    Ok(Json(LedgerPage {
        items: items.into_iter().map(LedgerEntryDto::from).collect(),
        next_cursor,
    }))
}

mirror! {
    /// Where a seat request stands.
    RequestStatus <=> SeatRequestStatus { Pending, Granted, Declined }
}

/// A request to support for complimentary seats, and its answer.
#[derive(Serialize, ToSchema)]
pub struct SeatRequestDto {
    pub id: String,
    pub quantity: i64,
    pub status: RequestStatus,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub granted_quantity: Option<i64>,
}

impl From<SeatRequest> for SeatRequestDto {
    fn from(r: SeatRequest) -> Self {
        SeatRequestDto {
            id: r.id.to_string(),
            quantity: r.quantity,
            status: r.status.into(),
            created_at: ts(r.created_at),
            decided_at: r.decided_at.map(ts),
            granted_quantity: r.granted_quantity,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SeatRequestsList {
    pub items: Vec<SeatRequestDto>,
    /// Pass as `cursor` for the next (older) page; none on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": 2}))]
pub struct SeatRequestBody {
    /// 1 to 100.
    pub quantity: i64,
}

/// One page of `all` (newest first) after the item whose id is `cursor`, and the next cursor.
fn page<T>(
    all: Vec<T>,
    id: impl Fn(&T) -> String,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let limit = limit.unwrap_or(50).clamp(1, 200) as usize;
    let start = match cursor {
        None => 0,
        Some(c) => {
            all.iter().position(|e| id(e) == c).ok_or_else(|| {
                Error::invalid(
                    "cursor",
                    "The cursor is not valid; start from the first page.",
                )
            })? + 1
        }
    };
    let mut items: Vec<T> = all.into_iter().skip(start).take(limit + 1).collect();
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&id)
    } else {
        None
    };
    Ok((items, next))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/seat-requests", tag = "seats",
    params(("app_id" = String, Path), LedgerParams), responses((status = 200, body = SeatRequestsList)))]
pub async fn list_requests(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path(app): Path<String>,
    Query(q): Query<LedgerParams>,
) -> ApiResult<Json<SeatRequestsList>> {
    let app = app_id(&app)?;
    let all = state.services.list_seat_requests(&p, &app).await?;
    let (items, next_cursor) = page(all, |r| r.id.to_string(), q.cursor.as_deref(), q.limit)?;
    Ok(Json(SeatRequestsList {
        items: items.into_iter().map(SeatRequestDto::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/seat-requests", tag = "seats",
    params(("app_id" = String, Path)), request_body = SeatRequestBody,
    responses((status = 201, body = SeatRequestDto)))]
pub async fn request_seats(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<SeatRequestBody>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let r = state
        .services
        .request_seats(&ctx, &p, &app, body.quantity)
        .await?;
    Ok((StatusCode::CREATED, Json(SeatRequestDto::from(r))).into_response())
}
