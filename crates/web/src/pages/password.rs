//! Password journey in the browser: forgot password, reset it (with the emailed link, or the
//! email and the 8-digit code), change it from the account pages.

use super::forms::{Field, FormSpec, render};
use super::frame::{PageResult, check_csrf, nav_for, require_login, see_other_with, with_cookie};
use crate::AppState;
use crate::api::session_cookie;
use crate::extract::RequestCtx;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use roster_core::Error;
use roster_core::service::ResetRequest;
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/forgot-password", get(forgot_page).post(forgot))
        .route("/reset-password", get(code_page).post(reset_with_code))
        .route(
            "/reset-password/{token}",
            get(link_page).post(reset_with_link),
        )
        .route("/account/password", get(change_page).post(change))
}

fn forgot_form(email: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "Forgot your password?",
        "/forgot-password",
        "Email me a reset link",
    );
    f.intro.push(
        "Enter the email you log in with. We send a link and a code that work once, for 30 minutes."
            .into(),
    );
    f.fields.push(
        Field::new("email", "Email", "email")
            .value(email)
            .auto("username"),
    );
    f.links
        .push(("/reset-password".into(), "I have a code".into()));
    f.links.push(("/login".into(), "Back to log in".into()));
    f
}

pub async fn forgot_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    render(&state, &headers, None, forgot_form(""), None)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<ForgotForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let mut form = forgot_form(&f.email);
    match state.services.forgot_password(&ctx, &f.email).await {
        Ok(()) => {
            // the same answer whether or not an ID has this email
            form.done = Some(
                "If an ID has this email, a reset link and code are on their way. Check your inbox; they work once, for 30 minutes."
                    .into(),
            );
            render(&state, &headers, None, form, None)
        }
        Err(e) => render(&state, &headers, None, form, Some(e)),
    }
}

fn new_password_fields(f: &mut FormSpec, question: Option<&str>) {
    f.fields.push(
        Field::new("password", "New password", "password")
            .auto("new-password")
            .help("Not one of your last 4 passwords."),
    );
    if let Some(q) = question {
        f.fields.push(
            Field::new("security_answer", format!("Security question: {q}"), "text")
                .help("The answer you chose when you created your ID."),
        );
    }
}

fn link_form(token: &str, question: Option<&str>) -> FormSpec {
    let mut f = FormSpec::new(
        "Choose a new password",
        format!("/reset-password/{token}"),
        "Save the new password",
    );
    f.intro
        .push("Every session of your ID ends; then log in with the new password.".into());
    new_password_fields(&mut f, question);
    f
}

pub async fn link_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
) -> PageResult {
    let q = state.services.reset_link_question(&ctx, &token).await?;
    render(
        &state,
        &headers,
        None,
        link_form(&token, q.map(|q| q.text())),
        None,
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    security_answer: Option<String>,
}

fn done(state: &AppState) -> axum::response::Response {
    see_other_with(
        state,
        "/login",
        "Your password was changed. Log in with the new one.",
    )
}

pub async fn reset_with_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let req = ResetRequest {
        token: Some(token.clone()),
        password: f.password,
        security_answer: f.security_answer,
        ..Default::default()
    };
    match state.services.reset_password(&ctx, &req).await {
        Ok(()) => Ok(done(&state)),
        Err(e @ Error::LinkInvalid) => Err(e.into()),
        Err(e) => {
            let q = state
                .services
                .reset_link_question(&ctx, &token)
                .await
                .ok()
                .flatten();
            render(
                &state,
                &headers,
                None,
                link_form(&token, q.map(|q| q.text())),
                Some(e),
            )
        }
    }
}

fn code_form(email: &str, code: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "Reset your password with a code",
        "/reset-password",
        "Save the new password",
    );
    f.intro.push(
        "Enter your email, the 8-digit code from the reset email, and a new password.".into(),
    );
    f.fields.push(
        Field::new("email", "Email", "email")
            .value(email)
            .auto("username"),
    );
    f.fields.push(
        Field::new("code", "Code from the email", "text")
            .value(code)
            .auto("one-time-code"),
    );
    new_password_fields(&mut f, None);
    f.fields.push(
        Field::new(
            "security_answer",
            "Answer to your security question (if your ID has one)",
            "text",
        )
        .optional(),
    );
    f.links
        .push(("/forgot-password".into(), "Send me a new code".into()));
    f
}

pub async fn code_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    render(&state, &headers, None, code_form("", ""), None)
}

pub async fn reset_with_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<ResetForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let form = code_form(&f.email, &f.code);
    let req = ResetRequest {
        email: Some(f.email),
        code: Some(f.code),
        password: f.password,
        security_answer: f.security_answer.filter(|a| !a.trim().is_empty()),
        ..Default::default()
    };
    match state.services.reset_password(&ctx, &req).await {
        Ok(()) => Ok(done(&state)),
        Err(e) => render(&state, &headers, None, form, Some(e)),
    }
}

fn change_form() -> FormSpec {
    let mut f = FormSpec::new(
        "Change your password",
        "/account/password",
        "Change password",
    );
    f.intro
        .push("Every other session of your ID ends; this browser stays logged in.".into());
    f.fields.push(
        Field::new("current_password", "Current password", "password").auto("current-password"),
    );
    f.fields.push(
        Field::new("new_password", "New password", "password")
            .auto("new-password")
            .help("Not one of your last 4 passwords."),
    );
    f.links.push((
        "/account/security".into(),
        "Back to your ID's security".into(),
    ));
    f
}

pub async fn change_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/account/password").await?;
    let nav = nav_for(&state, &p, None).await?;
    render(&state, &headers, Some(nav), change_form(), None)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<ChangeForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, "/account/password").await?;
    match state
        .services
        .change_password(&ctx, &p, &f.current_password, &f.new_password)
        .await
    {
        Ok(li) => Ok(with_cookie(
            see_other_with(
                &state,
                "/account/security",
                "Your password was changed. Every other session of your ID was ended.",
            ),
            session_cookie(&state, &li),
        )),
        Err(e) => {
            let nav = nav_for(&state, &p, None).await?;
            render(&state, &headers, Some(nav), change_form(), Some(e))
        }
    }
}
