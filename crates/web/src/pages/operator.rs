//! Journey J8, the operator console at `/operator`: find an app (App ID, name, a member's
//! email), its page (seats, ledger, members, invitations, seat requests, audit), the queue of
//! seat requests across apps (grant or decline), grant seats, suspend and resume, an ID's page
//! (unlock, end sessions, reset second factors), and create an app. Only operators with
//! two-step verification get in; anyone else gets 404.

use super::frame::{
    Csrf, MessagePage, Nav, Page, PageError, PageResult, app_id, check_csrf, nav_for,
    require_login, see_other_with, urlencode,
};
use super::when::viewer_zone;
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::model::{SeatEntryKind, SeatRequestStatus};
use roster_core::service::{CreateApp, OperatorAccess, SeatAnswer};
use roster_core::types::{MemberKind, MemberStatus, SeatRequestId};
use roster_core::{Error, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator", get(console))
        .route("/operator/apps", post(create_app))
        .route("/operator/apps/{app_id}", get(app_page))
        .route("/operator/apps/{app_id}/seats", post(grant_seats))
        .route("/operator/apps/{app_id}/suspension", post(suspension))
        .route("/operator/seat-requests/{id}", post(answer))
        .route("/operator/ids", get(id_page))
        .route("/operator/ids/action", post(id_action))
        .merge(super::operator_join::routes())
        .merge(super::operator_clients::routes())
}

/// The operator, or 404 (and a page saying what to do when two-step verification is missing).
pub(super) async fn operator(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Principal, PageError> {
    let p = require_login(state, headers, here).await?;
    match state.services.operator_access(&p).await? {
        OperatorAccess::Yes => Ok(p),
        OperatorAccess::NeedsTwoStep => Err(PageError::Info(
            axum::http::StatusCode::FORBIDDEN,
            super::frame::ErrorInfo {
                title: "Set up two-step verification first".into(),
                message: "The operator console opens only to IDs with two-step verification, \
                          used at this login. Set it up, log out and log in again with your \
                          second step, then come back."
                    .into(),
                link: Some((
                    "/account/two-step".into(),
                    "Set up two-step verification".into(),
                )),
            },
        )),
        OperatorAccess::UseSecondStep => Err(PageError::Info(
            axum::http::StatusCode::FORBIDDEN,
            super::frame::ErrorInfo {
                title: "Use your second step to open the console".into(),
                message: "You logged in without your second step: this browser is trusted, so \
                          it was not asked. The operator console needs it at every login. \
                          Forget trusted browsers, log out and log in again with your second \
                          step, then come back."
                    .into(),
                link: Some(("/account/two-step".into(), "Forget trusted browsers".into())),
            },
        )),
        OperatorAccess::No => Err(Error::NotFound.into()),
    }
}

struct AppRow {
    app_id: String,
    name: String,
    seats: String,
}

struct QueueRow {
    id: String,
    app_id: String,
    app_name: String,
    quantity: i64,
    asked: String,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct ConsolePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    q: String,
    apps: Vec<AppRow>,
    queue: Vec<QueueRow>,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn console(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(s): Query<SearchQuery>,
) -> PageResult {
    let p = operator(&state, &headers, "/operator").await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    let apps = state
        .services
        .operator_find_apps(Some(&p), s.q.as_deref())
        .await?
        .into_iter()
        .map(|a| AppRow {
            seats: format!("{} of {} seats held", a.seats_held, a.seats_total()),
            app_id: a.app_id.to_string(),
            name: a.name,
        })
        .collect();
    let queue = state
        .services
        .operator_seat_queue(&p)
        .await?
        .into_iter()
        .map(|(r, a)| QueueRow {
            id: r.id.to_string(),
            app_id: a.app_id.to_string(),
            app_name: a.name,
            quantity: r.quantity,
            asked: zone.format(r.created_at),
        })
        .collect();
    let csrf = Csrf::of(&headers, &state);
    let t = ConsolePage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        q: s.q.unwrap_or_default(),
        apps,
        queue,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

struct MemberRow {
    email: String,
    name: String,
    role: &'static str,
    status: &'static str,
}

struct LedgerRow {
    at: String,
    /// "+3"
    change: String,
    who: String,
    why: String,
}

struct RequestRow {
    id: String,
    quantity: i64,
    asked: String,
    outcome: String,
    pending: bool,
}

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    target: String,
}

#[derive(Template)]
#[template(path = "operator_app.html")]
struct AppPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    name: String,
    purchased: i64,
    complimentary: i64,
    total: i64,
    held: i64,
    suspended: Option<String>,
    ledger: Vec<LedgerRow>,
    members: Vec<MemberRow>,
    requests: Vec<RequestRow>,
    audit: Vec<AuditRow>,
}

async fn app_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
) -> PageResult {
    let p = operator(&state, &headers, &format!("/operator/apps/{raw}")).await?;
    let a = app_id(&raw)?;
    let v = state.services.operator_app(&ctx, &p, &a).await?;
    let zone = viewer_zone(&state, &headers, &p).await;
    let csrf = Csrf::of(&headers, &state);
    let t = AppPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        app_id: v.app.app_id.to_string(),
        name: v.app.name.clone(),
        purchased: v.summary.purchased,
        complimentary: v.summary.complimentary,
        total: v.summary.total,
        held: v.summary.used,
        suspended: v.suspended_at.map(|t| zone.format(t)),
        ledger: v
            .ledger
            .iter()
            .map(|l| LedgerRow {
                at: zone.format(l.entry.at),
                change: format!("{:+}", l.entry.quantity),
                who: l.who.clone(),
                why: l.why.clone(),
            })
            .collect(),
        members: v
            .members
            .iter()
            .map(|m| MemberRow {
                email: m.email.to_string(),
                name: m.first_name.clone().unwrap_or_default(),
                role: match (m.admin, m.kind) {
                    (true, _) => "Admin",
                    (false, MemberKind::Partner) => "Partner",
                    _ => "User",
                },
                status: match m.status {
                    MemberStatus::Active => "Active",
                    MemberStatus::Invited => "Invited",
                    MemberStatus::Inactive => "Inactive",
                    _ => "Other",
                },
            })
            .collect(),
        requests: v
            .seat_requests
            .iter()
            .map(|r| RequestRow {
                id: r.id.to_string(),
                quantity: r.quantity,
                asked: zone.format(r.created_at),
                outcome: match (r.status, r.granted_quantity) {
                    (SeatRequestStatus::Granted, Some(q)) => format!("granted {q}"),
                    (s, _) => s.as_str().to_string(),
                },
                pending: r.status == SeatRequestStatus::Pending,
            })
            .collect(),
        audit: v
            .audit
            .iter()
            .map(|e| AuditRow {
                at: zone.format(e.at),
                actor: e.actor_label.clone(),
                action: e.action.clone(),
                target: e.target.clone().unwrap_or_default(),
            })
            .collect(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
struct SeatsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    quantity: String,
    note: Option<String>,
}

fn quantity(raw: &str) -> Result<i64, PageError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("quantity", "Give a number of seats.").into())
}

async fn grant_seats(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
    Form(f): Form<SeatsForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/operator/apps/{raw}");
    let p = operator(&state, &headers, &here).await?;
    let a = app_id(&raw)?;
    let q = quantity(&f.quantity)?;
    state
        .services
        .operator_grant_seats(&ctx, &p, &a, q, f.note.as_deref())
        .await?;
    Ok(see_other_with(
        &state,
        &here,
        &format!("{q} complimentary seats added."),
    ))
}

#[derive(Deserialize)]
struct SuspensionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    suspend: String,
}

async fn suspension(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
    Form(f): Form<SuspensionForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/operator/apps/{raw}");
    let p = operator(&state, &headers, &here).await?;
    let a = app_id(&raw)?;
    let suspend = f.suspend == "yes";
    state
        .services
        .set_app_suspended(&ctx, Some(&p), &a, suspend)
        .await?;
    let said = if suspend {
        "The app is suspended."
    } else {
        "The app is resumed."
    };
    Ok(see_other_with(&state, &here, said))
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    quantity: String,
    note: Option<String>,
    /// Where to go back to (the queue or the app's page).
    back: Option<String>,
}

async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
    Form(f): Form<AnswerForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = operator(&state, &headers, "/operator").await?;
    let a = app_id(&f.app_id)?;
    let id: SeatRequestId = raw.parse().map_err(|_| Error::NotFound)?;
    let answer = match f.decision.as_str() {
        "grant" => SeatAnswer::Grant {
            quantity: if f.quantity.trim().is_empty() {
                None
            } else {
                Some(quantity(&f.quantity)?)
            },
            kind: SeatEntryKind::Complimentary,
        },
        "decline" => SeatAnswer::Decline,
        _ => return Err(Error::invalid("decision", "Grant or decline.").into()),
    };
    let (_, r) = state
        .services
        .answer_seat_request(&ctx, Some(&p), &a, id, answer, f.note.as_deref())
        .await?;
    let back = match f.back.as_deref() {
        Some("app") => format!("/operator/apps/{a}"),
        _ => "/operator".to_string(),
    };
    let said = match r.granted_quantity {
        Some(q) => format!("Granted {q} seats to {a}; the admin was emailed."),
        None => format!("Declined the request of {a}; the admin was emailed."),
    };
    Ok(see_other_with(&state, &back, &said))
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    seats: String,
    #[serde(default)]
    admin_email: String,
    #[serde(default)]
    admin_first_name: String,
}

async fn create_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<CreateForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = operator(&state, &headers, "/operator").await?;
    let seats = f
        .seats
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("seats", "Give a number of seats."))?;
    let (app, _) = state
        .services
        .support_create_app(
            &ctx,
            &p,
            CreateApp {
                name: f.name,
                seats,
                admin_email: f.admin_email,
                admin_first_name: f.admin_first_name,
                admin_last_name: None,
            },
        )
        .await?;
    Ok(see_other_with(
        &state,
        &format!("/operator/apps/{}", app.app_id),
        "App created; its admin was invited.",
    ))
}

#[derive(Template)]
#[template(path = "operator_id.html")]
struct IdPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    email: String,
    name: String,
    locked: bool,
    two_step: bool,
    apps: Vec<AppRow>,
}

#[derive(Deserialize)]
struct IdQuery {
    email: Option<String>,
}

async fn id_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Query(q): Query<IdQuery>,
) -> PageResult {
    let email = q.email.unwrap_or_default();
    let here = format!("/operator/ids?email={}", urlencode(&email));
    let p = operator(&state, &headers, &here).await?;
    let csrf = Csrf::of(&headers, &state);
    let v = match state.services.operator_id(&ctx, Some(&p), &email).await {
        Ok(v) => v,
        Err(Error::NotFound) => {
            let t = MessagePage {
                product: &state.services.settings().product_name,
                nav: Some(nav_for(&state, &p, None).await?),
                csrf: csrf.token.clone(),
                title: "No such ID".into(),
                message: format!("No ID has the email {email:?}."),
                link: Some(("/operator".into(), "Back to the console".into())),
            };
            return Ok(Page::new(&t, &csrf)?
                .status(axum::http::StatusCode::NOT_FOUND)
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let t = IdPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        email: v.identity.email.to_string(),
        name: match &v.identity.last_name {
            Some(l) => format!("{} {l}", v.identity.first_name),
            None => v.identity.first_name.clone(),
        },
        locked: v.locked,
        two_step: v.two_step,
        apps: v
            .apps
            .into_iter()
            .map(|(a, m)| AppRow {
                seats: if m.admin {
                    "Admin".into()
                } else {
                    "User".into()
                },
                app_id: a.app_id.to_string(),
                name: a.name,
            })
            .collect(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
struct IdActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    action: String,
}

async fn id_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<IdActionForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/operator/ids?email={}", urlencode(&f.email));
    let p = operator(&state, &headers, &here).await?;
    let s = &state.services;
    let said = match f.action.as_str() {
        "unlock" => {
            s.operator_unlock(&ctx, Some(&p), &f.email).await?;
            "The ID is unlocked.".to_string()
        }
        "end-sessions" => {
            let n = s.operator_end_sessions(&ctx, Some(&p), &f.email).await?;
            format!("{n} sessions ended.")
        }
        "reset-two-step" => {
            s.support_reset_two_step(&ctx, &p, &f.email).await?;
            "Its second steps were removed; the owner was told by email.".to_string()
        }
        _ => return Err(Error::invalid("action", "Unknown action.").into()),
    };
    Ok(see_other_with(&state, &here, &said))
}
