//! Terms journey: the terms of use an invited person accepts.

use super::frame::{Csrf, Nav, Page, PageResult};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/terms", get(terms))
}

#[derive(Template)]
#[template(path = "terms.html")]
struct TermsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    version: String,
}

pub async fn terms(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let csrf = Csrf::of(&headers, &state);
    let t = TermsPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        version: state.services.settings().terms_version.clone(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}
