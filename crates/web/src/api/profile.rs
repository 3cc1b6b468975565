//! Profile journey (API): the caller's profile in an app — the ID's name, phone, time zone and
//! email signature (the same in every app) and this app's part (logo, setup finished).

use super::app_id;
use crate::AppState;
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use roster_core::model::IdentityProfile;
use roster_core::service::ProfileDetails;
use roster_core::{Error, Principal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{app_id}/profile", get(get_profile).put(put_details))
        .route("/apps/{app_id}/profile/signature", put(put_signature))
}

/// The caller's profile.
#[derive(Serialize, ToSchema)]
pub struct ProfileDto {
    pub member_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// An IANA time zone, e.g. `Europe/Paris`.
    pub time_zone: Option<String>,
    pub signature_html: Option<String>,
    pub signature_text: Option<String>,
    /// Whether this app has a logo (upload it on the profile page).
    pub has_logo: bool,
    pub setup_done: bool,
}

fn dto(
    member_id: String,
    email: String,
    id: IdentityProfile,
    has_logo: bool,
    setup_done: bool,
) -> ProfileDto {
    ProfileDto {
        member_id,
        email,
        first_name: id.first_name,
        last_name: id.last_name,
        phone: id.phone,
        time_zone: id.time_zone,
        signature_html: id.signature_html,
        signature_text: id.signature_text,
        has_logo,
        setup_done,
    }
}

/// A profile belongs to a person: a service key has none.
fn person(p: &Principal) -> Result<(), Error> {
    p.person().map(|_| ()).ok_or(Error::NotFound)
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/profile", tag = "profile",
    params(("app_id" = String, Path)), responses((status = 200, body = ProfileDto)))]
pub async fn get_profile(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
) -> ApiResult<Json<ProfileDto>> {
    let app = app_id(&app)?;
    person(&p)?;
    let v = state.services.profile(&ctx, &p, &app).await?;
    Ok(Json(dto(
        v.member.id.to_string(),
        v.member.email.to_string(),
        v.id,
        v.app.logo.is_some(),
        v.app.setup_done,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"first_name": "Ada", "last_name": "Admin", "phone": "+33 1 23 45 67 89", "time_zone": "Europe/Paris"}))]
pub struct DetailsBody {
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/apps/{app_id}/profile", tag = "profile",
    params(("app_id" = String, Path)), request_body = DetailsBody,
    responses((status = 200, body = ProfileDto)))]
pub async fn put_details(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(b): ApiJson<DetailsBody>,
) -> ApiResult<Json<ProfileDto>> {
    let app = app_id(&app)?;
    person(&p)?;
    state
        .services
        .save_details(
            &ctx,
            &p,
            &app,
            ProfileDetails {
                first_name: b.first_name,
                last_name: b.last_name,
                phone: b.phone,
                time_zone: b.time_zone,
            },
        )
        .await?;
    get_profile(
        State(state),
        AppAuth(p),
        RequestCtx(ctx),
        Path(app.to_string()),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"html": "<p><b>Ada Admin</b><br>Acme</p>", "text": "Ada Admin\nAcme"}))]
pub struct SignatureBody {
    /// At most 10,000 characters; pages show it in a sandbox (no script runs).
    pub html: String,
    pub text: String,
}

#[utoipa::path(put, path = "/api/v1/apps/{app_id}/profile/signature", tag = "profile",
    params(("app_id" = String, Path)), request_body = SignatureBody,
    responses((status = 200, body = ProfileDto)))]
pub async fn put_signature(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    ApiJson(b): ApiJson<SignatureBody>,
) -> ApiResult<Json<ProfileDto>> {
    let app = app_id(&app)?;
    person(&p)?;
    state
        .services
        .save_signature(&ctx, &p, &app, b.html, b.text)
        .await?;
    get_profile(
        State(state),
        AppAuth(p),
        RequestCtx(ctx),
        Path(app.to_string()),
    )
    .await
}
