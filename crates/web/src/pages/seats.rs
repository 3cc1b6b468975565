//! Seats journey: buy seats (then send the refused invitation), or request a complimentary seat.

use super::frame::{CsrfForm, PageResult, app_id, check_csrf, require_login, see_other_with};
use super::invitations::{AddForm, add_page, add_submit};
use crate::AppState;
use crate::extract::RequestCtx;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Form, Router};
use roster_core::Error;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/admin/seats/buy", post(buy_and_invite))
        .route("/app/{app_id}/admin/seats/request", post(request_seat))
}

/// Buy seats, then send the invitation that was refused, with no retyping.
pub async fn buy_and_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<AddForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/admin/users")).await?;
    let app = app_id(&app_raw)?;
    let c = rc.clone();
    let qty = f
        .quantity
        .as_deref()
        .unwrap_or("1")
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("quantity", "Enter a number of seats."));
    let qty = match qty {
        Ok(q) => q,
        Err(e) => return add_page(&state, &headers, &p, &app, false, f, Some(e)).await,
    };
    if let Err(e) = state.services.buy_seats(&c, &p, &app, qty).await {
        return add_page(&state, &headers, &p, &app, false, f, Some(e)).await;
    }
    add_submit(state, headers, rc, app_raw, f, false).await
}

pub async fn request_seat(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    state.services.request_seats(&c, &p, &app, 1).await?;
    let done = "Your request for a complimentary seat was sent to support. It is listed as pending until support answers.";
    Ok(see_other_with(&state, &back, done))
}
