//! Journey J8 and "Sign in with your Roster ID": the operator registers and lists OpenID
//! Connect clients in the console (as `roster client create|list` does); a confidential
//! client's secret is shown once.

use super::frame::{Csrf, Nav, Page, PageResult, check_csrf, nav_for};
use super::operator::operator;
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Form, Router};
use roster_core::Error;
use roster_core::model::SigningAlg;
use roster_core::service::NewClient;
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/operator/clients", get(clients).post(create))
}

struct ClientRow {
    client_id: String,
    name: String,
    kind: String,
    redirects: String,
}

#[derive(Template)]
#[template(path = "operator_clients.html")]
struct ClientsPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    clients: Vec<ClientRow>,
    /// Just registered: (name, client_id, secret if confidential).
    created: Option<(String, String, Option<String>)>,
    errors: Vec<String>,
    form: ClientForm,
}

#[derive(Deserialize, Default, Clone)]
struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// One per line.
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    back_channel_logout_uri: String,
    #[serde(default)]
    public: String,
    #[serde(default)]
    first_party: String,
    #[serde(default)]
    eddsa: String,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    p: &roster_core::Principal,
    created: Option<(String, String, Option<String>)>,
    errors: Vec<String>,
    form: ClientForm,
) -> PageResult {
    let clients = state
        .services
        .support_clients(p)
        .await?
        .into_iter()
        .map(|c| ClientRow {
            kind: format!(
                "{}{}",
                if c.is_public() {
                    "public"
                } else {
                    "confidential"
                },
                if c.first_party { ", first-party" } else { "" }
            ),
            redirects: c.redirect_uris.join(" "),
            client_id: c.client_id,
            name: c.name,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let csrf = Csrf::of(headers, state);
    let t = ClientsPage {
        product: &state.services.settings().product_name,
        nav: Some(nav_for(state, p, None).await?),
        csrf: csrf.token.clone(),
        clients,
        created,
        errors,
        form,
    };
    Ok(Page::new(&t, &csrf)?.status(status).into_response())
}

async fn clients(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let p = operator(&state, &headers, "/operator/clients").await?;
    render(
        &state,
        &headers,
        &p,
        None,
        Vec::new(),
        ClientForm::default(),
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Form(f): Form<ClientForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
    let p = operator(&state, &headers, "/operator/clients").await?;
    let req = NewClient {
        name: f.name.clone(),
        redirect_uris: lines(&f.redirect_uris),
        post_logout_redirect_uris: lines(&f.post_logout_redirect_uris),
        public: f.public == "yes",
        first_party: f.first_party == "yes",
        back_channel_logout_uri: Some(f.back_channel_logout_uri.trim().to_string())
            .filter(|u| !u.is_empty()),
        id_token_alg: Some(if f.eddsa == "yes" {
            SigningAlg::EdDSA
        } else {
            SigningAlg::RS256
        }),
    };
    match state.services.support_create_client(&ctx, &p, req).await {
        Ok(r) => {
            let created = Some((r.client.name, r.client.client_id, r.secret));
            render(
                &state,
                &headers,
                &p,
                created,
                Vec::new(),
                ClientForm::default(),
            )
            .await
        }
        Err(Error::Invalid(fields)) => {
            let errors = fields.into_iter().map(|e| e.message).collect();
            render(&state, &headers, &p, None, errors, f).await
        }
        Err(e) => Err(e.into()),
    }
}
