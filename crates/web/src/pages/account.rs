//! The ID's own account pages: the ID and its apps (leave one), its sessions, and "Your ID's
//! security" (links to password, login email, sessions and security activity; the terms
//! versions agreed to).

use super::confirm::{Confirm, confirm_page};
use super::frame::{
    Csrf, CsrfForm, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login,
    see_other_with,
};
use super::identity::{AppRow, app_rows};
use super::when::viewer_zone;
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use roster_core::types::{MemberKind, SessionId};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/security", get(security))
        .route(
            "/account/apps/{app_id}/leave",
            get(confirm_leave).post(leave),
        )
        .route("/account/sessions", get(sessions))
        .route("/account/sessions/end-others", post(end_others))
        .route("/account/sessions/{id}/end", post(end_session))
}

struct SessionRow {
    id: String,
    device: String,
    client_addr: Option<String>,
    created: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    sessions: Vec<SessionRow>,
    others: bool,
}

pub async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
) -> PageResult {
    let p = require_login(&state, &headers, "/account/sessions").await?;
    let csrf = Csrf::of(&headers, &state);
    let zone = viewer_zone(&state, &headers, &p).await;
    let sessions: Vec<SessionRow> = state
        .services
        .my_sessions(&ctx, &p)
        .await?
        .into_iter()
        .map(|i| SessionRow {
            id: i.session.id.to_string(),
            device: crate::device::describe(i.session.user_agent.as_deref()),
            client_addr: i.session.client_addr,
            created: zone.format(i.session.created_at),
            last_seen: zone.format(i.session.last_seen_at),
            current: i.current,
        })
        .collect();
    let t = SessionsPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        others: sessions.iter().any(|s| !s.current),
        sessions,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

pub async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, "/account/sessions").await?;
    let id: SessionId = raw.parse().map_err(|_| roster_core::Error::NotFound)?;
    state.services.end_session(&ctx, &p, id).await?;
    Ok(see_other_with(
        &state,
        "/account/sessions",
        "The session was ended.",
    ))
}

pub async fn end_others(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, "/account/sessions").await?;
    let n = state.services.end_other_sessions(&ctx, &p).await?;
    let text = match n {
        1 => "1 other session was ended.".to_string(),
        n => format!("{n} other sessions were ended."),
    };
    Ok(see_other_with(&state, "/account/sessions", &text))
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
    connected: Vec<ConnectedRow>,
}

/// One row of "Connected applications".
struct ConnectedRow {
    client_id: String,
    client: String,
    app_id: String,
    app: String,
    scopes: String,
    last_used: String,
}

pub async fn account(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/account").await?;
    let csrf = Csrf::of(&headers, &state);
    let me = state.services.me(&p).await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    let connected = state
        .services
        .connected_apps(&p)
        .await?
        .into_iter()
        .map(|c| ConnectedRow {
            client_id: c.consent.client_id,
            client: c.client_name,
            app_id: c.consent.app_id.to_string(),
            app: c.app_name,
            scopes: c.consent.scopes.join(" "),
            last_used: zone.format(c.consent.last_used_at),
        })
        .collect();
    let t = AccountPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        name: p.display_name(),
        email: p.email.to_string(),
        apps: app_rows(me.apps),
        connected,
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
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, "/account").await?;
    let app = app_id(&raw)?;
    state.services.leave_app(&ctx, &p, &app).await?;
    Ok(see_other_with(
        &state,
        "/account",
        &format!("You left the app with App ID {app}."),
    ))
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    email: String,
    terms: Vec<(String, String)>,
}

pub async fn security(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/account/security").await?;
    let csrf = Csrf::of(&headers, &state);
    let zone = viewer_zone(&state, &headers, &p).await;
    let terms = state
        .services
        .my_terms_acceptances(&p)
        .await?
        .into_iter()
        .map(|(v, at)| (v, zone.format(at)))
        .collect();
    let t = SecurityPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        email: p.email.to_string(),
        terms,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}
