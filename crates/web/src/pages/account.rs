//! The ID's own account pages: the ID and its apps (leave one). "Your ID's security" is a
//! placeholder until J7 (password change, two-step verification, sessions, security activity)
//! lands.

use super::confirm::{Confirm, confirm_page};
use super::frame::{
    Csrf, CsrfForm, MessagePage, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login,
    see_other_with,
};
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use roster_core::types::MemberKind;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/security", get(security))
        .route(
            "/account/apps/{app_id}/leave",
            get(confirm_leave).post(leave),
        )
}

struct AppRow {
    app_id: String,
    name: String,
    admin: bool,
    partner: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    name: String,
    email: String,
    apps: Vec<AppRow>,
}

pub async fn account(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/account").await?;
    let csrf = Csrf::of(&headers, &state);
    let me = state.services.me(&p).await?;
    let t = AccountPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        name: p.display_name(),
        email: p.email.to_string(),
        apps: me
            .apps
            .into_iter()
            .map(|(a, m)| AppRow {
                app_id: a.app_id.to_string(),
                name: a.name,
                admin: m.admin,
                partner: m.kind == MemberKind::Partner,
            })
            .collect(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

pub async fn confirm_leave(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> PageResult {
    let back = format!("/account/apps/{raw}/leave");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&raw)?;
    let (a, m) = state
        .services
        .me(&p)
        .await?
        .apps
        .into_iter()
        .find(|(a, _)| a.app_id == app)
        .ok_or(roster_core::Error::NotFound)?;
    let seat = if m.kind == MemberKind::Partner {
        ""
    } else {
        " Your seat is freed for someone else."
    };
    let c = Confirm {
        question: format!("Leave {}?", a.name),
        explain: format!(
            "You will no longer be able to use {} (App ID {}).{seat} Its admins are told by email; only an admin can let you back in.",
            a.name, a.app_id
        ),
        action: back,
        button: format!("Leave {}", a.name),
        back: "/account".into(),
        records_to: None,
    };
    confirm_page(&state, &headers, nav_for(&state, &p, None).await?, &c)
}

pub async fn leave(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let p = require_login(&state, &headers, "/account").await?;
    let app = app_id(&raw)?;
    state.services.leave_app(&ctx, &p, &app).await?;
    Ok(see_other_with(
        &state,
        "/account",
        &format!("You left the app with App ID {app}."),
    ))
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
