//! Two-step verification in the browser: the second step of a login, and the ID's own page to
//! set up an authenticator app (QR code rendered on the server) or email codes, see backup codes
//! once, forget trusted browsers, turn it off. A member of an app that requires it is sent here
//! (and back) before reaching the app.

use super::forms::{self, Field, FormSpec};
use super::frame::{
    Csrf, Nav, Page, PageResult, check_csrf, nav_for, require_session, safe_next, see_other,
    see_other_with, with_cookie,
};
use crate::AppState;
use crate::api::session_cookie;
use crate::api::two_step::{device_cookie, qr_svg};
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use roster_core::model::SecondFactorStatus;
use roster_core::service::SecondStep;
use roster_core::{Error, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/second-factor", post(second_step))
        .route("/login/second-factor/email", post(email_code))
        .route("/account/two-step", get(page))
        .route("/account/two-step/totp", post(start_totp))
        .route("/account/two-step/totp/confirm", post(confirm_totp))
        .route("/account/two-step/email", post(enable_email))
        .route("/account/two-step/backup-codes", post(backup_codes))
        .route("/account/two-step/forget-browsers", post(forget_browsers))
        .route("/account/two-step/disable", post(disable))
        .route(
            "/account/two-step/passkeys/{id}/remove",
            post(remove_passkey),
        )
        .route(
            "/app/{app_id}/admin/security",
            get(app_security_page).post(set_app_security),
        )
}

fn app_security_form(app: &str, on: bool) -> FormSpec {
    let mut f = FormSpec::new("Security", format!("/app/{app}/admin/security"), "Save");
    f.intro.push(
        "When two-step verification is required, members without it are walked through setting it up at their next visit, before they reach this app; the API answers 403 second_factor_enrolment_required for this app until they do.".into(),
    );
    f.fields.push(
        Field::new(
            "required",
            "Require two-step verification for members",
            "checkbox",
        )
        .value(if on { "yes" } else { "" })
        .optional(),
    );
    f
}

pub async fn app_security_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> PageResult {
    let here = format!("/app/{raw}/admin/security");
    let p = super::frame::require_login(&state, &headers, &here).await?;
    let app = super::frame::app_id(&raw)?;
    state.services.require_admin(&p, &app).await?;
    let on = state.services.app_requires_two_step(&app).await?;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    forms::render(
        &state,
        &headers,
        Some(nav),
        app_security_form(&raw, on),
        None,
    )
}

#[derive(Deserialize)]
pub struct RequirementForm {
    #[serde(default)]
    csrf: String,
    required: Option<String>,
}

pub async fn set_app_security(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(raw): Path<String>,
    Form(f): Form<RequirementForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/app/{raw}/admin/security");
    let p = super::frame::require_login(&state, &headers, &here).await?;
    let app = super::frame::app_id(&raw)?;
    let on = f.required.is_some();
    match state
        .services
        .set_app_requires_two_step(&ctx, &p, &app, on)
        .await
    {
        Ok(()) => Ok(see_other_with(
            &state,
            &here,
            if on {
                "Two-step verification is now required for members."
            } else {
                "Two-step verification is no longer required."
            },
        )),
        Err(e @ Error::Invalid(_)) => {
            let nav = nav_for(&state, &p, Some(&app)).await?;
            forms::render(
                &state,
                &headers,
                Some(nav),
                app_security_form(&raw, on),
                Some(e),
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "second_step.html")]
struct SecondStepPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    challenge: String,
    next: String,
    methods: Vec<(&'static str, &'static str)>,
    method: String,
    email: bool,
    passkey: bool,
    error: Option<String>,
    notice: Option<String>,
}

fn method_label(m: &str) -> Option<(&'static str, &'static str)> {
    match m {
        "totp" => Some(("totp", "Authenticator app")),
        "email" => Some(("email", "Code sent by email")),
        "backup_code" => Some(("backup_code", "Backup code")),
        "passkey" => None,
        _ => None,
    }
}

/// The second-step form (the answer to a right password when the ID uses two-step
/// verification). `methods` as in the 401 `second_factor_required`.
#[allow(clippy::too_many_arguments)]
pub(super) fn second_step_page(
    state: &AppState,
    headers: &HeaderMap,
    challenge: &str,
    methods: &[&str],
    chosen: &str,
    next: &str,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let t = SecondStepPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        challenge: challenge.to_string(),
        next: next.to_string(),
        methods: methods.iter().filter_map(|m| method_label(m)).collect(),
        method: chosen.to_string(),
        email: methods.contains(&"email"),
        passkey: methods.contains(&"passkey"),
        error,
        notice,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    trust_browser: Option<String>,
    next: Option<String>,
}

pub async fn second_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<StepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    let chosen = f.method.clone();
    let step = SecondStep {
        challenge: f.challenge.clone(),
        method: f.method,
        code: f.code,
        trust_browser: f.trust_browser.is_some(),
    };
    match state.services.finish_second_step(&ctx, &step).await {
        Ok((li, device)) => {
            let mut res = with_cookie(see_other(&next), session_cookie(&state, &li));
            if let Some(c) = device.and_then(|d| device_cookie(&state, &d)) {
                res = with_cookie(res, c);
            }
            Ok(res)
        }
        Err(e @ (Error::CodeInvalid | Error::Invalid(_))) => second_step_page(
            &state,
            &headers,
            &f.challenge,
            &state
                .services
                .challenge_methods(&ctx, &f.challenge)
                .await
                .unwrap_or_default(),
            &chosen,
            &next,
            Some(match e {
                Error::CodeInvalid => {
                    "That code is not right. Try again (wrong codes count like wrong passwords)."
                        .into()
                }
                other => other.to_string(),
            }),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(Error::ChallengeInvalid) => Ok(see_other_with(
            &state,
            &format!("/login?next={}", super::frame::urlencode(&next)),
            "That sign-in expired. Log in again.",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn email_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<StepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let next = safe_next(f.next.as_deref());
    match state.services.send_login_code(&ctx, &f.challenge).await {
        Ok(()) => second_step_page(
            &state,
            &headers,
            &f.challenge,
            &state
                .services
                .challenge_methods(&ctx, &f.challenge)
                .await
                .unwrap_or_default(),
            "email",
            &next,
            None,
            Some("A code is on its way to your email. It works once, for 10 minutes.".into()),
            StatusCode::OK,
        ),
        Err(Error::ChallengeInvalid) => Ok(see_other("/login")),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "two_step.html")]
struct TwoStepPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    status: SecondFactorStatus,
    /// (QR image as a data: URL, base32 key)
    totp_setup: Option<(String, String)>,
    backup_codes: Option<Vec<String>>,
    required_by: Option<String>,
    error: Option<String>,
    next: String,
    /// (id in base64url, name, added)
    passkeys: Vec<(String, String, String)>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    next: Option<String>,
    required: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    totp_setup: Option<(String, String)>,
    backup_codes: Option<Vec<String>>,
    required_by: Option<String>,
    error: Option<String>,
    next: &str,
    status_code: StatusCode,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let status = state.services.two_step_status(p).await?;
    let zone = super::when::viewer_zone(state, headers, p).await;
    let passkeys = state
        .services
        .my_passkeys(p)
        .await?
        .into_iter()
        .map(|k| {
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&k.cred_id),
                k.name,
                zone.format(k.created_at),
            )
        })
        .collect();
    let t = TwoStepPage {
        passkeys,
        product: &state.services.settings().product_name,
        nav: Some(nav_for(state, p, None).await?),
        csrf: csrf.token.clone(),
        status,
        totp_setup,
        backup_codes,
        required_by,
        error,
        next: next.to_string(),
    };
    let mut res = Page::new(&t, &csrf)?.status(status_code).into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// A refused change, shown on the two-step page (its field errors as one message); anything
/// else is an error page.
async fn refused(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    next: &str,
    e: Error,
) -> PageResult {
    match e {
        Error::Invalid(errs) => {
            let msg = errs
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join(" ");
            render(
                state,
                headers,
                p,
                None,
                None,
                None,
                Some(msg),
                next,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        e => Err(e.into()),
    }
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let next = q
        .next
        .as_deref()
        .map(|n| safe_next(Some(n)))
        .unwrap_or_else(|| "/account/two-step".into());
    // only an app the ID belongs to, by its name: the address cannot put words on the page
    let required_by = match q
        .required
        .as_deref()
        .and_then(|a| roster_core::types::AppId::parse(a).ok())
    {
        Some(a) => state
            .services
            .me(&p)
            .await?
            .apps
            .into_iter()
            .find(|(app, _)| app.app_id == a)
            .map(|(app, _)| format!("{} (App ID {})", app.name, app.app_id)),
        None => None,
    };
    render(
        &state,
        &headers,
        &p,
        None,
        None,
        required_by,
        None,
        &next,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct TwoStepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_password: String,
    next: Option<String>,
}

fn next_of(f: &TwoStepForm) -> String {
    f.next
        .as_deref()
        .map(|n| safe_next(Some(n)))
        .unwrap_or_else(|| "/account/two-step".into())
}

pub async fn start_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let next = next_of(&f);
    match state.services.start_totp(&ctx, &p).await {
        Ok(e) => {
            let svg = qr_svg(&e.otpauth_url);
            let data = format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(svg)
            );
            render(
                &state,
                &headers,
                &p,
                Some((data, e.secret_base32)),
                None,
                None,
                None,
                &next,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => refused(&state, &headers, &p, &next, e).await,
    }
}

pub async fn confirm_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let next = next_of(&f);
    match state.services.confirm_totp(&ctx, &p, &f.code).await {
        Ok(e) => enrolled_page(&state, &headers, &p, e, &next).await,
        Err(e) => refused(&state, &headers, &p, &next, e).await,
    }
}

/// After turning it on: the new session cookie, and the backup codes once (or on to `next`).
async fn enrolled_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    e: roster_core::service::Enrolled,
    next: &str,
) -> PageResult {
    let cookie = session_cookie(state, &e.session);
    let res = match e.backup_codes {
        Some(codes) => {
            render(
                state,
                headers,
                p,
                None,
                Some(codes),
                None,
                None,
                next,
                StatusCode::OK,
            )
            .await?
        }
        None => see_other_with(state, next, "Two-step verification is on."),
    };
    Ok(with_cookie(res, cookie))
}

pub async fn enable_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let next = next_of(&f);
    match state
        .services
        .enable_email_codes(&ctx, &p, &f.current_password)
        .await
    {
        Ok(e) => enrolled_page(&state, &headers, &p, e, &next).await,
        Err(e) => refused(&state, &headers, &p, &next, e).await,
    }
}

pub async fn backup_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let codes = state.services.regenerate_backup_codes(&ctx, &p).await?;
    render(
        &state,
        &headers,
        &p,
        None,
        Some(codes),
        None,
        None,
        "/account/two-step",
        StatusCode::OK,
    )
    .await
}

pub async fn forget_browsers(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let n = state.services.forget_trusted_browsers(&ctx, &p).await?;
    Ok(see_other_with(
        &state,
        "/account/two-step",
        &format!("{n} trusted browser(s) will ask for the second step again."),
    ))
}

pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    match state
        .services
        .disable_two_step(&ctx, &p, &f.current_password)
        .await
    {
        Ok(()) => Ok(see_other_with(
            &state,
            "/account/two-step",
            "Two-step verification is off.",
        )),
        Err(e) => refused(&state, &headers, &p, "/account/two-step", e).await,
    }
}

pub async fn remove_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(id): Path<String>,
    Form(f): Form<TwoStepForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_session(&state, &headers, "/account/two-step").await?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.trim())
        .map_err(|_| Error::NotFound)?;
    state.services.delete_passkey(&ctx, &p, &raw).await?;
    Ok(see_other_with(
        &state,
        "/account/two-step",
        "The passkey was removed.",
    ))
}
