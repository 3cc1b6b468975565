//! Audit journey in the browser: an app's audit log for its admins, and an ID's own security
//! activity; filters (person, action, dates) and "older events" paging.

use super::apps::activity;
use super::frame::{Csrf, Nav, Page, PageResult, app_id, nav_for, require_login, urlencode};
use super::when::viewer_zone;
use crate::AppState;
use crate::api::audit::{AuditQuery, encode_cursor};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use roster_core::model::AuditEvent;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/admin/audit", get(app_audit))
        .route("/account/activity", get(my_activity))
}

struct Row {
    when: String,
    who: String,
    what: String,
    addr: Option<String>,
    device: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    title: String,
    intro: String,
    action: String,
    show_actor: bool,
    actor: String,
    action_value: String,
    actions: Vec<(&'static str, &'static str)>,
    from: String,
    to: String,
    rows: Vec<Row>,
    next: Option<String>,
}

const ACTIONS: [(&str, &str); 9] = [
    ("login.", "Logins and failed logins"),
    ("id.locked", "Locks"),
    ("password.", "Password resets and changes"),
    ("email.", "Login email changes"),
    ("session.", "Sessions ended"),
    ("invitation.", "Invitations"),
    ("member.", "Member changes"),
    ("seats.", "Seats"),
    ("terms.", "Terms"),
];

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    headers: &HeaderMap,
    nav: Nav,
    zone: super::when::Zone,
    base: &str,
    title: String,
    intro: String,
    show_actor: bool,
    q: &AuditQuery,
    events: Vec<AuditEvent>,
    limit: u32,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    let next = (events.len() as u32 >= limit)
        .then(|| events.last().map(encode_cursor))
        .flatten()
        .map(|c| {
            format!(
                "{base}?actor={}&action={}&from={}&to={}&cursor={c}",
                urlencode(&text(&q.actor)),
                urlencode(&text(&q.action)),
                urlencode(&text(&q.from)),
                urlencode(&text(&q.to)),
            )
        });
    let rows = events
        .into_iter()
        .map(|e| Row {
            when: zone.format(e.at),
            who: e.actor_label,
            what: activity(&e.action, e.target.as_deref()),
            addr: e.client_addr,
            device: e
                .user_agent
                .as_deref()
                .map(|ua| crate::device::describe(Some(ua))),
        })
        .collect();
    let t = AuditPage {
        product: &state.services.settings().product_name,
        nav: Some(nav),
        csrf: csrf.token.clone(),
        title,
        intro,
        action: base.to_string(),
        show_actor,
        actor: text(&q.actor),
        action_value: text(&q.action),
        actions: ACTIONS.to_vec(),
        from: text(&q.from),
        to: text(&q.to),
        rows,
        next,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

pub async fn app_audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let base = format!("/app/{raw}/admin/audit");
    let p = require_login(&state, &headers, &base).await?;
    let app = app_id(&raw)?;
    let (filter, limit) = q.filter()?;
    let events = state.services.list_audit(&p, &app, &filter, limit).await?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    render(
        &state,
        &headers,
        nav,
        zone,
        &base,
        "Audit log".into(),
        "Everything done in this app, and the logins, failed logins and password changes of its members' IDs. Newest first.".into(),
        true,
        &q,
        events,
        limit,
    )
    .await
}

pub async fn my_activity(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let p = require_login(&state, &headers, "/account/activity").await?;
    let (filter, limit) = q.filter()?;
    let events = state.services.security_activity(&p, &filter, limit).await?;
    let nav = nav_for(&state, &p, None).await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    render(
        &state,
        &headers,
        nav,
        zone,
        "/account/activity",
        "Security activity".into(),
        "Your ID's logins, failed logins, password and email changes and sessions ended, in every app. If something here was not you, change your password.".into(),
        false,
        &q,
        events,
        limit,
    )
    .await
}
