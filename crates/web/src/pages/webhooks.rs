//! Webhooks journey (pages): `/app/{app_id}/admin/webhooks` — an admin adds an endpoint (its
//! signing secret shown once), sees each endpoint's delivery log, sends a test event, deletes.

use super::frame::{
    Csrf, CsrfForm, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login,
    see_other_with,
};
use super::when::viewer_zone;
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use roster_core::model::{DeliveryState, WebhookEvent};
use roster_core::types::AppId;
use roster_core::{Error, Principal};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/admin/webhooks", get(list_page).post(create))
        .route("/app/{app_id}/admin/webhooks/{id}", get(endpoint_page))
        .route("/app/{app_id}/admin/webhooks/{id}/test", post(send_test))
        .route("/app/{app_id}/admin/webhooks/{id}/delete", post(delete))
}

struct EndpointRow {
    id: String,
    url: String,
    events: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    app_name: String,
    endpoints: Vec<EndpointRow>,
    events: Vec<(&'static str, &'static str)>,
    secret: Option<(String, String)>,
    errors: Vec<String>,
    url: String,
}

fn event_words(events: &[WebhookEvent]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn render_list(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    app: &AppId,
    secret: Option<(String, String)>,
    errors: Vec<String>,
    url: String,
) -> PageResult {
    let endpoints = state
        .services
        .list_webhooks(p, app)
        .await?
        .into_iter()
        .map(|e| EndpointRow {
            id: e.id.to_string(),
            events: event_words(&e.events),
            url: e.url,
        })
        .collect();
    let nav = nav_for(state, p, Some(app)).await?;
    let csrf = Csrf::of(headers, state);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let t = ListPage {
        product: &state.services.settings().product_name,
        app_name: nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        nav: Some(nav),
        csrf: csrf.token.clone(),
        app_id: app.to_string(),
        endpoints,
        events: WebhookEvent::ALL
            .into_iter()
            .map(|e| (e.as_str(), e.label()))
            .collect(),
        secret,
        errors,
        url,
    };
    let mut res = Page::new(&t, &csrf)?.into_response();
    *res.status_mut() = status;
    Ok(res)
}

pub async fn list_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/admin/webhooks")).await?;
    let app = app_id(&app_raw)?;
    render_list(&state, &headers, &p, &app, None, Vec::new(), String::new()).await
}

/// The form repeats `event` once per ticked box, so it is read by hand.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(app_raw): Path<String>,
    RawForm(raw): RawForm,
) -> PageResult {
    let (mut csrf, mut url, mut events) = (String::new(), String::new(), Vec::new());
    for (k, v) in url::form_urlencoded::parse(&raw) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "url" => url = v.into_owned(),
            "event" => events.extend(WebhookEvent::parse(&v)),
            _ => {}
        }
    }
    check_csrf(&state, &headers, &csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/admin/webhooks")).await?;
    let app = app_id(&app_raw)?;
    match state
        .services
        .create_webhook(&ctx, &p, &app, &url, events)
        .await
    {
        Ok(c) => {
            let secret = Some((c.endpoint.url.clone(), c.secret));
            render_list(
                &state,
                &headers,
                &p,
                &app,
                secret,
                Vec::new(),
                String::new(),
            )
            .await
        }
        Err(Error::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| e.message).collect();
            render_list(&state, &headers, &p, &app, None, errors, url).await
        }
        Err(e) => Err(e.into()),
    }
}

struct DeliveryRow {
    when: String,
    event: String,
    state: &'static str,
    attempts: i32,
    response: String,
    duration: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct EndpointPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    id: String,
    url: String,
    events: String,
    deliveries: Vec<DeliveryRow>,
}

pub async fn endpoint_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, id_raw)): Path<(String, String)>,
) -> PageResult {
    let p = require_login(
        &state,
        &headers,
        &format!("/app/{app_raw}/admin/webhooks/{id_raw}"),
    )
    .await?;
    let app = app_id(&app_raw)?;
    let id: uuid::Uuid = id_raw.parse().map_err(|_| Error::NotFound)?;
    let e = state.services.get_webhook(&p, &app, id).await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    let deliveries = state
        .services
        .webhook_deliveries(&p, &app, id, None, 100)
        .await?
        .into_iter()
        .map(|d| DeliveryRow {
            when: zone.format(d.created_at),
            state: match d.state {
                DeliveryState::Pending if d.attempts == 0 => "Waiting",
                DeliveryState::Pending => "Retrying",
                DeliveryState::Delivered => "Delivered",
                DeliveryState::Failed => "Given up",
            },
            attempts: d.attempts,
            response: match (d.last_status, d.last_error) {
                (Some(s), _) => s.to_string(),
                (None, Some(e)) => e,
                (None, None) => "—".into(),
            },
            duration: d
                .last_duration_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_default(),
            event: d.event,
        })
        .collect();
    let csrf = Csrf::of(&headers, &state);
    let t = EndpointPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, Some(&app)).await?),
        csrf: csrf.token.clone(),
        app_id: app.to_string(),
        id: e.id.to_string(),
        events: event_words(&e.events),
        url: e.url,
        deliveries,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

pub async fn send_test(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path((app_raw, id_raw)): Path<(String, String)>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/app/{app_raw}/admin/webhooks/{id_raw}");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app_raw)?;
    let id: uuid::Uuid = id_raw.parse().map_err(|_| Error::NotFound)?;
    state.services.send_test_webhook(&ctx, &p, &app, id).await?;
    Ok(see_other_with(
        &state,
        &here,
        "A test event is on its way; it shows below within seconds.",
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path((app_raw, id_raw)): Path<(String, String)>,
    axum::Form(f): axum::Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(
        &state,
        &headers,
        &format!("/app/{app_raw}/admin/webhooks/{id_raw}"),
    )
    .await?;
    let app = app_id(&app_raw)?;
    let id: uuid::Uuid = id_raw.parse().map_err(|_| Error::NotFound)?;
    state.services.delete_webhook(&ctx, &p, &app, id).await?;
    Ok(see_other_with(
        &state,
        &format!("/app/{app_raw}/admin/webhooks"),
        "The endpoint was deleted; nothing more is sent to it.",
    ))
}
