//! Terms journey: the current terms of use, and agreeing to a new version before going on.

use super::forms::{Field, FormSpec, render};
use super::frame::{
    Csrf, Nav, Page, PageResult, check_csrf, nav_for, require_session, safe_next, see_other,
};
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use roster_core::Error;
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/terms", get(terms))
        .route("/terms/accept", get(accept_page).post(accept))
}

#[derive(Template)]
#[template(path = "terms.html")]
struct TermsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    version: String,
    /// Sanitised when it was published.
    body_html: Option<String>,
}

pub async fn terms(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let csrf = Csrf::of(&headers, &state);
    let t = state.services.current_terms().await?;
    let page = TermsPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        version: t.version,
        body_html: t.body_html,
    };
    Ok(Page::new(&page, &csrf)?.into_response())
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn accept_form(version: &str, next: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "The terms of use have changed",
        "/terms/accept",
        "Agree and continue",
    );
    f.intro.push(format!(
        "Read the terms of use, version {version}, and agree to them to go on."
    ));
    f.hidden.push(("version", version.to_string()));
    f.hidden.push(("next", next.to_string()));
    f.fields.push(Field::new(
        "agree",
        format!("I agree to the terms of use, version {version}"),
        "checkbox",
    ));
    f.links.push((
        "/terms".into(),
        format!("Read the terms (version {version})"),
    ));
    f
}

pub async fn accept_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let next = safe_next(q.next.as_deref());
    let p = require_session(&state, &headers, "/terms/accept").await?;
    let Some(version) = p.terms_pending.clone() else {
        return Ok(see_other(&next));
    };
    let nav = nav_for(&state, &p, None).await?;
    render(
        &state,
        &headers,
        Some(nav),
        accept_form(&version, &next),
        None,
    )
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    agree: Option<String>,
    next: Option<String>,
}

pub async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<AcceptForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    let p = require_session(&state, &headers, "/terms/accept").await?;
    let result = if f.agree.is_none() {
        Err(Error::invalid(
            "agree",
            "Tick the box to agree, or log out.",
        ))
    } else {
        state.services.accept_terms(&ctx, &p, &f.version).await
    };
    match result {
        Ok(()) => Ok(see_other(&next)),
        Err(e) => {
            let version = state.services.current_terms_version().await?;
            let nav = nav_for(&state, &p, None).await?;
            render(
                &state,
                &headers,
                Some(nav),
                accept_form(&version, &next),
                Some(e),
            )
        }
    }
}
