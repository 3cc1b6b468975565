//! Seats journey: how many seats an app has and uses, and buying more.

use super::app_id;
use crate::AppState;
use crate::dto::{BuySeats, SeatsDto};
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/apps/{app_id}/seats", get(seats).post(buy_seats))
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/seats", tag = "seats",
    params(("app_id" = String, Path)), responses((status = 200, body = SeatsDto)))]
pub async fn seats(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
) -> ApiResult<Json<SeatsDto>> {
    let app = app_id(&app)?;
    Ok(Json(
        state.services.seat_summary(&ctx, &p, &app).await?.into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/seats", tag = "seats",
    params(("app_id" = String, Path)), request_body = BuySeats,
    responses((status = 201, body = SeatsDto)))]
pub async fn buy_seats(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<BuySeats>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    let s = state
        .services
        .buy_seats(&ctx, &p, &app, body.quantity)
        .await?;
    Ok((StatusCode::CREATED, Json(SeatsDto::from(s))).into_response())
}
