//! Accept journey (public side): the invitation page, creating an ID, or joining with an
//! existing one.

use super::frame::{
    Csrf, FieldErrors, Nav, Page, PageResult, check_csrf, form_outcome, nav_for, principal,
    see_other, with_cookie,
};
use crate::AppState;
use crate::api::session_cookie;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::service::{NewIdentityForm, QuestionMode};
use roster_core::types::{MemberKind, SecurityQuestion};
use roster_core::{Ctx, Error, FieldError};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/invite/{token}", get(invitation))
        .route("/invite/{token}/create", post(invitation_create))
        .route("/invite/{token}/join", post(invitation_join))
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    token: String,
    info: roster_core::service::InvitationInfo,
    partner: bool,
    logged_in_as_other: Option<String>,
    logged_in_as_invited: bool,
    first_name: String,
    last_name: String,
    chosen_question: String,
    questions: Vec<(&'static str, &'static str)>,
    question_mode: &'static str,
    min_len: usize,
    composition: bool,
    errors: FieldErrors,
    problem: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
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

async fn invite_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    f: InviteForm,
    err: Option<Error>,
) -> PageResult {
    let info = state
        .services
        .invitation_info(&Ctx::at(state.now()), token)
        .await?;
    let current = principal(state, headers).await?;
    let (other, invited) = match &current {
        Some(p) if p.email.normalized() != info.email.to_lowercase() => {
            (Some(p.email.to_string()), false)
        }
        Some(_) => (None, true),
        None => (None, false),
    };
    let policy = state.services.password_policy();
    let (errors, problem, status) = match err {
        Some(Error::PasswordPolicy(rules, policy)) => (
            FieldErrors(
                rules
                    .iter()
                    .map(|r| FieldError {
                        field: "password",
                        message: format!("Missing: {}", r.describe(&policy)),
                    })
                    .collect(),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        other => form_outcome(other)?,
    };
    let csrf = Csrf::of(headers, state);
    let nav = match &current {
        Some(p) => Some(nav_for(state, p, None).await?),
        None => None,
    };
    let t = InvitePage {
        product: &state.services.settings().product_name,
        nav,
        csrf: csrf.token.clone(),
        token: token.to_string(),
        partner: info.kind == MemberKind::Partner,
        first_name: if f.first_name.is_empty() {
            info.first_name.clone().unwrap_or_default()
        } else {
            f.first_name
        },
        last_name: if f.last_name.is_empty() {
            info.last_name.clone().unwrap_or_default()
        } else {
            f.last_name
        },
        info,
        logged_in_as_other: other,
        logged_in_as_invited: invited,
        chosen_question: f.security_question,
        questions: SecurityQuestion::ALL
            .iter()
            .map(|q| (q.code(), q.text()))
            .collect(),
        question_mode: match state.services.settings().security_question {
            QuestionMode::Required => "required",
            QuestionMode::Optional => "optional",
            QuestionMode::Off => "off",
        },
        min_len: policy.min_len,
        composition: policy.composition,
        errors,
        problem,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

pub async fn invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    invite_page(&state, &headers, &token, InviteForm::default(), None).await
}

pub async fn invitation_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let c = rc.clone();
    let form = NewIdentityForm {
        first_name: f.first_name.clone(),
        last_name: Some(f.last_name.clone()).filter(|l| !l.trim().is_empty()),
        password: f.password.clone(),
        security_question: Some(f.security_question.clone()).filter(|q| !q.is_empty()),
        security_answer: Some(f.security_answer.clone()).filter(|a| !a.is_empty()),
        accept_terms: f.accept_terms == "yes",
    };
    match state.services.accept_new(&c, &token, form).await {
        Ok(li) => {
            let to = li
                .app_id
                .as_ref()
                .map(|a| format!("/app/{a}/setup/1"))
                .unwrap_or_else(|| "/apps".into());
            Ok(with_cookie(see_other(&to), session_cookie(&state, &li)))
        }
        Err(e) => {
            let mut f = f;
            f.password.clear();
            f.security_answer.clear();
            invite_page(&state, &headers, &token, f, Some(e)).await
        }
    }
}

pub async fn invitation_join(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let c = rc.clone();
    let current = principal(&state, &headers).await?;
    let password = Some(f.password.clone()).filter(|p| !p.is_empty());
    match state
        .services
        .accept_existing(&c, &token, current.as_ref(), password)
        .await
    {
        Ok(li) => {
            let to = li
                .app_id
                .as_ref()
                .map(|a| format!("/app/{a}/setup/1"))
                .unwrap_or_else(|| "/apps".into());
            Ok(with_cookie(see_other(&to), session_cookie(&state, &li)))
        }
        // the ID uses two-step verification: finish logging in, then come back to join
        Err(roster_core::Error::SecondFactorRequired { challenge, methods }) => {
            super::two_step::second_step_page(
                &state,
                &headers,
                &challenge,
                &methods,
                "",
                &format!("/invite/{token}"),
                None,
                None,
                axum::http::StatusCode::OK,
            )
        }
        Err(e) => invite_page(&state, &headers, &token, InviteForm::default(), Some(e)).await,
    }
}
