//! Login email journey in the browser: ask for a change (a link goes to the new address), and
//! confirm it from that link (a button: mail scanners that open links change nothing).

use super::forms::{Field, FormSpec, render};
use super::frame::{PageResult, check_csrf, nav_for, require_login};
use crate::AppState;
use crate::extract::RequestCtx;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/email", get(change_page).post(change))
        .route("/confirm-email/{token}", get(confirm_page).post(confirm))
}

fn change_form(current: &str, email: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "Change your login email",
        "/account/email",
        "Send a confirmation link",
    );
    f.intro.push(format!(
        "You log in with {current}. We send a link to the new address; the change happens when it is used (within 24 hours). {current} is told too."
    ));
    f.fields.push(
        Field::new("email", "New login email", "email")
            .value(email)
            .auto("email"),
    );
    f.fields.push(
        Field::new("current_password", "Current password", "password").auto("current-password"),
    );
    f.links.push((
        "/account/security".into(),
        "Back to your ID's security".into(),
    ));
    f
}

pub async fn change_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/account/email").await?;
    let nav = nav_for(&state, &p, None).await?;
    render(
        &state,
        &headers,
        Some(nav),
        change_form(p.email.as_str(), ""),
        None,
    )
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
}

pub async fn change(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<ChangeForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, "/account/email").await?;
    let nav = nav_for(&state, &p, None).await?;
    let mut form = change_form(p.email.as_str(), &f.email);
    match state
        .services
        .request_email_change(&ctx, &p, &f.current_password, &f.email)
        .await
    {
        Ok(()) => {
            form.done = Some(format!(
                "A confirmation link went to {}. Your login email changes when it is used, within 24 hours.",
                f.email.trim()
            ));
            render(&state, &headers, Some(nav), form, None)
        }
        Err(e) => render(&state, &headers, Some(nav), form, Some(e)),
    }
}

fn confirm_form(token: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "Confirm your new login email",
        format!("/confirm-email/{token}"),
        "Confirm",
    );
    f.intro
        .push("Your ID will log in with this address from now on.".into());
    f
}

pub async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    render(&state, &headers, None, confirm_form(&token), None)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let email = state.services.confirm_email_change(&ctx, &token).await?;
    let mut form = confirm_form(&token);
    form.done = Some(format!("Done: your ID now logs in with {email}."));
    form.links.push(("/login".into(), "Log in".into()));
    render(&state, &headers, None, form, None)
}
