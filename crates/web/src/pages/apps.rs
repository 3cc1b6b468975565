//! Apps journey: an app's home page, and the first-run setup that creates the first app.

use super::frame::{
    Csrf, FieldErrors, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login,
};
use super::when::viewer_zone;
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Form, Router};
use roster_core::{Error, FieldError};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}", get(app_home))
        .route("/setup/{token}", get(first_run).post(first_run_submit))
}

/// What an admin sees on the app's home page.
struct AdminTiles {
    seats_used: i64,
    seats_total: i64,
    seats_available: i64,
    pending_invitations: i64,
    /// (when, who, what)
    recent: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "app_home.html")]
struct AppHomePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    first_name: String,
    app_name: String,
    app_id: String,
    admin: Option<AdminTiles>,
}

/// An audit action as a person reads it.
pub(super) fn activity(action: &str, target: Option<&str>) -> String {
    let t = target.unwrap_or("");
    match action {
        "app.created" => "created the app".into(),
        "id.created" => "created their ID".into(),
        "invitation.sent" => format!("invited {t}"),
        "invitation.resent" => format!("sent the invitation to {t} again"),
        "invitation.revoked" => format!("revoked the invitation to {t}"),
        "invitation.link_issued" => format!("copied a new invitation link for {t}"),
        "invitation.accepted" => "accepted the invitation".into(),
        "member.role_changed" => format!("changed the admin rights of {t}"),
        "member.deactivated" => format!("deactivated {t}"),
        "member.reactivated" => format!("reactivated {t}"),
        "seats.purchased" => "bought seats".into(),
        "seats.requested" => "asked support for a seat".into(),
        "seats.granted" => "complimentary seats were granted".into(),
        "login.succeeded" => "logged in".into(),
        "login.failed" => "failed to log in".into(),
        "id.locked" => "was locked after failed logins".into(),
        "password.reset_requested" => "asked for a password reset".into(),
        "password.reset" => "reset their password".into(),
        "password.reset_failed" => "failed a password reset".into(),
        "password.changed" => "changed their password".into(),
        "email.change_requested" => "asked to change their login email".into(),
        "email.changed" => format!("changed their login email to {t}"),
        "session.ended" => "ended a session".into(),
        "session.ended_others" => "ended their other sessions".into(),
        "terms.accepted" => format!("agreed to the terms, version {t}"),
        "member.left" => "left the app".into(),
        "member.provisioned" => format!("added {t} as an active member"),
        "id.provisioned" => format!("made a Roster ID for {t}"),
        "id.claimed" => "chose the password of their new ID".into(),
        "scim.provisioning_changed" => {
            "changed what the identity provider's new users become".into()
        }
        other => match target {
            Some(t) => format!("{other} ({t})"),
            None => other.to_string(),
        },
    }
}

pub async fn app_home(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app}")).await?;
    let app = app_id(&app)?;
    let home = state.services.app_home(&c, &p, &app, 10).await?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    let csrf = Csrf::of(&headers, &state);
    let app_name = nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    let admin = home.admin.map(|h| AdminTiles {
        seats_used: h.seats.used,
        seats_total: h.seats.total,
        seats_available: h.seats.available,
        pending_invitations: h.pending_invitations,
        recent: h
            .recent
            .iter()
            .map(|e| {
                (
                    zone.format(e.at),
                    e.actor_label.clone(),
                    activity(&e.action, e.target.as_deref()),
                )
            })
            .collect(),
    });
    let t = AppHomePage {
        product: &state.services.settings().product_name,
        first_name: p.first_name.clone(),
        app_name,
        app_id: app.to_string(),
        admin,
        nav: Some(nav),
        csrf: csrf.token.clone(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Template)]
#[template(path = "first_run.html")]
struct FirstRunPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    name: String,
    seats: String,
    first_name: String,
    email: String,
    errors: FieldErrors,
    /// (app name, App ID, admin email, accept link)
    created: Option<(String, String, String, String)>,
}

#[derive(Deserialize, Default)]
pub struct FirstRunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    seats: String,
    #[serde(default)]
    admin_first_name: String,
    #[serde(default)]
    admin_email: String,
}

fn first_run_page(
    state: &AppState,
    headers: &HeaderMap,
    f: FirstRunForm,
    errors: Vec<FieldError>,
    created: Option<(String, String, String, String)>,
) -> PageResult {
    let errors = FieldErrors(errors);
    let csrf = Csrf::of(headers, state);
    let status = if errors.0.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let t = FirstRunPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        name: f.name,
        seats: if f.seats.is_empty() {
            "5".into()
        } else {
            f.seats
        },
        first_name: f.admin_first_name,
        email: f.admin_email,
        errors,
        created,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

pub async fn first_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    state.services.check_setup_link(&token).await?;
    first_run_page(&state, &headers, FirstRunForm::default(), vec![], None)
}

pub async fn first_run_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<FirstRunForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    state.services.check_setup_link(&token).await?;
    let seats = match f.seats.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let e = vec![FieldError {
                field: "seats",
                message: "Enter a number of seats.".into(),
            }];
            return first_run_page(&state, &headers, f, e, None);
        }
    };
    let req = roster_core::service::CreateApp {
        name: f.name.clone(),
        seats,
        admin_email: f.admin_email.clone(),
        admin_first_name: f.admin_first_name.clone(),
        admin_last_name: None,
    };
    match state.services.create_first_app(&c, &token, req).await {
        Ok((app, issued)) => {
            let created = (
                app.name.clone(),
                app.app_id.to_string(),
                issued.invitation.email.to_string(),
                format!("/invite/{}", issued.token),
            );
            first_run_page(
                &state,
                &headers,
                FirstRunForm::default(),
                vec![],
                Some(created),
            )
        }
        Err(Error::Invalid(errors)) => first_run_page(&state, &headers, f, errors, None),
        Err(e) => Err(e.into()),
    }
}
