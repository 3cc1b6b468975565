//! Invitations journey (admin side): add a user, add a partner, and the invitation row
//! actions (resend, revoke, copy a fresh link).

use super::confirm::{Confirm, confirm_page};
use super::frame::{
    Csrf, CsrfForm, FieldErrors, Nav, Page, PageResult, app_id, check_csrf, form_outcome, nav_for,
    require_login, see_other_with,
};
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::service::InviteRequest;
use roster_core::types::{AppId, InvitationId, MemberKind};
use roster_core::{Ctx, Error, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/{app_id}/admin/users/add",
            get(add_user_page).post(add_user_submit),
        )
        .route(
            "/app/{app_id}/admin/partners/add",
            get(add_partner_page).post(add_partner_submit),
        )
        .route(
            "/app/{app_id}/admin/invitations/{id}/revoke",
            get(confirm_revoke).post(revoke),
        )
        .route(
            "/app/{app_id}/admin/invitations/{id}/{action}",
            post(invitation_action),
        )
}

#[derive(Template)]
#[template(path = "add_member.html")]
struct AddMemberPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    partner: bool,
    email: String,
    first_name: String,
    last_name: String,
    admin: bool,
    errors: FieldErrors,
    problem: Option<String>,
    no_seat: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) email: String,
    #[serde(default)]
    pub(super) first_name: String,
    #[serde(default)]
    pub(super) last_name: String,
    #[serde(default)]
    pub(super) admin: String,
    #[serde(default)]
    pub(super) quantity: Option<String>,
}

pub(super) async fn add_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    app: &AppId,
    partner: bool,
    f: AddForm,
    err: Option<Error>,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let (errors, problem, no_seat, status) = match err {
        Some(Error::SeatUnavailable { total, .. }) => (
            FieldErrors::default(),
            None,
            Some(total),
            StatusCode::CONFLICT,
        ),
        other => {
            let (errors, problem, status) = form_outcome(other)?;
            (errors, problem, None, status)
        }
    };
    let t = AddMemberPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(state, p, Some(app)).await?),
        csrf: csrf.token.clone(),
        app_id: app.to_string(),
        partner,
        email: f.email,
        first_name: f.first_name,
        last_name: f.last_name,
        admin: f.admin == "yes",
        errors,
        problem,
        no_seat,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

pub async fn add_user_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app}/admin/users/add")).await?;
    let app = app_id(&app)?;
    state.services.require_admin(&p, &app).await?;
    add_page(&state, &headers, &p, &app, false, AddForm::default(), None).await
}

pub async fn add_partner_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app}/admin/partners/add")).await?;
    let app = app_id(&app)?;
    state.services.require_admin(&p, &app).await?;
    add_page(&state, &headers, &p, &app, true, AddForm::default(), None).await
}

pub(super) async fn add_submit(
    state: AppState,
    headers: HeaderMap,
    rc: Ctx,
    app: String,
    f: AddForm,
    partner: bool,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/app/{app}/admin/users");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app)?;
    let c = rc.clone();
    let req = InviteRequest {
        email: f.email.clone(),
        first_name: (!partner).then(|| f.first_name.clone()),
        last_name: (!partner && !f.last_name.trim().is_empty()).then(|| f.last_name.clone()),
        admin: f.admin == "yes",
        kind: if partner {
            MemberKind::Partner
        } else {
            MemberKind::User
        },
    };
    match state.services.invite(&c, &p, &app, req).await {
        Ok(i) => Ok(see_other_with(
            &state,
            &format!("/app/{app}/admin/users"),
            &format!("Invitation sent to {}.", i.invitation.email),
        )),
        Err(e) => add_page(&state, &headers, &p, &app, partner, f, Some(e)).await,
    }
}

pub async fn add_user_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(app): Path<String>,
    Form(f): Form<AddForm>,
) -> PageResult {
    add_submit(state, headers, rc, app, f, false).await
}

pub async fn add_partner_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(app): Path<String>,
    Form(f): Form<AddForm>,
) -> PageResult {
    add_submit(state, headers, rc, app, f, true).await
}

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    email: String,
    link: String,
}

pub async fn invitation_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path((app_raw, id, action)): Path<(String, String, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    let id: InvitationId = id.parse()?;
    let c = rc.clone();
    let done = match action.as_str() {
        "resend" => {
            let i = state.services.resend(&c, &p, &app, id).await?;
            format!("Invitation sent again to {}.", i.invitation.email)
        }
        "link" => {
            // shown once, in the answer, never in a URL
            let i = state.services.new_link(&c, &p, &app, id).await?;
            let csrf = Csrf::of(&headers, &state);
            let t = LinkPage {
                product: &state.services.settings().product_name,
                nav: Some(nav_for(&state, &p, Some(&app)).await?),
                csrf: csrf.token.clone(),
                app_id: app.to_string(),
                email: i.invitation.email.to_string(),
                link: state.accept_url(&i.token),
            };
            return Ok(Page::new(&t, &csrf)?.into_response());
        }
        _ => return Err(Error::NotFound.into()),
    };
    Ok(see_other_with(&state, &back, &done))
}

/// The invitation of the Users row, for its confirmation page.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
) -> PageResult {
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    let id: InvitationId = id.parse()?;
    let i = state.services.get_invitation(&p, &app, id).await?;
    let c = Confirm {
        question: format!("Revoke the invitation to {}?", i.email),
        explain: format!(
            "The link sent to {} stops working at once{}. You can invite them again later.",
            i.email,
            if i.kind == MemberKind::User {
                " and its seat is freed"
            } else {
                ""
            }
        ),
        action: format!("/app/{app}/admin/invitations/{id}/revoke"),
        button: "Revoke invitation".into(),
        back,
        records_to: None,
    };
    confirm_page(&state, &headers, nav_for(&state, &p, Some(&app)).await?, &c)
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    let id: InvitationId = id.parse()?;
    state.services.revoke(&c, &p, &app, id).await?;
    Ok(see_other_with(&state, &back, "The invitation was revoked."))
}
