//! Notifications journey (pages): an admin's choice of the emails they get about their app,
//! the app's invitation reminders, one-click unsubscribe from a notification email, and
//! correcting the address of an invitation that did not arrive.

use super::forms::{Field, FormSpec, render};
use super::frame::{PageResult, app_id, check_csrf, nav_for, require_login, see_other_with};
use crate::AppState;
use crate::extract::RequestCtx;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Form, Router};
use roster_core::model::NotificationKind;
use roster_core::service::NotificationSettings;
use roster_core::types::InvitationId;
use serde::Deserialize;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/{app_id}/admin/notifications",
            get(prefs_page).post(prefs_submit),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe_submit),
        )
        .route(
            "/app/{app_id}/admin/invitations/{id}/correct",
            get(correct_page).post(correct_submit),
        )
}

fn prefs_form(app: &str, s: &NotificationSettings) -> FormSpec {
    let mut f = FormSpec::new(
        "Emails you get about this app",
        format!("/app/{app}/admin/notifications"),
        "Save",
    );
    f.intro.push(
        "As an administrator you are told by email when these things happen (several at once \
         come as one summary). Untick what you do not want; the other admins choose for themselves."
            .into(),
    );
    for p in &s.kinds {
        f.fields.push(
            Field::new(p.kind.as_str(), p.kind.label(), "checkbox")
                .value(if p.enabled { "yes" } else { "" })
                .optional(),
        );
    }
    f.fields.push(
        Field::new(
            "invitation_reminders",
            "For everyone in this app: remind invited people once, a day before their invitation expires",
            "checkbox",
        )
        .value(if s.invitation_reminders { "yes" } else { "" })
        .optional(),
    );
    f.links
        .push((format!("/app/{app}/admin/users"), "Back to Users".into()));
    f
}

pub async fn prefs_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
) -> PageResult {
    let here = format!("/app/{app_raw}/admin/notifications");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app_raw)?;
    let s = state.services.notification_settings(&p, &app).await?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    render(
        &state,
        &headers,
        Some(nav),
        prefs_form(app.as_str(), &s),
        None,
    )
}

pub async fn prefs_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(
        &state,
        &headers,
        f.get("csrf").map(String::as_str).unwrap_or(""),
    )?;
    let here = format!("/app/{app_raw}/admin/notifications");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app_raw)?;
    // an unticked checkbox is not sent at all: absent means off
    let kinds: Vec<_> = NotificationKind::ALL
        .into_iter()
        .map(|k| (k, f.get(k.as_str()).is_some_and(|v| v == "yes")))
        .collect();
    let reminders = f.get("invitation_reminders").is_some_and(|v| v == "yes");
    state
        .services
        .set_notification_settings(&ctx, &p, &app, &kinds, Some(reminders))
        .await?;
    Ok(see_other_with(
        &state,
        &here,
        "Your email choices are saved.",
    ))
}

fn unsubscribe_form(token: &str, what: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "Stop these emails?",
        format!("/unsubscribe/{token}"),
        "Turn them off",
    );
    f.intro.push(what.to_string());
    f
}

pub async fn unsubscribe_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    let u = state.services.unsubscribe_info(&token).await?;
    let what = format!(
        "{} will no longer get emails about \u{201c}{}\u{201d} in {} (App ID {}). Other emails are not affected.",
        u.email,
        u.kind.label(),
        u.app_name,
        u.app_id
    );
    render(
        &state,
        &headers,
        None,
        unsubscribe_form(&token, &what),
        None,
    )
}

/// The page's button and the one-click POST of RFC 8058 (a mail provider posts
/// `List-Unsubscribe=One-Click` with no cookie and no CSRF token: the link's token, which can
/// only turn this one kind off for this one admin, is the authority).
pub async fn unsubscribe_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(token): Path<String>,
) -> PageResult {
    let u = state.services.unsubscribe(&ctx, &token).await?;
    let mut f = unsubscribe_form(&token, "");
    f.title = "Done".into();
    f.intro.clear();
    f.done = Some(format!(
        "{} will no longer get emails about \u{201c}{}\u{201d} in {} (App ID {}).",
        u.email,
        u.kind.label(),
        u.app_name,
        u.app_id
    ));
    f.links.push((
        format!("/app/{}/admin/notifications", u.app_id),
        "Choose which emails you get".into(),
    ));
    render(&state, &headers, None, f, None)
}

fn correct_form(app: &str, id: &str, email: &str) -> FormSpec {
    let mut f = FormSpec::new(
        "Correct the address and send again",
        format!("/app/{app}/admin/invitations/{id}/correct"),
        "Send the invitation",
    );
    f.intro.push(
        "The invitation goes to this address with a new link; the old link stops working.".into(),
    );
    f.fields.push(
        Field::new("email", "Email", "email")
            .value(email)
            .auto("off"),
    );
    f.links
        .push((format!("/app/{app}/admin/users"), "Back to Users".into()));
    f
}

pub async fn correct_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
) -> PageResult {
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    let inv: InvitationId = id.parse()?;
    let i = state.services.get_invitation(&p, &app, inv).await?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let f = correct_form(app.as_str(), &id, i.email.as_str());
    render(&state, &headers, Some(nav), f, None)
}

#[derive(Deserialize)]
pub struct CorrectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn correct_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<CorrectForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    let inv: InvitationId = id.parse()?;
    match state
        .services
        .resend_to(&ctx, &p, &app, inv, &f.email)
        .await
    {
        Ok(i) => Ok(see_other_with(
            &state,
            &back,
            &format!("Invitation sent to {}.", i.invitation.email),
        )),
        Err(e) => {
            let nav = nav_for(&state, &p, Some(&app)).await?;
            let form = correct_form(app.as_str(), &id, &f.email);
            render(&state, &headers, Some(nav), form, Some(e))
        }
    }
}
