//! API keys journey (pages): `/app/{app_id}/api-keys` — a member's own personal keys, and for
//! admins the app's service keys: make one (shown once, on the answer to the form), revoke.

use super::frame::{
    Csrf, CsrfForm, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login,
    see_other_with,
};
use super::when::viewer_zone;
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use roster_core::model::{ApiKey, ApiKeyKind, ApiScope, ScimProvisioning};
use roster_core::service::NewApiKey;
use roster_core::types::AppId;
use roster_core::{Ctx, Error, Principal};
use serde::Deserialize;
use time::Duration;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/api-keys", get(keys_page).post(create))
        .route("/app/{app_id}/api-keys/{id}/revoke", post(revoke))
        .route("/app/{app_id}/api-keys/scim", post(set_scim))
}

/// Personal keys, or (admins) service keys: the list and the form that makes one.
struct Section {
    kind: &'static str,
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    rows: Vec<KeyRow>,
}

struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    last_used: String,
    expires: String,
    state: &'static str,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct KeysPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    app_name: String,
    sections: Vec<Section>,
    /// A key just made: its name and secret.
    secret: Option<(String, String)>,
    /// Admins: whether SCIM creates make Active members (else invitations).
    scim_active: Option<bool>,
    errors: Vec<String>,
}

fn scope_words(k: &ApiKey) -> String {
    let mut words = vec![if k.has(ApiScope::Write) {
        "read and write"
    } else {
        "read only"
    }];
    if k.has(ApiScope::Admin) {
        words.push("API keys and admins");
    }
    if k.has(ApiScope::Scim) {
        words.push("SCIM");
    }
    words.join(", ")
}

/// Render the page (after a creation: with the new key, or with what was wrong).
async fn render_page(
    state: &AppState,
    headers: &HeaderMap,
    ctx: &Ctx,
    p: &Principal,
    app: &AppId,
    secret: Option<(String, String)>,
    errors: Vec<String>,
) -> PageResult {
    let me = state.services.require_member(p, app).await?;
    let zone = viewer_zone(state, headers, p).await;
    let row = |k: ApiKey| {
        let (state, revocable) = if k.revoked_at.is_some() {
            ("Revoked", false)
        } else if !k.live(ctx.now) {
            ("Expired", false)
        } else {
            ("Active", true)
        };
        KeyRow {
            id: k.id.to_string(),
            scopes: scope_words(&k),
            last_used: match (k.last_used_at, &k.last_used_addr) {
                (Some(t), Some(a)) => format!("{} from {a}", zone.format(t)),
                (Some(t), None) => zone.format(t),
                _ => "Never".into(),
            },
            expires: k
                .expires_at
                .map(|t| zone.format(t))
                .unwrap_or_else(|| "Never".into()),
            name: k.name,
            prefix: k.prefix,
            state,
            revocable,
        }
    };
    let mut sections = vec![Section {
        kind: "personal",
        title: "Your personal keys",
        intro: "A personal key acts as you, with exactly your rights in this app. It stops \
                working when you leave the app or are deactivated.",
        button: "Make a personal key",
        rows: state
            .services
            .list_api_keys(p, app, ApiKeyKind::Personal, None, 200)
            .await?
            .into_iter()
            .map(row)
            .collect(),
    }];
    let scim_active = if me.admin {
        Some(state.services.scim_provisioning(p, app).await? == ScimProvisioning::Active)
    } else {
        None
    };
    if me.admin {
        sections.push(Section {
            kind: "service",
            title: "Service keys",
            intro: "A service key acts for the app itself, with an administrator's rights, and \
                    keeps working whoever leaves. Without \u{201c}Manage API keys and \
                    admins\u{201d} it cannot change admins or keys.",
            button: "Make a service key",
            rows: state
                .services
                .list_api_keys(p, app, ApiKeyKind::Service, None, 200)
                .await?
                .into_iter()
                .map(row)
                .collect(),
        });
    }
    let nav = nav_for(state, p, Some(app)).await?;
    let csrf = Csrf::of(headers, state);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let t = KeysPage {
        product: &state.services.settings().product_name,
        app_name: nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        nav: Some(nav),
        csrf: csrf.token.clone(),
        app_id: app.to_string(),
        sections,
        secret,
        scim_active,
        errors,
    };
    let mut res = Page::new(&t, &csrf)?.into_response();
    *res.status_mut() = status;
    Ok(res)
}

pub async fn keys_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(app_raw): Path<String>,
) -> PageResult {
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/api-keys")).await?;
    let app = app_id(&app_raw)?;
    render_page(&state, &headers, &ctx, &p, &app, None, Vec::new()).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    read_only: Option<String>,
    admin_scope: Option<String>,
    scim_scope: Option<String>,
    #[serde(default)]
    expires_days: String,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<CreateForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/api-keys")).await?;
    let app = app_id(&app_raw)?;
    let kind = ApiKeyKind::parse(&f.kind).unwrap_or(ApiKeyKind::Personal);
    let mut scopes = vec![ApiScope::Read];
    if f.read_only.is_none() {
        scopes.push(ApiScope::Write);
    }
    if f.admin_scope.is_some() {
        scopes.push(ApiScope::Admin);
    }
    if f.scim_scope.is_some() {
        scopes.push(ApiScope::Scim);
    }
    let expires_at = match f.expires_days.as_str() {
        "" => None,
        d => match d.parse::<i64>() {
            Ok(n) if (1..=3650).contains(&n) => Some(ctx.now + Duration::days(n)),
            _ => {
                let errors = vec!["Choose when the key expires from the list.".to_string()];
                return render_page(&state, &headers, &ctx, &p, &app, None, errors).await;
            }
        },
    };
    let req = NewApiKey {
        name: f.name,
        kind,
        scopes: Some(scopes),
        expires_at,
    };
    match state.services.create_api_key(&ctx, &p, &app, req).await {
        Ok(issued) => {
            let secret = Some((issued.key.name.clone(), issued.secret));
            render_page(&state, &headers, &ctx, &p, &app, secret, Vec::new()).await
        }
        Err(Error::Invalid(errors)) => {
            let errors = errors.into_iter().map(|e| e.message).collect();
            render_page(&state, &headers, &ctx, &p, &app, None, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path((app_raw, id)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/app/{app_raw}/api-keys");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app_raw)?;
    let id: uuid::Uuid = id.parse().map_err(|_| Error::NotFound)?;
    let k = state.services.revoke_api_key(&ctx, &p, &app, id).await?;
    Ok(see_other_with(
        &state,
        &here,
        &format!(
            "The key \u{201c}{}\u{201d} was revoked; it no longer works.",
            k.name
        ),
    ))
}

#[derive(Deserialize)]
pub struct ScimForm {
    csrf: String,
    #[serde(default)]
    provisioning: String,
}

/// Admins: what the identity provider's new users become (invited, or Active at once).
pub async fn set_scim(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(app_raw): Path<String>,
    Form(f): Form<ScimForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let here = format!("/app/{app_raw}/api-keys");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app_raw)?;
    let Some(mode) = ScimProvisioning::parse(&f.provisioning) else {
        let errors = vec!["Choose what new users from your identity provider become.".to_string()];
        return render_page(&state, &headers, &ctx, &p, &app, None, errors).await;
    };
    state
        .services
        .set_scim_provisioning(&ctx, &p, &app, mode)
        .await?;
    let said = match mode {
        ScimProvisioning::Invite => "New users from your identity provider will be invited.",
        ScimProvisioning::Active => {
            "New users from your identity provider will be added as Active members at once."
        }
    };
    Ok(see_other_with(&state, &format!("{here}#scim"), said))
}
