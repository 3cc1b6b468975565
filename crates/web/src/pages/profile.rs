//! Profile journey: the initial setup steps (details, signature, logo), the profile page and
//! the logo.

use super::frame::{
    Csrf, FieldErrors, Nav, Page, PageResult, app_id, check_csrf, form_outcome, nav_for,
    require_login, see_other,
};
use crate::AppState;
use crate::extract::RequestCtx;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use roster_core::types::AppId;
use roster_core::{Ctx, Error, Principal};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/{app_id}/setup", get(setup_start))
        .route(
            "/app/{app_id}/setup/1",
            get(setup_step_1).post(setup_details),
        )
        .route(
            "/app/{app_id}/setup/2",
            get(setup_step_2).post(setup_signature),
        )
        .route(
            "/app/{app_id}/setup/3",
            get(setup_step_3)
                .post(setup_logo)
                .layer(DefaultBodyLimit::max(3 * 1024 * 1024)),
        )
        .route("/app/{app_id}/profile", get(profile_page))
        .route("/app/{app_id}/profile/logo", get(logo))
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    app_name: String,
    step: u8,
    /// The step's place in this app's setup ("Step 1 of 1" when only the logo is asked).
    step_no: usize,
    step_total: usize,
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
    let view = state
        .services
        .profile(&Ctx::at(state.now()), p, app)
        .await?;
    let (step_no, step_total) = if from_profile {
        (usize::from(step), 3)
    } else {
        view.setup.position(step)
    };
    let id = view.id;
    let nav = nav_for(state, p, Some(app)).await?;
    let (errors, problem, status) = form_outcome(err)?;
    let csrf = Csrf::of(headers, state);
    let t = SetupPage {
        product: &state.services.settings().product_name,
        app_id: app.to_string(),
        app_name: nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        nav: Some(nav),
        csrf: csrf.token.clone(),
        step,
        step_no,
        step_total,
        from_profile,
        first_name: typed.first_name.unwrap_or_else(|| id.first_name.clone()),
        last_name: typed
            .last_name
            .unwrap_or_else(|| id.last_name.clone().unwrap_or_default()),
        phone: typed
            .phone
            .unwrap_or_else(|| id.phone.clone().unwrap_or_default()),
        time_zone: typed
            .time_zone
            .unwrap_or_else(|| id.time_zone.clone().unwrap_or_default()),
        zones: roster_core::service::time_zones(),
        signature_html: typed
            .signature_html
            .unwrap_or_else(|| id.signature_html.clone().unwrap_or_default()),
        signature_text: typed
            .signature_text
            .unwrap_or_else(|| id.signature_text.clone().unwrap_or_default()),
        has_logo: view.app.logo.is_some(),
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
    if !from_profile {
        // Only what is missing is asked: a step the ID already set up elsewhere is passed over.
        let view = state
            .services
            .profile(&Ctx::at(state.now()), &p, &app)
            .await?;
        let to = view.setup.from_step(step);
        if to != step {
            return Ok(see_other(&format!("/app/{app}/setup/{to}")));
        }
    }
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

/// Where a step goes next: back to the profile, or the next step of this app's setup.
async fn after_step(
    state: &AppState,
    p: &Principal,
    app: &AppId,
    step: u8,
    from_profile: bool,
) -> Result<String, Error> {
    if from_profile {
        return Ok(format!("/app/{app}/profile"));
    }
    let view = state
        .services
        .profile(&Ctx::at(state.now()), p, app)
        .await?;
    let next = view.setup.after(step).unwrap_or(3);
    Ok(format!("/app/{app}/setup/{next}"))
}

pub async fn setup_details(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(c): RequestCtx,
    Path(app_raw): Path<String>,
    Query(fq): Query<FromQuery>,
    Form(f): Form<DetailsForm>,
) -> PageResult {
    check_csrf(&state, &headers, &f.csrf)?;
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
    Ok(see_other(
        &after_step(&state, &p, &app, 1, from_profile).await?,
    ))
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
    check_csrf(&state, &headers, &f.csrf)?;
    let p = require_login(&state, &headers, &format!("/app/{app_raw}/setup/2")).await?;
    let app = app_id(&app_raw)?;
    let from_profile = fq.from.as_deref() == Some("profile");
    let typed = || Typed {
        signature_html: Some(f.signature_html.clone()),
        signature_text: Some(f.signature_text.clone()),
        ..Typed::default()
    };
    match f.action.as_str() {
        "skip" => Ok(see_other(
            &after_step(&state, &p, &app, 2, from_profile).await?,
        )),
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
            Ok(_) => Ok(see_other(
                &after_step(&state, &p, &app, 2, from_profile).await?,
            )),
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
    check_csrf(&state, &headers, &csrf)?;
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
    let view = state
        .services
        .profile(&Ctx::at(state.now()), &p, &app)
        .await?;
    let logo = view.app.logo.ok_or(Error::NotFound)?;
    Ok(logo_response(logo))
}

/// A stored logo as an answer (page and API): its own type, cached briefly by the browser
/// only, and a policy that keeps it an image even when opened on its own.
pub(crate) fn logo_response(logo: roster_core::model::Logo) -> Response {
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
    res
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
    signature_html: String,
    signature_text: String,
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
    let view = state
        .services
        .profile(&Ctx::at(state.now()), &p, &app)
        .await?;
    let id = view.id;
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let csrf = Csrf::of(&headers, &state);
    let t = ProfilePage {
        product: &state.services.settings().product_name,
        app_id: app.to_string(),
        app_name: nav.app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        nav: Some(nav),
        csrf: csrf.token.clone(),
        name: [Some(id.first_name.as_str()), id.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        phone: id.phone.unwrap_or_else(|| "—".into()),
        time_zone: id.time_zone.unwrap_or_else(|| "—".into()),
        signature_html: id.signature_html.unwrap_or_default(),
        signature_text: id.signature_text.unwrap_or_default(),
        has_logo: view.app.logo.is_some(),
        setup_done: view.app.setup_done,
    };
    Ok(Page::new(&t, &csrf)?.into_response())
}
