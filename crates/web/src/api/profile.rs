//! Profile journey (API): the caller's profile in an app — the ID's name, phone, time zone and
//! email signature (the same in every app) and this app's part (logo, setup finished).

use super::app_id;
use crate::AppState;
use crate::extract::{ApiJson, AppAuth, RequestCtx};
use crate::problem::ApiResult;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
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
        .route(
            "/apps/{app_id}/profile/logo",
            get(get_logo)
                .put(put_logo)
                .delete(delete_logo)
                .layer(DefaultBodyLimit::max(LOGO_BODY_LIMIT)),
        )
}

/// A logo upload's body: the image itself, at most 2 MB (larger: 413 `body_too_large`).
const LOGO_BODY_LIMIT: usize = roster_core::service::MAX_LOGO_BYTES;

/// The Content-Types a logo upload may declare (the image type itself is told by its bytes).
const LOGO_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/webp",
    "application/octet-stream",
];

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

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/profile/logo", tag = "profile",
    params(("app_id" = String, Path)),
    responses((status = 200, description = "The caller's logo or photo in this app",
        content(("image/png"), ("image/jpeg"), ("image/webp"))),
        (status = 404, description = "not_found: no logo (or no such app)")))]
pub async fn get_logo(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
) -> ApiResult<Response> {
    let app = app_id(&app)?;
    person(&p)?;
    let v = state.services.profile(&ctx, &p, &app).await?;
    let logo = v.app.logo.ok_or(Error::NotFound)?;
    Ok(crate::pages::profile::logo_response(logo))
}

#[utoipa::path(put, path = "/api/v1/apps/{app_id}/profile/logo", tag = "profile",
    params(("app_id" = String, Path)),
    request_body(description = "The image itself: PNG, JPEG or WebP (told by its bytes, not by its Content-Type), at most 2 MB.",
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
    responses((status = 200, body = ProfileDto, description = "Saved: the profile now has a logo"),
        (status = 413, description = "body_too_large: the image is larger than 2 MB"),
        (status = 415, description = "unsupported_media_type: the body is not declared as an image"),
        (status = 422, description = "invalid_input: not a PNG, JPEG or WebP image")))]
pub async fn put_logo(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<ProfileDto>> {
    let app = app_id(&app)?;
    person(&p)?;
    if !LOGO_TYPES.contains(&crate::extract::media_type(&headers).as_str()) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the image itself as the body, as image/png, image/jpeg, image/webp or application/octet-stream.",
        )
        .into());
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The image is larger than 2 MB.",
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
        }
    })?;
    state
        .services
        .save_logo(&ctx, &p, &app, body.to_vec())
        .await?;
    get_profile(
        State(state),
        AppAuth(p),
        RequestCtx(ctx),
        Path(app.to_string()),
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/apps/{app_id}/profile/logo", tag = "profile",
    params(("app_id" = String, Path)),
    responses((status = 204, description = "The logo is gone (or there was none)")))]
pub async fn delete_logo(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
) -> ApiResult<StatusCode> {
    let app = app_id(&app)?;
    person(&p)?;
    state.services.remove_logo(&ctx, &p, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}
