//! Server-rendered pages. Same rule as the API: parse → call a core service → render.
//! Every form carries a CSRF token (double-submit: a random `roster_csrf` cookie, SameSite=Strict,
//! that the form's hidden `csrf` field must match).

use crate::AppState;
use crate::api::session_cookie;
use crate::extract::{RequestCtx, SESSION_COOKIE, session_token};
use crate::problem::status_of;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use rand::RngCore;
use roster_core::model::{MemberFilter, MemberQuery};
use roster_core::service::{InviteRequest, NewIdentityForm, QuestionMode, StatusChange};
use roster_core::types::MemberStatus;
use roster_core::types::{AppId, InvitationId, MemberId, MemberKind, SecurityQuestion};
use roster_core::{Ctx, Error, FieldError, Principal};
use serde::Deserialize;

pub const CSRF_COOKIE: &str = "roster_csrf";

/// The CSRF token of this browser, and the cookie to set when it is new.
pub struct Csrf {
    pub token: String,
    set: Option<HeaderValue>,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().find_map(|v| {
        v.to_str().ok()?.split(';').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    })
}

impl Csrf {
    pub fn of(headers: &HeaderMap, secure: bool) -> Self {
        match cookie(headers, CSRF_COOKIE) {
            Some(token) if token.len() == 43 => Csrf { token, set: None },
            _ => {
                let mut b = [0u8; 32];
                rand::rng().fill_bytes(&mut b);
                let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
                let s = if secure { "; Secure" } else { "" };
                let set = HeaderValue::from_str(&format!(
                    "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{s}"
                ))
                .ok();
                Csrf { token, set }
            }
        }
    }
}

/// Refuse a form whose token does not match this browser's cookie.
fn check_csrf(headers: &HeaderMap, sent: &str) -> Result<(), PageError> {
    match cookie(headers, CSRF_COOKIE) {
        Some(c) if !sent.is_empty() && c == sent => Ok(()),
        _ => Err(PageError::Csrf),
    }
}

/// Field errors of a refused form, shown next to their fields.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn for_field(&self, field: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.clone())
            .collect()
    }
}

/// How a form page shows a refused submission: field errors, or one message, and the status.
/// Failures that are not about the form (storage, not found) become an error page.
fn form_outcome(
    err: Option<Error>,
) -> Result<(FieldErrors, Option<String>, StatusCode), PageError> {
    match err {
        None => Ok((FieldErrors::default(), None, StatusCode::OK)),
        Some(Error::Invalid(e)) => Ok((FieldErrors(e), None, StatusCode::UNPROCESSABLE_ENTITY)),
        Some(e @ (Error::Store(_) | Error::Internal(_) | Error::NotFound)) => Err(e.into()),
        Some(e) => {
            let status = status_of(&e);
            let msg = match &e {
                Error::InvalidCredentials => "The password is wrong, or the ID is locked for a few minutes after too many attempts.".to_string(),
                other => friendly(other).1,
            };
            Ok((FieldErrors::default(), Some(msg), status))
        }
    }
}

/// What the page header shows.
pub struct Nav {
    pub email: String,
    pub app: Option<NavApp>,
}

pub struct NavApp {
    pub app_id: String,
    pub name: String,
    pub admin: bool,
}

/// A rendered page plus the cookies it sets.
pub struct Page {
    status: StatusCode,
    html: String,
    cookies: Vec<HeaderValue>,
}

impl Page {
    fn new(t: &impl Template, csrf: &Csrf) -> Result<Page, PageError> {
        let html = t
            .render()
            .map_err(|e| PageError::Core(Error::Internal(format!("template: {e}"))))?;
        Ok(Page {
            status: StatusCode::OK,
            html,
            cookies: csrf.set.iter().cloned().collect(),
        })
    }
    fn status(mut self, s: StatusCode) -> Self {
        self.status = s;
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.html,
        )
            .into_response();
        for c in self.cookies {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
            ),
        );
        res
    }
}

/// One core error rendered as a friendly page.
pub enum PageError {
    Core(Error),
    Csrf,
    Login(String),
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError::Core(e)
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    title: String,
    message: String,
    link: Option<(String, String)>,
}

fn friendly(e: &Error) -> (&'static str, String) {
    match e {
        Error::NotFound => (
            "Not found",
            "There is nothing here, or you do not have access to it.".into(),
        ),
        Error::InvitationExpired => (
            "This invitation has expired",
            "Invitations are valid for a limited time. Ask an administrator of the app to resend it; the new email will have a fresh link.".into(),
        ),
        Error::InvitationRevoked => (
            "This invitation was revoked",
            "An administrator withdrew it. If you should have access, ask an administrator of the app to invite you again.".into(),
        ),
        Error::InvitationUsed => (
            "This invitation has already been used",
            "It has been accepted. Log in with your ID to reach the app.".into(),
        ),
        Error::InvitationReplaced => (
            "This link was replaced by a newer one",
            "The invitation was sent again. Use the link in the most recent email, or ask an administrator to resend it.".into(),
        ),
        Error::SeatUnavailable { total, .. } => (
            "No seat available",
            format!("All {total} seats of this app are in use."),
        ),
        Error::Store(_) | Error::Internal(_) => (
            "Something went wrong",
            "Something went wrong on our side. It has been logged; please try again.".into(),
        ),
        other => ("That did not work", other.to_string()),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login(next) => {
                Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
            }
            PageError::Csrf => message_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your security the form could not be accepted. Go back, reload the page and try again.",
                Some(("/".into(), "Start again".into())),
            ),
            PageError::Core(e) => {
                let (title, msg) = friendly(&e);
                let link = match &e {
                    Error::InvitationUsed => Some(("/login".to_string(), "Log in".to_string())),
                    _ => Some(("/".to_string(), "Home".to_string())),
                };
                if matches!(e, Error::Store(_) | Error::Internal(_)) {
                    tracing::error!(error = %e, "page failed");
                }
                message_page(status_of(&e), title, &msg, link)
            }
        }
    }
}

fn message_page(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(String, String)>,
) -> Response {
    let t = MessagePage {
        product: "Roster",
        nav: None,
        csrf: String::new(),
        title: title.into(),
        message: message.into(),
        link,
    };
    match t.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(_) => (status, title.to_string()).into_response(),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only local paths are followed after login (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/apps".into(),
    }
}

type PageResult = Result<Response, PageError>;

async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, PageError> {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers.clone();
    let Some(token) = session_token(&parts) else {
        return Ok(None);
    };
    match state
        .services
        .authenticate(&Ctx::at(state.now()), &token)
        .await
    {
        Ok(p) => Ok(Some(p)),
        Err(Error::Unauthenticated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn require_login(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Principal, PageError> {
    principal(state, headers)
        .await?
        .ok_or_else(|| PageError::Login(here.to_string()))
}

async fn nav_for(state: &AppState, p: &Principal, app: Option<&AppId>) -> Result<Nav, PageError> {
    let app = match app {
        Some(a) => {
            let m = state.services.require_member(p, a).await?;
            let me = state.services.me(p).await?;
            let name = me
                .apps
                .iter()
                .find(|(x, _)| &x.app_id == a)
                .map(|(x, _)| x.name.clone())
                .unwrap_or_default();
            Some(NavApp {
                app_id: a.to_string(),
                name,
                admin: m.admin,
            })
        }
        None => None,
    };
    Ok(Nav {
        email: p.email.to_string(),
        app,
    })
}

fn app_id(raw: &str) -> Result<AppId, PageError> {
    AppId::parse(raw).map_err(|_| PageError::Core(Error::NotFound))
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn with_cookie(mut res: Response, c: HeaderValue) -> Response {
    res.headers_mut().append(header::SET_COOKIE, c);
    res
}

// ---------------------------------------------------------------------------- home and login

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    match principal(&state, &headers).await? {
        Some(_) => Ok(see_other("/apps")),
        None => Ok(see_other("/login")),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let t = LoginPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Form(f): Form<LoginForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    let app = next
        .strip_prefix("/app/")
        .and_then(|r| r.split('/').next())
        .and_then(|a| AppId::parse(a).ok());
    let c = rc.clone();
    match state
        .services
        .login(&c, &f.email, &f.password, app.as_ref())
        .await
    {
        Ok(li) => Ok(with_cookie(see_other(&next), session_cookie(&state, &li))),
        Err(Error::InvalidCredentials) => {
            let csrf = Csrf::of(&headers, state.secure_cookies);
            let t = LoginPage {
                product: &state.services.settings().product_name,
                nav: None,
                csrf: csrf.token.clone(),
                next,
                email: f.email,
                error: Some("The email or password is wrong, or the ID is locked for a few minutes after too many attempts.".into()),
            };
            Ok(Page::new(&t, &csrf)?
                .status(StatusCode::UNAUTHORIZED)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers.clone();
    if let Some(t) = session_token(&parts) {
        state.services.logout(&t).await?;
    }
    let s = if state.secure_cookies { "; Secure" } else { "" };
    let clear = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{s}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""));
    let to = match f.next.as_deref() {
        Some(n) => safe_next(Some(n)),
        None => "/login".into(),
    };
    Ok(with_cookie(see_other(&to), clear))
}

// ---------------------------------------------------------------------------- apps

struct AppRow {
    app_id: String,
    name: String,
    admin: bool,
    partner: bool,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    apps: Vec<AppRow>,
}

pub async fn apps(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = require_login(&state, &headers, "/apps").await?;
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let me = state.services.me(&p).await?;
    let t = AppsPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(&state, &p, None).await?),
        csrf: csrf.token.clone(),
        apps: me
            .apps
            .into_iter()
            .map(|(a, m)| AppRow {
                app_id: a.app_id.to_string(),
                name: a.name,
                admin: m.admin,
                partner: m.kind == MemberKind::Partner,
            })
            .collect(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Template)]
#[template(path = "app_home.html")]
struct AppHome<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    first_name: String,
    app_name: String,
    app_id: String,
    admin: bool,
}

pub async fn app_home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app}")).await?;
    let app = app_id(&app)?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let (app_name, admin) = nav
        .app
        .as_ref()
        .map(|a| (a.name.clone(), a.admin))
        .unwrap_or_default();
    let t = AppHome {
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

// ---------------------------------------------------------------------------- admin > users

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
        .into_iter()
        .filter(|r| r.status == roster_core::model::SeatRequestStatus::Pending)
        .map(|r| {
            format!(
                "{} seat{} asked on {}",
                r.quantity,
                if r.quantity == 1 { "" } else { "s" },
                r.created_at
                    .format(&time::macros::format_description!("[year]-[month]-[day]"))
                    .unwrap_or_default()
            )
        })
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
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    admin: String,
    #[serde(default)]
    quantity: Option<String>,
}

async fn add_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    app: &AppId,
    partner: bool,
    f: AddForm,
    err: Option<Error>,
) -> PageResult {
    let csrf = Csrf::of(headers, state.secure_cookies);
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

async fn add_submit(
    state: AppState,
    headers: HeaderMap,
    rc: Ctx,
    app: String,
    f: AddForm,
    partner: bool,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
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
        Ok(i) => Ok(see_other(&format!(
            "/app/{app}/admin/users?sent={}",
            urlencode(i.invitation.email.as_str())
        ))),
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

/// Buy seats, then send the invitation that was refused, with no retyping.
pub async fn buy_and_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<AddForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/admin/users")).await?;
    let app = app_id(&app_raw)?;
    let c = rc.clone();
    let qty = f
        .quantity
        .as_deref()
        .unwrap_or("1")
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("quantity", "Enter a number of seats."));
    let qty = match qty {
        Ok(q) => q,
        Err(e) => return add_page(&state, &headers, &p, &app, false, f, Some(e)).await,
    };
    if let Err(e) = state.services.buy_seats(&c, &p, &app, qty).await {
        return add_page(&state, &headers, &p, &app, false, f, Some(e)).await;
    }
    add_submit(state, headers, rc, app_raw, f, false).await
}

pub async fn request_seat(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let back = format!("/app/{app_raw}/admin/users");
    let p = require_login(&state, &headers, &back).await?;
    let app = app_id(&app_raw)?;
    state.services.request_seats(&c, &p, &app, 1).await?;
    let done = "Your request for a complimentary seat was sent to support. It is listed as pending until support answers.";
    Ok(see_other(&format!("{back}?done={}", urlencode(done))))
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
    check_csrf(&headers, &f.csrf)?;
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
        "revoke" => {
            state.services.revoke(&c, &p, &app, id).await?;
            "Invitation revoked.".to_string()
        }
        "link" => {
            // shown once, in the answer, never in a URL
            let i = state.services.new_link(&c, &p, &app, id).await?;
            let csrf = Csrf::of(&headers, state.secure_cookies);
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
    Ok(see_other(&format!("{back}?done={}", urlencode(&done))))
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

// ---------------------------------------------------------------------------- invitations

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    token: String,
    info: roster_core::service::InvitationInfo,
    partner: bool,
    logged_in_as_other: Option<String>,
    logged_in_as_invited: bool,
    first_name: String,
    last_name: String,
    chosen_question: String,
    questions: Vec<(&'static str, &'static str)>,
    question_mode: &'static str,
    min_len: usize,
    composition: bool,
    errors: FieldErrors,
    problem: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    security_question: String,
    #[serde(default)]
    security_answer: String,
    #[serde(default)]
    accept_terms: String,
}

async fn invite_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    f: InviteForm,
    err: Option<Error>,
) -> PageResult {
    let info = state
        .services
        .invitation_info(&Ctx::at(state.now()), token)
        .await?;
    let current = principal(state, headers).await?;
    let (other, invited) = match &current {
        Some(p) if p.email.normalized() != info.email.to_lowercase() => {
            (Some(p.email.to_string()), false)
        }
        Some(_) => (None, true),
        None => (None, false),
    };
    let policy = state.services.password_policy();
    let (errors, problem, status) = match err {
        Some(Error::PasswordPolicy(rules, policy)) => (
            FieldErrors(
                rules
                    .iter()
                    .map(|r| FieldError {
                        field: "password",
                        message: format!("Missing: {}", r.describe(&policy)),
                    })
                    .collect(),
            ),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        other => form_outcome(other)?,
    };
    let csrf = Csrf::of(headers, state.secure_cookies);
    let nav = match &current {
        Some(p) => Some(nav_for(state, p, None).await?),
        None => None,
    };
    let t = InvitePage {
        product: &state.services.settings().product_name,
        nav,
        csrf: csrf.token.clone(),
        token: token.to_string(),
        partner: info.kind == MemberKind::Partner,
        first_name: if f.first_name.is_empty() {
            info.first_name.clone().unwrap_or_default()
        } else {
            f.first_name
        },
        last_name: if f.last_name.is_empty() {
            info.last_name.clone().unwrap_or_default()
        } else {
            f.last_name
        },
        info,
        logged_in_as_other: other,
        logged_in_as_invited: invited,
        chosen_question: f.security_question,
        questions: SecurityQuestion::ALL
            .iter()
            .map(|q| (q.code(), q.text()))
            .collect(),
        question_mode: match state.services.settings().security_question {
            QuestionMode::Required => "required",
            QuestionMode::Optional => "optional",
            QuestionMode::Off => "off",
        },
        min_len: policy.min_len,
        composition: policy.composition,
        errors,
        problem,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

pub async fn invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    invite_page(&state, &headers, &token, InviteForm::default(), None).await
}

pub async fn invitation_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let c = rc.clone();
    let form = NewIdentityForm {
        first_name: f.first_name.clone(),
        last_name: Some(f.last_name.clone()).filter(|l| !l.trim().is_empty()),
        password: f.password.clone(),
        security_question: Some(f.security_question.clone()).filter(|q| !q.is_empty()),
        security_answer: Some(f.security_answer.clone()).filter(|a| !a.is_empty()),
        accept_terms: f.accept_terms == "yes",
    };
    match state.services.accept_new(&c, &token, form).await {
        Ok(li) => {
            let to = li
                .app_id
                .as_ref()
                .map(|a| format!("/app/{a}/setup/1"))
                .unwrap_or_else(|| "/apps".into());
            Ok(with_cookie(see_other(&to), session_cookie(&state, &li)))
        }
        Err(e) => {
            let mut f = f;
            f.password.clear();
            f.security_answer.clear();
            invite_page(&state, &headers, &token, f, Some(e)).await
        }
    }
}

pub async fn invitation_join(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(rc): RequestCtx,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let c = rc.clone();
    let current = principal(&state, &headers).await?;
    let password = Some(f.password.clone()).filter(|p| !p.is_empty());
    match state
        .services
        .accept_existing(&c, &token, current.as_ref(), password)
        .await
    {
        Ok(li) => {
            let to = li
                .app_id
                .as_ref()
                .map(|a| format!("/app/{a}/setup/1"))
                .unwrap_or_else(|| "/apps".into());
            Ok(with_cookie(see_other(&to), session_cookie(&state, &li)))
        }
        Err(e) => invite_page(&state, &headers, &token, InviteForm::default(), Some(e)).await,
    }
}

#[derive(Template)]
#[template(path = "terms.html")]
struct TermsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    version: String,
}

pub async fn terms(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let t = TermsPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        version: state.services.settings().terms_version.clone(),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/roster.css"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------- initial setup (J4)

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    app_name: String,
    step: u8,
    from_profile: bool,
    first_name: String,
    last_name: String,
    phone: String,
    time_zone: String,
    zones: &'static [&'static str],
    signature_html: String,
    signature_text: String,
    has_logo: bool,
    errors: FieldErrors,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub struct FromQuery {
    from: Option<String>,
}

/// Values typed into a step that failed validation, shown again.
#[derive(Default)]
struct Typed {
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    time_zone: Option<String>,
    signature_html: Option<String>,
    signature_text: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn setup_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    app: &AppId,
    step: u8,
    from_profile: bool,
    typed: Typed,
    err: Option<Error>,
) -> PageResult {
    let (m, profile) = state
        .services
        .profile(&Ctx::at(state.now()), p, app)
        .await?;
    let nav = nav_for(state, p, Some(app)).await?;
    let (errors, problem, status) = form_outcome(err)?;
    let csrf = Csrf::of(headers, state.secure_cookies);
    let t = SetupPage {
        product: &state.services.settings().product_name,
        app_id: app.to_string(),
        app_name: nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        nav: Some(nav),
        csrf: csrf.token.clone(),
        step,
        from_profile,
        first_name: typed
            .first_name
            .unwrap_or_else(|| m.first_name.clone().unwrap_or_else(|| p.first_name.clone())),
        last_name: typed
            .last_name
            .unwrap_or_else(|| m.last_name.clone().unwrap_or_default()),
        phone: typed
            .phone
            .unwrap_or_else(|| profile.phone.clone().unwrap_or_default()),
        time_zone: typed
            .time_zone
            .unwrap_or_else(|| profile.time_zone.clone().unwrap_or_default()),
        zones: roster_core::service::time_zones(),
        signature_html: typed
            .signature_html
            .unwrap_or_else(|| profile.signature_html.clone().unwrap_or_default()),
        signature_text: typed
            .signature_text
            .unwrap_or_else(|| profile.signature_text.clone().unwrap_or_default()),
        has_logo: profile.logo.is_some(),
        errors,
        problem,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

pub async fn setup_start(Path(app): Path<String>) -> Response {
    see_other(&format!("/app/{app}/setup/1"))
}

pub async fn setup_step_1(
    state: State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
    q: Query<FromQuery>,
) -> PageResult {
    setup_step(state, headers, app_raw, 1, q).await
}

pub async fn setup_step_2(
    state: State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
    q: Query<FromQuery>,
) -> PageResult {
    setup_step(state, headers, app_raw, 2, q).await
}

pub async fn setup_step_3(
    state: State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
    q: Query<FromQuery>,
) -> PageResult {
    setup_step(state, headers, app_raw, 3, q).await
}

async fn setup_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    app_raw: String,
    step: u8,
    Query(fq): Query<FromQuery>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/setup/{step}")).await?;
    let app = app_id(&app_raw)?;
    let from_profile = fq.from.as_deref() == Some("profile");
    setup_page(
        &state,
        &headers,
        &p,
        &app,
        step,
        from_profile,
        Typed::default(),
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    time_zone: String,
}

fn after_step(app: &AppId, step: u8, from_profile: bool) -> String {
    if from_profile {
        format!("/app/{app}/profile")
    } else {
        format!("/app/{app}/setup/{}", step + 1)
    }
}

pub async fn setup_details(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app_raw): Path<String>,
    Query(fq): Query<FromQuery>,
    Form(f): Form<DetailsForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/setup/1")).await?;
    let app = app_id(&app_raw)?;
    let from_profile = fq.from.as_deref() == Some("profile");
    if f.action != "skip" {
        let details = roster_core::service::ProfileDetails {
            first_name: f.first_name.clone(),
            last_name: Some(f.last_name.clone()),
            phone: Some(f.phone.clone()),
            time_zone: Some(f.time_zone.clone()),
        };
        if let Err(e) = state.services.save_details(&c, &p, &app, details).await {
            let typed = Typed {
                first_name: Some(f.first_name),
                last_name: Some(f.last_name),
                phone: Some(f.phone),
                time_zone: Some(f.time_zone),
                ..Typed::default()
            };
            return setup_page(&state, &headers, &p, &app, 1, from_profile, typed, Some(e)).await;
        }
    }
    Ok(see_other(&after_step(&app, 1, from_profile)))
}

#[derive(Deserialize)]
pub struct SignatureForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    signature_html: String,
    #[serde(default)]
    signature_text: String,
}

pub async fn setup_signature(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app_raw): Path<String>,
    Query(fq): Query<FromQuery>,
    Form(f): Form<SignatureForm>,
) -> PageResult {
    check_csrf(&headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/setup/2")).await?;
    let app = app_id(&app_raw)?;
    let from_profile = fq.from.as_deref() == Some("profile");
    let typed = || Typed {
        signature_html: Some(f.signature_html.clone()),
        signature_text: Some(f.signature_text.clone()),
        ..Typed::default()
    };
    match f.action.as_str() {
        "skip" => Ok(see_other(&after_step(&app, 2, from_profile))),
        "preview" => setup_page(&state, &headers, &p, &app, 2, from_profile, typed(), None).await,
        _ => match state
            .services
            .save_signature(
                &c,
                &p,
                &app,
                f.signature_html.clone(),
                f.signature_text.clone(),
            )
            .await
        {
            Ok(_) => Ok(see_other(&after_step(&app, 2, from_profile))),
            Err(e) => {
                setup_page(
                    &state,
                    &headers,
                    &p,
                    &app,
                    2,
                    from_profile,
                    typed(),
                    Some(e),
                )
                .await
            }
        },
    }
}

pub async fn setup_logo(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app_raw): Path<String>,
    Query(fq): Query<FromQuery>,
    mut multipart: axum::extract::Multipart,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/setup/3")).await?;
    let app = app_id(&app_raw)?;
    let from_profile = fq.from.as_deref() == Some("profile");
    let (mut csrf, mut action, mut logo) = (String::new(), String::new(), Vec::new());
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                let e = Error::invalid(
                    "logo",
                    "The upload could not be read; the image may be larger than 2 MB.",
                );
                return setup_page(
                    &state,
                    &headers,
                    &p,
                    &app,
                    3,
                    from_profile,
                    Typed::default(),
                    Some(e),
                )
                .await;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let Ok(bytes) = field.bytes().await else {
            let e = Error::invalid(
                "logo",
                "The upload could not be read; the image may be larger than 2 MB.",
            );
            return setup_page(
                &state,
                &headers,
                &p,
                &app,
                3,
                from_profile,
                Typed::default(),
                Some(e),
            )
            .await;
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "action" => action = String::from_utf8_lossy(&bytes).into_owned(),
            "logo" => logo = bytes.to_vec(),
            _ => {}
        }
    }
    check_csrf(&headers, &csrf)?;
    if action != "skip" {
        let result = if logo.is_empty() {
            Err(Error::invalid(
                "logo",
                "Choose an image, or skip this step.",
            ))
        } else {
            state
                .services
                .save_logo(&c, &p, &app, logo)
                .await
                .map(|_| ())
        };
        if let Err(e) = result {
            return setup_page(
                &state,
                &headers,
                &p,
                &app,
                3,
                from_profile,
                Typed::default(),
                Some(e),
            )
            .await;
        }
    }
    if from_profile {
        return Ok(see_other(&format!("/app/{app}/profile")));
    }
    state.services.finish_setup(&c, &p, &app).await?;
    Ok(see_other(&format!("/app/{app}")))
}

pub async fn logo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/profile")).await?;
    let app = app_id(&app_raw)?;
    let (_, profile) = state
        .services
        .profile(&Ctx::at(state.now()), &p, &app)
        .await?;
    let logo = profile.logo.ok_or(Error::NotFound)?;
    let mut res = logo.bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&logo.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    app_name: String,
    name: String,
    phone: String,
    time_zone: String,
    has_logo: bool,
    setup_done: bool,
}

pub async fn profile_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/profile")).await?;
    let app = app_id(&app_raw)?;
    let (m, profile) = state
        .services
        .profile(&Ctx::at(state.now()), &p, &app)
        .await?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let csrf = Csrf::of(&headers, state.secure_cookies);
    let t = ProfilePage {
        product: &state.services.settings().product_name,
        app_id: app.to_string(),
        app_name: nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        nav: Some(nav),
        csrf: csrf.token.clone(),
        name: [m.first_name.as_deref(), m.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        phone: profile.phone.unwrap_or_else(|| "—".into()),
        time_zone: profile.time_zone.unwrap_or_else(|| "—".into()),
        has_logo: profile.logo.is_some(),
        setup_done: profile.setup_done,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

// ---------------------------------------------------------------------------- first run

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
    let csrf = Csrf::of(headers, state.secure_cookies);
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
    check_csrf(&headers, &f.csrf)?;
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
