//! "Sign in with your Roster ID", the browser side: `/oauth2/authorize` (log in when needed,
//! then the app picker and, for third-party clients, the consent screen), the hop back to the
//! client, RP-initiated logout, and revoking a connected application from the account page.
//!
//! The hop back to the client is a page that refreshes to the client's address rather than a
//! redirect: the login, picker and consent forms are governed by `form-action 'self'`, which
//! browsers also apply to the redirects that follow a form.

use super::frame::{
    Csrf, MessagePage, Nav, Page, PageError, PageResult, check_csrf, nav_for, principal, see_other,
    see_other_with, urlencode, with_cookie,
};
use crate::AppState;
use crate::extract::{RequestCtx, session_token};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use roster_core::service::{AppChoice, AuthorizeError, AuthorizeRequest, ValidAuthorize};
use roster_core::types::AppId;
use roster_core::{Ctx, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth2/authorize", get(authorize).post(decide))
        .route("/oauth2/logout", get(logout_page).post(logout_submit))
        .route("/account/connections/revoke", post(disconnect))
}

#[derive(Template)]
#[template(path = "oidc_continue.html")]
struct ContinuePage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    to: &'a str,
    client: &'a str,
}

/// The hop to the client (see the module documentation).
fn continue_to(state: &AppState, headers: &HeaderMap, to: &str, client: &str) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let t = ContinuePage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        to,
        client,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

fn message(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: &str,
    text: &str,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let t = MessagePage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        title: title.into(),
        message: text.into(),
        link: None,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

/// The request's parameters as hidden fields of the picker and consent forms.
fn hidden(q: &AuthorizeRequest) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("client_id", q.client_id.clone()),
        ("redirect_uri", q.redirect_uri.clone()),
        ("response_type", q.response_type.clone()),
        ("scope", q.scope.clone()),
    ];
    let opt = [
        ("state", &q.state),
        ("nonce", &q.nonce),
        ("code_challenge", &q.code_challenge),
        ("code_challenge_method", &q.code_challenge_method),
        ("prompt", &q.prompt),
        ("max_age", &q.max_age),
        ("login_hint", &q.login_hint),
    ];
    for (k, v) in opt {
        if let Some(v) = v {
            out.push((k, v.clone()));
        }
    }
    out
}

/// `/oauth2/authorize?…` again, for coming back after the login page.
fn authorize_url(q: &AuthorizeRequest) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in hidden(q) {
        s.append_pair(k, &v);
    }
    if let Some(a) = &q.app_id {
        s.append_pair("app_id", a);
    }
    format!("/oauth2/authorize?{}", s.finish())
}

struct AppOption {
    app_id: String,
    name: String,
    role: &'static str,
    partner: bool,
    blocked: bool,
}

#[derive(Template)]
#[template(path = "oidc_pick.html")]
struct PickPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    client: &'a str,
    apps: Vec<AppOption>,
    fields: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "oidc_consent.html")]
struct ConsentPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    client: &'a str,
    app_name: &'a str,
    app_id: &'a str,
    scopes: Vec<&'static str>,
    fields: Vec<(&'static str, String)>,
}

/// What each scope lets the client do, in words.
fn scope_words(s: &str) -> Option<&'static str> {
    Some(match s {
        "openid" => "Know who you are (your Roster ID) and your role in this app",
        "profile" => "See your name",
        "email" => "See your email address",
        "offline_access" => "Stay signed in when you are away",
        "members:read" => "See the app's members",
        "members:write" => "Change the app's members as you could",
        "invitations:write" => "Invite people to the app as you could",
        _ => return None,
    })
}

async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Query(q): Query<AuthorizeRequest>,
) -> PageResult {
    flow(&state, &headers, &ctx, q, None, None).await
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    chosen_app: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    max_age: Option<String>,
    login_hint: Option<String>,
}

async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<DecideForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let q = AuthorizeRequest {
        client_id: f.client_id,
        redirect_uri: f.redirect_uri,
        response_type: f.response_type,
        scope: f.scope,
        state: f.state,
        nonce: f.nonce,
        code_challenge: f.code_challenge,
        code_challenge_method: f.code_challenge_method,
        // asked for once already, on the GET
        prompt: f.prompt.map(|p| {
            p.split_whitespace()
                .filter(|x| *x != "consent" && *x != "select_account" && *x != "login")
                .collect::<Vec<_>>()
                .join(" ")
        }),
        max_age: f.max_age,
        login_hint: f.login_hint,
        app_id: Some(f.chosen_app.clone()).filter(|a| !a.is_empty()),
    };
    let decision = match f.decision.as_str() {
        "allow" => Some(true),
        "deny" => Some(false),
        _ => None,
    };
    flow(&state, &headers, &ctx, q, decision, Some(f.chosen_app)).await
}

/// One pass of the authorization flow: checks, login, picker, consent, code. `decision` is
/// the consent screen's answer; `posted_app` the picker's choice.
async fn flow(
    state: &AppState,
    headers: &HeaderMap,
    ctx: &Ctx,
    mut q: AuthorizeRequest,
    decision: Option<bool>,
    posted_app: Option<String>,
) -> PageResult {
    let v = match state.services.check_authorize(&q).await {
        Ok(v) => v,
        Err(AuthorizeError::Page(text)) => {
            return message(
                state,
                headers,
                StatusCode::BAD_REQUEST,
                "This sign-in request cannot be used",
                &text,
            );
        }
        Err(AuthorizeError::Redirect { error, description }) => {
            let redirect = state
                .services
                .oidc_client(&q.client_id)
                .await?
                .map(|c| c.name)
                .unwrap_or_default();
            let to = error_url(&q, &state.services.issuer(), error, &description);
            return continue_to(state, headers, &to, &redirect);
        }
    };
    let fail = |error: &'static str, description: &str| {
        continue_to(
            state,
            headers,
            &v.answer(
                &state.services.issuer(),
                &[("error", error), ("error_description", description)],
            ),
            &v.client.name,
        )
    };
    let p = principal(state, headers).await?;
    let login_needed = match &p {
        None => true,
        Some(p) => v.prompts("login") || !state.services.login_fresh_enough(ctx, p, &v),
    };
    if login_needed {
        if v.prompts("none") {
            return fail("login_required", "The person is not signed in.");
        }
        if v.prompts("login") || v.max_age.is_some_and(|m| m < 120) {
            // after this login the session is fresh: come back without asking again (a
            // max_age shorter than the way through the login page would loop)
            q.prompt = None;
            q.max_age = Some("120".into());
        }
        let next = authorize_url(&q);
        let hint = match v.login_hint.as_deref().filter(|h| h.contains('@')) {
            Some(email) => format!("&email={}", urlencode(email)),
            None => String::new(),
        };
        return Ok(see_other(&format!(
            "/login?next={}{hint}",
            urlencode(&next)
        )));
    }
    let Some(p) = p else {
        return fail("login_required", "The person is not signed in.");
    };
    if p.terms_pending.is_some() {
        if v.prompts("none") {
            return fail("interaction_required", "The terms must be agreed to first.");
        }
        return Err(PageError::Terms(authorize_url(&q)));
    }
    if decision == Some(false) {
        let to = state.services.deny_authorization(ctx, &p, &v).await?;
        return continue_to(state, headers, &to, &v.client.name);
    }
    let choices = state.services.oidc_app_choices(&p).await?;
    let chosen = match posted_app.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => choices
            .iter()
            .find(|c| c.app.app_id.as_str() == a && !c.needs_two_step),
        None => state.services.preselected_app(&v, &choices),
    };
    let Some(choice) = chosen else {
        if v.prompts("none") {
            return fail(
                "account_selection_required",
                "The person must choose an app.",
            );
        }
        return pick_page(state, headers, &p, &v, &q, &choices).await;
    };
    let app_id = choice.app.app_id.clone();
    if decision != Some(true) && state.services.needs_consent(&p, &v, &app_id).await? {
        if v.prompts("none") {
            return fail("consent_required", "The person has not allowed this yet.");
        }
        return consent_page(state, headers, &p, &v, &q, choice).await;
    }
    let to = state.services.authorize_app(ctx, &p, &v, &app_id).await?;
    continue_to(state, headers, &to, &v.client.name)
}

fn error_url(q: &AuthorizeRequest, issuer: &str, error: &str, description: &str) -> String {
    let Ok(mut url) = url::Url::parse(&q.redirect_uri) else {
        return "/".into();
    };
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("error", error);
        pairs.append_pair("error_description", description);
        if let Some(s) = &q.state {
            pairs.append_pair("state", s);
        }
        pairs.append_pair("iss", issuer);
    }
    url.to_string()
}

async fn pick_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    v: &ValidAuthorize,
    q: &AuthorizeRequest,
    choices: &[AppChoice],
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let t = PickPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(state, p, None).await?),
        csrf: csrf.token.clone(),
        client: &v.client.name,
        apps: choices
            .iter()
            .map(|c| AppOption {
                app_id: c.app.app_id.to_string(),
                name: c.app.name.clone(),
                role: if c.member.admin { "Admin" } else { "User" },
                partner: c.member.kind == roster_core::types::MemberKind::Partner,
                blocked: c.needs_two_step,
            })
            .collect(),
        fields: hidden(q),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

async fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
    v: &ValidAuthorize,
    q: &AuthorizeRequest,
    choice: &AppChoice,
) -> PageResult {
    let csrf = Csrf::of(headers, state);
    let app_id = choice.app.app_id.to_string();
    let t = ConsentPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(state, p, None).await?),
        csrf: csrf.token.clone(),
        client: &v.client.name,
        app_name: &choice.app.name,
        app_id: &app_id,
        scopes: v.scopes.iter().filter_map(|s| scope_words(s)).collect(),
        fields: hidden(q),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
struct LogoutQuery {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "oidc_logout.html")]
struct LogoutPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    client: Option<String>,
    fields: Vec<(&'static str, String)>,
}

fn logout_fields(q: &LogoutQuery) -> Vec<(&'static str, String)> {
    [
        ("id_token_hint", &q.id_token_hint),
        ("client_id", &q.client_id),
        ("post_logout_redirect_uri", &q.post_logout_redirect_uri),
        ("state", &q.state),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect()
}

/// RP-initiated logout, GET: checked, then the person confirms (no state change on GET).
async fn logout_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LogoutQuery>,
) -> PageResult {
    let plan = state
        .services
        .plan_logout(
            state.now(),
            q.id_token_hint.as_deref(),
            q.client_id.as_deref(),
            q.post_logout_redirect_uri.as_deref(),
            q.state.as_deref(),
        )
        .await?;
    let csrf = Csrf::of(&headers, &state);
    let t = LogoutPage {
        product: &state.services.settings().product_name,
        nav: None,
        csrf: csrf.token.clone(),
        client: plan.client_name,
        fields: logout_fields(&q),
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf: String,
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

async fn logout_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<LogoutForm>,
) -> PageResult {
    if check_csrf(&state, &headers, &f.csrf).is_err() {
        // a relying party may POST its logout request: ask, as for a GET
        let q = LogoutQuery {
            id_token_hint: f.id_token_hint,
            client_id: f.client_id,
            post_logout_redirect_uri: f.post_logout_redirect_uri,
            state: f.state,
        };
        return logout_page(State(state), headers, Query(q)).await;
    }
    let plan = state
        .services
        .plan_logout(
            ctx.now,
            f.id_token_hint.as_deref(),
            f.client_id.as_deref(),
            f.post_logout_redirect_uri.as_deref(),
            f.state.as_deref(),
        )
        .await?;
    let token = session_token(&headers, state.secure_cookies);
    state
        .services
        .rp_logout(&ctx, &plan, token.as_deref())
        .await?;
    let clear = crate::api::clear_cookie(&state);
    let res: Response = match &plan.redirect {
        Some(to) => continue_to(
            &state,
            &headers,
            to,
            plan.client_name.as_deref().unwrap_or(""),
        )?,
        None => see_other_with(&state, "/login", "You are signed out."),
    };
    Ok(with_cookie(res, clear))
}

#[derive(Deserialize)]
struct DisconnectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    app_id: String,
}

/// Account page: take a connected application's access to one app away.
async fn disconnect(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<DisconnectForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = super::frame::require_login(&state, &headers, "/account").await?;
    let app = AppId::parse(&f.app_id).map_err(|_| roster_core::Error::NotFound)?;
    state
        .services
        .disconnect_app(&ctx, &p, &f.client_id, &app)
        .await?;
    Ok(see_other_with(
        &state,
        "/account",
        "The application's access was revoked.",
    ))
}
