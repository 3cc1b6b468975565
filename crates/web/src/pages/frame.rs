//! What every page shares: the CSRF token, the rendered [`Page`] and its header ([`Nav`]),
//! field errors and the form-outcome mapping, friendly error pages, who is logged in, and
//! the stylesheet.

use crate::AppState;
use crate::cookies;
use crate::extract::session_token;
use crate::problem::status_of;
use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use rand::RngCore;
use roster_core::types::AppId;
use roster_core::{Ctx, Error, FieldError, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/roster.css", get(stylesheet))
        .route("/static/roster.js", get(script))
}

/// The CSRF cookie's base name (`__Host-roster_csrf` over https, see [`crate::cookies`]).
pub const CSRF_COOKIE: &str = cookies::CSRF;

/// The CSRF token of this browser, and the cookie to set when it is new; also this request's
/// verified flash message (shown once by the page rendered with it).
pub struct Csrf {
    pub token: String,
    set: Option<HeaderValue>,
    flash: Option<String>,
    secure: bool,
}

impl Csrf {
    pub fn of(headers: &HeaderMap, state: &AppState) -> Self {
        let secure = state.secure_cookies;
        let flash = super::flash::read(&state.flash_key, state.now(), headers, secure);
        match cookies::read(headers, CSRF_COOKIE, secure) {
            Some(token) if token.len() == 43 => Csrf {
                token,
                set: None,
                flash,
                secure,
            },
            _ => {
                let mut b = [0u8; 32];
                rand::rng().fill_bytes(&mut b);
                let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
                let set = cookies::set(CSRF_COOKIE, &token, "HttpOnly; SameSite=Strict", secure);
                Csrf {
                    token,
                    set,
                    flash,
                    secure,
                }
            }
        }
    }
}

/// Refuse a form whose token does not match this browser's cookie.
pub(super) fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    sent: &str,
) -> Result<(), PageError> {
    match cookies::read(headers, CSRF_COOKIE, state.secure_cookies) {
        Some(c) if !sent.is_empty() && c == sent => Ok(()),
        _ => Err(PageError::Csrf),
    }
}

/// Field errors of a refused form, shown next to their fields.
#[derive(Default)]
pub struct FieldErrors(pub(super) Vec<FieldError>);

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
pub(super) fn form_outcome(
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

/// What the page header shows: who is logged in, the current app, and the ID's apps for the
/// switcher.
pub struct Nav {
    pub email: String,
    pub app: Option<NavApp>,
    pub apps: Vec<NavApp>,
}

pub struct NavApp {
    pub app_id: String,
    pub name: String,
    pub admin: bool,
}

/// Where base.html shows the flash message.
const FLASH_SLOT: &str = "<!--flash-->";

/// HTML-escape text for element content and attribute values.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A rendered page plus the cookies it sets.
pub struct Page {
    status: StatusCode,
    html: String,
    cookies: Vec<HeaderValue>,
}

impl Page {
    pub(super) fn new(t: &impl Template, csrf: &Csrf) -> Result<Page, PageError> {
        let mut html = t
            .render()
            .map_err(|e| PageError::Core(Error::Internal(format!("template: {e}"))))?;
        let mut cookies: Vec<HeaderValue> = csrf.set.iter().cloned().collect();
        // the flash, shown once: rendered into the frame's slot, and its cookie removed
        if let Some(text) = &csrf.flash {
            let banner = format!(
                "<p class=\"notice\" role=\"status\" id=\"flash\">{}</p>",
                escape(text)
            );
            html = html.replacen(FLASH_SLOT, &banner, 1);
            cookies.push(super::flash::clear(csrf.secure));
        }
        Ok(Page {
            status: StatusCode::OK,
            html,
            cookies,
        })
    }
    pub(super) fn status(mut self, s: StatusCode) -> Self {
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
        res
    }
}

/// One core error rendered as a friendly page.
pub enum PageError {
    Core(Error),
    Csrf,
    Login(String),
    /// Logged in, but the current terms must be agreed to before `String` (the address).
    Terms(String),
    /// A page of its own saying what is wrong and what to do.
    Info(StatusCode, ErrorInfo),
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError::Core(e)
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct MessagePage<'a> {
    pub(super) product: &'a str,
    pub(super) nav: Option<Nav>,
    pub(super) csrf: String,
    pub(super) title: String,
    pub(super) message: String,
    pub(super) link: Option<(String, String)>,
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
        Error::AppSuspended => (
            "This app is suspended",
            "Roster support has suspended this app for now, so nobody can use it. Your ID and your other apps are not affected. The app's administrators can ask support about it.".into(),
        ),
        Error::LastAdmin => (
            "The app needs an admin",
            "This is the last admin of the app, so they cannot be removed, demoted or deactivated. Make someone else an admin first.".into(),
        ),
        Error::Locked { retry_after_secs } => (
            "Too many failed attempts",
            format!(
                "This ID is locked for {} after several wrong passwords. Wait and try again, or reset the password: a reset always gets its owner back in.",
                crate::problem::human_seconds(*retry_after_secs)
            ),
        ),
        Error::Busy => (
            "Too many attempts at once",
            "Several logins of this ID are being checked right now. Try again in a second.".into(),
        ),
        Error::RateLimited { retry_after_secs } => (
            "Too many requests",
            format!(
                "Too many attempts came from your network. Try again in {}.",
                crate::problem::human_seconds(*retry_after_secs)
            ),
        ),
        Error::LinkInvalid => (
            "This link no longer works",
            "It has expired or was already used. Ask for a new one.".into(),
        ),
        Error::EmailInUse => (
            "This email belongs to another ID",
            "Another ID logs in with this address by now, so your login email stays as it was.".into(),
        ),
        Error::Store(_) | Error::Internal(_) => (
            "Something went wrong",
            "Something went wrong on our side. It has been logged; please try again.".into(),
        ),
        other => ("That did not work", other.to_string()),
    }
}

/// What an error page says. Attached to the response so that the frame (header, nav, a way
/// back) is added in one place, [`super::errors::frame_errors`], which knows who is asking.
#[derive(Clone)]
pub struct ErrorInfo {
    pub title: String,
    pub message: String,
    /// A specific way forward; the frame picks one from the address otherwise.
    pub link: Option<(String, String)>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login(next) => {
                Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
            }
            PageError::Terms(next) => {
                Redirect::to(&format!("/terms/accept?next={}", urlencode(&next))).into_response()
            }
            PageError::Info(status, info) => error_response(status, info),
            PageError::Csrf => error_response(
                StatusCode::FORBIDDEN,
                ErrorInfo {
                    title: "This form has expired".into(),
                    message: "For your security the form could not be accepted. Go back, reload the page and try again.".into(),
                    link: None,
                },
            ),
            // log in again, then come back to the two-step page
            PageError::Core(Error::ReauthenticationRequired) => Redirect::to(
                "/login?next=/account/two-step",
            )
            .into_response(),
            PageError::Core(Error::SecondFactorEnrolmentRequired { app_id }) => Redirect::to(
                &format!("/account/two-step?required={app_id}&next=/app/{app_id}"),
            )
            .into_response(),
            PageError::Core(e) => {
                let (title, msg) = friendly(&e);
                let link = match &e {
                    Error::InvitationUsed => Some(("/login".to_string(), "Log in".to_string())),
                    Error::Locked { .. } => Some((
                        "/forgot-password".to_string(),
                        "Reset the password".to_string(),
                    )),
                    Error::LinkInvalid => Some((
                        "/forgot-password".to_string(),
                        "Ask for a new link".to_string(),
                    )),
                    _ => None,
                };
                let retry = e.retry_after();
                if matches!(e, Error::Store(_) | Error::Internal(_)) {
                    tracing::error!(error = %e, "page failed");
                }
                let mut res = error_response(
                    status_of(&e),
                    ErrorInfo {
                        title: title.into(),
                        message: msg,
                        link,
                    },
                );
                if let Some(secs) = retry {
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
                }
                res
            }
        }
    }
}

/// An error page without the frame's personal parts (the frame middleware replaces it).
pub(crate) fn error_response(status: StatusCode, info: ErrorInfo) -> Response {
    let t = MessagePage {
        product: "Roster",
        nav: None,
        csrf: String::new(),
        title: info.title.clone(),
        message: info.message.clone(),
        link: info.link.clone(),
    };
    let mut res = match t.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(_) => (status, info.title.clone()).into_response(),
    };
    res.extensions_mut().insert(info);
    res
}

pub(super) fn urlencode(s: &str) -> String {
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
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/apps".into(),
    }
}

pub(super) type PageResult = Result<Response, PageError>;

pub(super) async fn principal(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, PageError> {
    let Some(token) = session_token(headers, state.secure_cookies) else {
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

pub(super) async fn require_login(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Principal, PageError> {
    let p = principal(state, headers)
        .await?
        .ok_or_else(|| PageError::Login(here.to_string()))?;
    if p.terms_pending.is_some() {
        return Err(PageError::Terms(here.to_string()));
    }
    Ok(p)
}

/// Logged in, whether or not the current terms were agreed to yet (the terms page itself).
pub(super) async fn require_session(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Principal, PageError> {
    principal(state, headers)
        .await?
        .ok_or_else(|| PageError::Login(here.to_string()))
}

pub(super) async fn nav_for(
    state: &AppState,
    p: &Principal,
    app: Option<&AppId>,
) -> Result<Nav, PageError> {
    let me = state.services.me(p).await?;
    let app = match app {
        Some(a) => {
            let m = state.services.require_member(p, a).await?;
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
    let apps = me
        .apps
        .iter()
        .map(|(x, m)| NavApp {
            app_id: x.app_id.to_string(),
            name: x.name.clone(),
            admin: m.admin,
        })
        .collect();
    Ok(Nav {
        email: p.email.to_string(),
        app,
        apps,
    })
}

pub(super) fn app_id(raw: &str) -> Result<AppId, PageError> {
    AppId::parse(raw).map_err(|_| PageError::Core(Error::NotFound))
}

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// 303 to `to`, where the server's `text` is shown once (see [`super::flash`]).
pub(super) fn see_other_with(state: &AppState, to: &str, text: &str) -> Response {
    super::flash::redirect(
        &state.flash_key,
        state.now(),
        to,
        text,
        state.secure_cookies,
    )
}

pub(super) fn with_cookie(mut res: Response, c: HeaderValue) -> Response {
    res.headers_mut().append(header::SET_COOKIE, c);
    res
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
    pub(super) next: Option<String>,
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/roster.css"),
    )
        .into_response()
}

/// The one site-wide script: tells the server the browser's UTC offset (for times shown when the
/// viewer has no time zone in their profile). Pages work without it.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/roster.js"),
    )
        .into_response()
}
