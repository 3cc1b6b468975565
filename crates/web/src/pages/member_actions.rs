//! Members journey, row actions: make admin, remove admin (confirmed), deactivate (confirmed,
//! asks who receives the records), reactivate. Each ends with a redirect to Users and a flash.

use super::confirm::{Confirm, confirm_page};
use super::frame::{PageResult, app_id, check_csrf, nav_for, require_login, see_other_with};
use crate::AppState;
use crate::extract::RequestCtx;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::model::{Member, MemberFilter, MemberQuery};
use roster_core::service::StatusChange;
use roster_core::types::{MemberId, MemberStatus};
use roster_core::{Error, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/{app_id}/admin/members/{id}/deactivate",
            get(confirm_deactivate).post(deactivate),
        )
        .route(
            "/app/{app_id}/admin/members/{id}/remove-admin",
            get(confirm_remove_admin).post(remove_admin),
        )
        .route("/app/{app_id}/admin/members/{id}/admin", post(set_admin))
        .route(
            "/app/{app_id}/admin/members/{id}/reactivate",
            post(reactivate),
        )
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    admin: String,
    #[serde(default)]
    records_to: String,
}

fn users_of(app: &str) -> String {
    format!("/app/{app}/admin/users")
}

fn display(m: &Member) -> String {
    let name = [m.first_name.as_deref(), m.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        m.email.to_string()
    } else {
        name
    }
}

/// Log in, parse the address, check the form's token.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    app_raw: &str,
    id: &str,
    csrf: Option<&str>,
) -> Result<(Principal, roster_core::types::AppId, MemberId), super::PageError> {
    if let Some(sent) = csrf {
        check_csrf(state, headers, sent)?;
    }
    let p = require_login(state, headers, &users_of(app_raw)).await?;
    let app = app_id(app_raw)?;
    let id: MemberId = id.parse().map_err(|_| Error::NotFound)?;
    Ok((p, app, id))
}

pub async fn set_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    let (p, app, id) = begin(&state, &headers, &app_raw, &id, Some(&f.csrf)).await?;
    let m = state
        .services
        .set_admin(&c, &p, &app, id, f.admin == "true")
        .await?;
    let done = if m.admin {
        format!("{} is now an admin.", m.email)
    } else {
        format!("{} is no longer an admin.", m.email)
    };
    Ok(see_other_with(&state, &users_of(&app_raw), &done))
}

pub async fn confirm_remove_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
) -> PageResult {
    let (p, app, id) = begin(&state, &headers, &app_raw, &id, None).await?;
    let m = state.services.get_member(&p, &app, id).await?;
    let name = display(&m);
    let c = Confirm {
        question: format!("Remove admin rights from {name}?"),
        explain: format!(
            "{name} ({}) stays a member of this app but can no longer manage its users and seats.",
            m.email
        ),
        action: format!("/app/{app}/admin/members/{}/remove-admin", m.id),
        button: "Remove admin".into(),
        back: users_of(&app_raw),
        records_to: None,
    };
    confirm_page(&state, &headers, nav_for(&state, &p, Some(&app)).await?, &c)
}

pub async fn remove_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    let (p, app, id) = begin(&state, &headers, &app_raw, &id, Some(&f.csrf)).await?;
    let m = state.services.set_admin(&c, &p, &app, id, false).await?;
    let done = format!("{} is no longer an admin.", m.email);
    Ok(see_other_with(&state, &users_of(&app_raw), &done))
}

pub async fn confirm_deactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
) -> PageResult {
    let (p, app, id) = begin(&state, &headers, &app_raw, &id, None).await?;
    let m = state.services.get_member(&p, &app, id).await?;
    let others = state
        .services
        .list_members(
            &p,
            &app,
            &MemberQuery {
                filter: MemberFilter::ActiveInvited,
                search: None,
                after: None,
                limit: 200,
            },
        )
        .await?
        .into_iter()
        .filter(|o| o.id != m.id && o.status == MemberStatus::Active)
        .map(|o| (o.id.to_string(), o.email.to_string()))
        .collect();
    let name = display(&m);
    let c = Confirm {
        question: format!("Deactivate {name}?"),
        explain: format!(
            "{name} ({}) loses access to this app at once and their seat is freed. You can reactivate them later if a seat is free.",
            m.email
        ),
        action: format!("/app/{app}/admin/members/{}/deactivate", m.id),
        button: "Deactivate".into(),
        back: users_of(&app_raw),
        records_to: Some(others),
    };
    confirm_page(&state, &headers, nav_for(&state, &p, Some(&app)).await?, &c)
}

pub async fn deactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    let (p, app, id) = begin(&state, &headers, &app_raw, &id, Some(&f.csrf)).await?;
    let to = if f.records_to.is_empty() {
        None
    } else {
        Some(f.records_to.parse::<MemberId>().map_err(|_| {
            Error::invalid(
                "records_to",
                "Choose an active member to receive the records.",
            )
        })?)
    };
    let m = state
        .services
        .set_status(&c, &p, &app, id, StatusChange::Deactivate, to)
        .await?;
    let done = format!("{} was deactivated.", m.email);
    Ok(see_other_with(&state, &users_of(&app_raw), &done))
}

pub async fn reactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    let (p, app, id) = begin(&state, &headers, &app_raw, &id, Some(&f.csrf)).await?;
    let m = state
        .services
        .set_status(&c, &p, &app, id, StatusChange::Reactivate, None)
        .await?;
    let done = format!("{} was reactivated.", m.email);
    Ok(see_other_with(&state, &users_of(&app_raw), &done))
}
