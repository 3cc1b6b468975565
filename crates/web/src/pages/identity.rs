//! Identity journey: home, log in, log out, and the list of my apps (the app switcher).

use super::frame::{
    Csrf, CsrfForm, Nav, Page, PageResult, check_csrf, nav_for, principal, require_login,
    safe_next, see_other, with_cookie,
};
use crate::AppState;
use crate::api::session_cookie;
use crate::extract::{RequestCtx, session_token};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::Error;
use roster_core::model::{App, Member};
use roster_core::types::{AppId, MemberKind};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/apps", get(apps))
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    match principal(&state, &headers).await? {
        Some(_) => Ok(see_other("/apps")),
        None => Ok(see_other("/login")),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// Fills in the email field (an OpenID Connect client's `login_hint`).
    email: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let csrf = Csrf::of(&headers, &state);
    let t = LoginPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        next: safe_next(q.next.as_deref()),
        email: q
            .email
            .filter(|e| e.len() <= roster_core::types::Email::MAX_LEN)
            .unwrap_or_default(),
        error: None,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Form(f): Form<LoginForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    let app = next
        .strip_prefix("/app/")
        .and_then(|r| r.split('/').next())
        .and_then(|a| AppId::parse(a).ok());
    let c = rc.clone();
    let device = crate::cookies::read(&headers, crate::cookies::DEVICE, state.secure_cookies);
    match state
        .services
        .login_from(&c, &f.email, &f.password, app.as_ref(), device.as_deref())
        .await
    {
        Ok(li) => Ok(with_cookie(see_other(&next), session_cookie(&state, &li))),
        Err(Error::SecondFactorRequired { challenge, methods }) => {
            super::two_step::second_step_page(
                &state,
                &headers,
                &challenge,
                &methods,
                "",
                &next,
                None,
                None,
                StatusCode::OK,
            )
        }
        Err(Error::InvalidCredentials) => {
            let csrf = Csrf::of(&headers, &state);
            let t = LoginPage {
                product: &state.services.settings().product_name,
                nav: None,
                csrf: csrf.token.clone(),
                next,
                email: f.email,
                error: Some("The email or password is wrong, or the ID is locked for a few minutes after too many attempts.".into()),
            };
            Ok(Page::new(&t, &csrf)?
                .status(StatusCode::UNAUTHORIZED)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    if let Some(t) = session_token(&headers, state.secure_cookies) {
        state.services.logout(&t).await?;
    }
    let clear = crate::api::clear_cookie(&state);
    let to = match f.next.as_deref() {
        Some(n) => safe_next(Some(n)),
        None => "/login".into(),
    };
    Ok(with_cookie(see_other(&to), clear))
}

pub(super) struct AppRow {
    pub(super) app_id: String,
    pub(super) name: String,
    pub(super) admin: bool,
    pub(super) partner: bool,
}

/// One row per app of the ID (the apps page, the account page).
pub(super) fn app_rows(apps: Vec<(App, Member)>) -> Vec<AppRow> {
    apps.into_iter()
        .map(|(a, m)| AppRow {
            app_id: a.app_id.to_string(),
            name: a.name,
            admin: m.admin,
            partner: m.kind == MemberKind::Partner,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    apps: Vec<AppRow>,
}

pub async fn apps(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/apps").await?;
    let csrf = Csrf::of(&headers, &state);
    let me = state.services.me(&p).await?;
    let t = AppsPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        apps: app_rows(me.apps),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}
