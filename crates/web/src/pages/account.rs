//! The ID's own account pages. "Your ID's security" is a placeholder until J7 (password change,
//! two-step verification, sessions, security activity) lands.

use super::frame::{Csrf, MessagePage, Page, PageResult, nav_for, require_login};
use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/account/security", get(security))
}

pub async fn security(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/account/security").await?;
    let product = &state.services.settings().product_name;
    let csrf = Csrf::of(&headers, &state);
    let t = MessagePage {
        product,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        title: format!("Your {product} ID's security"),
        message: format!(
            "Coming soon: change your password, two-step verification, your sessions and your ID's security activity. Your {product} ID is {}.",
            p.email
        ),
        link: Some(("/apps".into(), "Your apps".into())),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}
