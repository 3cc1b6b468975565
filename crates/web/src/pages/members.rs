//! Members journey: Admin > Users, the members list (a table on a laptop, one card per member
//! on a phone). The row actions are in [`super::member_actions`].

use super::frame::{Csrf, Nav, Page, PageResult, app_id, nav_for, require_login, urlencode};
use super::when::viewer_zone;
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use roster_core::Ctx;
use roster_core::model::{MemberFilter, MemberQuery};
use roster_core::types::{MemberKind, MemberStatus};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/app/{app_id}/admin/users", get(users))
}

struct UserRow {
    id: String,
    name: String,
    email: String,
    admin: bool,
    partner: bool,
    /// "User", "Admin", "Partner", "Partner · Admin".
    role: &'static str,
    /// Not for the app's last Active admin.
    can_remove_admin: bool,
    can_deactivate: bool,
    status: String,
    status_label: String,
    last_login: String,
    invitation: Option<String>,
    /// What became of the invitation email ("delivered", "undeliverable: …").
    delivery: Option<(String, String)>,
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
    pending_requests: Vec<String>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    filter: Option<String>,
    q: Option<String>,
    after: Option<String>,
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
    let ids: Vec<_> = invitations.iter().map(|i| i.id).collect();
    let deliveries = state.services.invitation_deliveries(&p, &app, &ids).await?;
    let last_admin = state.services.count_active_admins(&p, &app).await? <= 1;
    let zone = viewer_zone(&state, &headers, &p).await;
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
            let name = [m.first_name.as_deref(), m.last_name.as_deref()]
                .into_iter()
                .flatten()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let partner = m.kind == MemberKind::Partner;
            // the last Active admin cannot be demoted or deactivated: not offered
            let last = m.admin && m.status == MemberStatus::Active && last_admin;
            UserRow {
                id: m.id.to_string(),
                name: if name.is_empty() {
                    m.email.to_string()
                } else {
                    name
                },
                email: m.email.to_string(),
                admin: m.admin,
                partner,
                role: match (partner, m.admin) {
                    (true, true) => "Partner · Admin",
                    (true, false) => "Partner",
                    (false, true) => "Admin",
                    (false, false) => "User",
                },
                can_remove_admin: m.admin && !last,
                can_deactivate: m.status == MemberStatus::Active && !last,
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
                    .map(|t| zone.format(t))
                    .unwrap_or_else(|| "—".into()),
                invitation: inv.map(|i| i.id.to_string()),
                delivery: inv
                    .and_then(|i| deliveries.iter().find(|(id, _)| *id == i.id))
                    .map(|(_, d)| delivery_label(d, &zone)),
            }
        })
        .collect();
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
    let csrf = Csrf::of(&headers, &state);
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

/// The invitation email's state as the Users page shows it: (css state, words).
fn delivery_label(d: &roster_core::model::Delivery, zone: &super::when::Zone) -> (String, String) {
    use roster_core::model::Delivery;
    let words = match d {
        Delivery::Queued => "Email queued".to_string(),
        Delivery::Delivered { .. } => "Email delivered".to_string(),
        Delivery::Retrying {
            next_attempt_at,
            error,
        } => format!(
            "Email retrying (next try at {}): {error}",
            zone.format(*next_attempt_at)
        ),
        Delivery::Undeliverable { error } => format!("Email undeliverable: {error}"),
    };
    (d.state().to_string(), words)
}
