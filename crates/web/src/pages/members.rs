//! Members journey: Admin > Users (the members list), member row actions (admin flag,
//! deactivate, reactivate) and the deactivation confirmation.

use super::frame::{
    Csrf, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login, see_other, urlencode,
};
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::model::{MemberFilter, MemberQuery};
use roster_core::service::StatusChange;
use roster_core::types::{MemberId, MemberKind, MemberStatus};
use roster_core::{Ctx, Error};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/admin/users", get(users))
        .route(
            "/app/{app_id}/admin/members/{id}/deactivate",
            get(confirm_deactivate),
        )
        .route(
            "/app/{app_id}/admin/members/{id}/{action}",
            post(member_action),
        )
}

struct UserRow {
    id: String,
    name: String,
    email: String,
    admin: bool,
    partner: bool,
    status: String,
    status_label: String,
    last_login: String,
    invitation: Option<String>,
}

struct SeatLine {
    used: i64,
    total: i64,
    available: i64,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    seats: SeatLine,
    filter: String,
    q: String,
    members: Vec<UserRow>,
    next_page: Option<String>,
    notice: Option<String>,
    pending_requests: Vec<String>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    filter: Option<String>,
    q: Option<String>,
    after: Option<String>,
    sent: Option<String>,
    done: Option<String>,
}

pub async fn users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app): Path<String>,
    Query(uq): Query<UsersQuery>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app}/admin/users")).await?;
    let app = app_id(&app)?;
    let c = Ctx::at(state.now());
    let seats = state.services.seat_summary(&c, &p, &app).await?;
    let (filter, fname) = match uq.filter.as_deref() {
        Some("inactive") => (MemberFilter::Inactive, "inactive"),
        Some("partners") => (MemberFilter::Partners, "partners"),
        _ => (MemberFilter::ActiveInvited, "active_invited"),
    };
    let limit = 50;
    let members = state
        .services
        .list_members(
            &p,
            &app,
            &MemberQuery {
                filter,
                search: uq.q.clone(),
                after: uq.after.clone(),
                limit,
            },
        )
        .await?;
    // the current invitation of each invited member on this page (resend / copy / revoke)
    let invitations = state
        .services
        .current_invitations(&p, &app, &members)
        .await?;
    let next_page = (members.len() as u32 == limit)
        .then(|| members.last().map(|m| m.email.normalized().to_string()))
        .flatten()
        .map(|after| {
            format!(
                "?filter={fname}&q={}&after={}",
                urlencode(uq.q.as_deref().unwrap_or("")),
                urlencode(&after)
            )
        });
    let rows = members
        .into_iter()
        .map(|m| {
            let inv = invitations.iter().find(|i| i.member_id == m.id);
            let expired = inv.is_some_and(|i| {
                i.effective_status(c.now) == roster_core::model::InvitationStatus::Expired
            });
            UserRow {
                id: m.id.to_string(),
                name: [m.first_name.as_deref(), m.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                email: m.email.to_string(),
                admin: m.admin,
                partner: m.kind == MemberKind::Partner,
                status: m.status.as_str().into(),
                status_label: match (m.status, expired) {
                    (MemberStatus::Invited, true) => "Invited (expired)".into(),
                    (MemberStatus::Invited, false) => "Invited".into(),
                    (MemberStatus::Active, _) => "Active".into(),
                    (MemberStatus::Inactive, _) => "Inactive".into(),
                    (MemberStatus::Removed, _) => "Removed".into(),
                },
                last_login: m
                    .last_login_at
                    .map(|t| {
                        t.format(&time::macros::format_description!(
                            "[year]-[month]-[day] [hour]:[minute] UTC"
                        ))
                        .unwrap_or_default()
                    })
                    .unwrap_or_else(|| "—".into()),
                invitation: inv.map(|i| i.id.to_string()),
            }
        })
        .collect();
    let notice = match (uq.sent, uq.done) {
        (Some(email), _) => Some(format!("Invitation sent to {email}.")),
        (None, Some(d)) => Some(d),
        _ => None,
    };
    let pending_requests = state
        .services
        .list_seat_requests(&p, &app)
        .await?
        .iter()
        .filter(|r| {
            r.decided_at
                .is_none_or(|d| state.now() - d < time::Duration::days(30))
        })
        .map(seat_request_line)
        .collect();
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let t = UsersPage {
        pending_requests,
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, Some(&app)).await?),
        csrf: csrf.token.clone(),
        app_id: app.to_string(),
        seats: SeatLine {
            used: seats.used,
            total: seats.total,
            available: seats.available,
        },
        filter: fname.into(),
        q: uq.q.unwrap_or_default(),
        members: rows,
        next_page,
        notice,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    admin: String,
    #[serde(default)]
    records_to: String,
}

pub async fn member_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path((app_raw, id, action)): Path<(String, String, String)>,
    Form(f): Form<AdminForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    let id: MemberId = id.parse()?;
    let c = rc.clone();
    let done = match action.as_str() {
        "admin" => {
            let m = state
                .services
                .set_admin(&c, &p, &app, id, f.admin == "true")
                .await?;
            format!(
                "{} is {}.",
                m.email,
                if m.admin {
                    "now an admin"
                } else {
                    "no longer an admin"
                }
            )
        }
        "deactivate" => {
            let to = if f.records_to.is_empty() {
                None
            } else {
                Some(f.records_to.parse::<MemberId>()?)
            };
            let m = state
                .services
                .set_status(&c, &p, &app, id, StatusChange::Deactivate, to)
                .await?;
            format!("{} was deactivated.", m.email)
        }
        "reactivate" => {
            let m = state
                .services
                .set_status(&c, &p, &app, id, StatusChange::Reactivate, None)
                .await?;
            format!("{} was reactivated.", m.email)
        }
        _ => return Err(Error::NotFound.into()),
    };
    Ok(see_other(&format!("{back}?done={}", urlencode(&done))))
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    id: String,
    name: String,
    email: String,
    others: Vec<(String, String)>,
}

pub async fn confirm_deactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/admin/users")).await?;
    let app = app_id(&app_raw)?;
    let id: MemberId = id.parse()?;
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
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let t = ConfirmPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, Some(&app)).await?),
        csrf: csrf.token.clone(),
        app_id: app.to_string(),
        id: m.id.to_string(),
        name: m.first_name.clone().unwrap_or_else(|| m.email.to_string()),
        email: m.email.to_string(),
        others,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

/// One seat request as the Users page lists it: what was asked, then its outcome.
fn seat_request_line(r: &roster_core::model::SeatRequest) -> String {
    use roster_core::model::SeatRequestStatus;
    let day = |t: time::OffsetDateTime| {
        t.format(&time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap_or_default()
    };
    let seats = |n: i64| format!("{n} seat{}", if n == 1 { "" } else { "s" });
    let asked = format!("{} asked on {}", seats(r.quantity), day(r.created_at));
    match (r.status, r.decided_at) {
        (SeatRequestStatus::Granted, Some(d)) => format!(
            "{asked} — granted: {} on {}",
            seats(r.granted_quantity.unwrap_or(r.quantity)),
            day(d)
        ),
        (SeatRequestStatus::Declined, Some(d)) => format!("{asked} — declined on {}", day(d)),
        _ => format!("{asked} — pending"),
    }
}
