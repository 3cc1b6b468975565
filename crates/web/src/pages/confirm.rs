//! The confirmation page of a destructive action: GET shows what will happen, the form POSTs to
//! the same address (with its CSRF token), and Cancel goes back without doing anything.

use super::frame::{Csrf, Nav, Page, PageResult};
use crate::AppState;
use askama::Template;
use axum::http::HeaderMap;
use axum::response::IntoResponse;

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    c: &'a Confirm,
}

/// What a confirmation page asks.
pub struct Confirm {
    /// "Deactivate Ann?"
    pub question: String,
    /// What happens, in a sentence or two.
    pub explain: String,
    /// Where the form posts.
    pub action: String,
    /// The button ("Deactivate").
    pub button: String,
    /// Where Cancel goes.
    pub back: String,
    /// For deactivation: who receives the records (member id, label).
    pub records_to: Option<Vec<(String, String)>>,
}

pub(super) fn confirm_page(
    state: &AppState,
    headers: &HeaderMap,
    nav: Nav,
    c: &Confirm,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let t = ConfirmPage {
        product: &state.services.settings().product_name,
        nav: Some(nav),
        csrf: csrf.token.clone(),
        c,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}
