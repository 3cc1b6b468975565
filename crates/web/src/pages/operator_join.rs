//! Journey J8: becoming an operator by an emailed invitation (`roster operator add` for a
//! person without an ID): log in with the invited ID and accept, or create the ID here.

use super::frame::{Csrf, Nav, Page, PageResult, check_csrf, require_login, see_other_with};
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::Error;
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator/join/{token}", get(join_page).post(join_existing))
        .route("/operator/join/{token}/create", post(join_new))
}

#[derive(Template)]
#[template(path = "operator_join.html")]
struct JoinPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    token: String,
    email: String,
    /// Logged in as the invited ID.
    as_invited: bool,
    /// Logged in as another ID.
    as_other: Option<String>,
    id_exists: bool,
    questions: Vec<(&'static str, &'static str)>,
    question_mode: &'static str,
    first_name: String,
    last_name: String,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
struct JoinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    security_question: String,
    #[serde(default)]
    security_answer: String,
    #[serde(default)]
    accept_terms: String,
}

async fn join_view(
    state: &AppState,
    headers: &HeaderMap,
    ctx: &roster_core::Ctx,
    token: &str,
    f: JoinForm,
    errors: Vec<String>,
) -> PageResult {
    use roster_core::service::QuestionMode;
    use roster_core::types::SecurityQuestion;
    let (invite, id_exists) = state.services.operator_invite(ctx, token).await?;
    let current = super::frame::principal(state, headers).await?;
    let as_invited = current
        .as_ref()
        .is_some_and(|p| p.email.normalized() == invite.email.normalized());
    let as_other = current
        .as_ref()
        .filter(|_| !as_invited)
        .map(|p| p.email.to_string());
    let csrf = Csrf::of(headers, state);
    let t = JoinPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        token: token.to_string(),
        email: invite.email.to_string(),
        as_invited,
        as_other,
        id_exists,
        questions: SecurityQuestion::ALL
            .iter()
            .map(|q| (q.code(), q.text()))
            .collect(),
        question_mode: match state.services.settings().security_question {
            QuestionMode::Required => "required",
            QuestionMode::Optional => "optional",
            QuestionMode::Off => "off",
        },
        first_name: f.first_name,
        last_name: f.last_name,
        errors: errors.clone(),
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

async fn join_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
) -> PageResult {
    join_view(
        &state,
        &headers,
        &ctx,
        &token,
        JoinForm::default(),
        Vec::new(),
    )
    .await
}

async fn join_existing(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<JoinForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/operator/join/{token}")).await?;
    state
        .services
        .accept_operator_invite(&ctx, &p, &token)
        .await?;
    Ok(see_other_with(
        &state,
        "/operator",
        "You are a Roster support operator.",
    ))
}

async fn join_new(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<JoinForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let form = roster_core::service::NewIdentityForm {
        first_name: f.first_name.clone(),
        last_name: Some(f.last_name.clone()).filter(|l| !l.trim().is_empty()),
        password: f.password.clone(),
        security_question: Some(f.security_question.clone()).filter(|q| !q.is_empty()),
        security_answer: Some(f.security_answer.clone()).filter(|a| !a.is_empty()),
        accept_terms: f.accept_terms == "yes",
    };
    match state
        .services
        .accept_operator_invite_new(&ctx, &token, form)
        .await
    {
        // the console needs two-step verification: go and set it up
        Ok(li) => Ok(super::frame::with_cookie(
            super::frame::see_other("/account/two-step"),
            crate::api::session_cookie(&state, &li),
        )),
        Err(Error::Invalid(fields)) => {
            let errors = fields.into_iter().map(|e| e.message).collect();
            join_view(&state, &headers, &ctx, &token, f, errors).await
        }
        Err(Error::PasswordPolicy(rules, policy)) => {
            let errors = rules.iter().map(|r| r.describe(&policy)).collect();
            join_view(&state, &headers, &ctx, &token, f, errors).await
        }
        Err(e) => Err(e.into()),
    }
}
