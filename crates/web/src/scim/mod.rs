//! SCIM 2.0 (RFC 7643/7644) at `/scim/v2/{app_id}/`: authenticated by a service key with the
//! `scim` scope; bodies and errors are `application/scim+json`. One module per resource:
//! `users`, `groups`, and `meta` (ServiceProviderConfig, ResourceTypes, Schemas).

mod groups;
mod meta;
mod users;

use crate::AppState;
use crate::extract::{api_key, request_ctx};
use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roster_core::model::ApiScope;
use roster_core::types::AppId;
use roster_core::{Ctx, Error, Principal};
use serde_json::{Value, json};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/{app_id}/ServiceProviderConfig",
            get(meta::service_provider_config),
        )
        .route("/scim/v2/{app_id}/ResourceTypes", get(meta::resource_types))
        .route("/scim/v2/{app_id}/Schemas", get(meta::schemas))
        .route(
            "/scim/v2/{app_id}/Users",
            get(users::list).post(users::create),
        )
        .route(
            "/scim/v2/{app_id}/Users/{id}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/scim/v2/{app_id}/Groups", get(groups::list))
        .route(
            "/scim/v2/{app_id}/Groups/{id}",
            get(groups::get_one).patch(groups::patch),
        )
        .route("/scim/v2/{app_id}/{*rest}", axum::routing::any(unknown))
}

async fn unknown() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, "No such SCIM resource.")
}

/// A SCIM error response.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let (status, t, detail) = match &e {
            Error::Invalid(fields) => {
                let t = if fields.iter().any(|f| f.field == "filter") {
                    "invalidFilter"
                } else {
                    "invalidValue"
                };
                let d = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join(" ");
                (S::BAD_REQUEST, Some(t), d)
            }
            Error::NotFound => (S::NOT_FOUND, None, "No such resource.".into()),
            Error::AlreadyMember | Error::AlreadyInvited => (
                S::CONFLICT,
                Some("uniqueness"),
                "A member of this app already has this userName or externalId.".into(),
            ),
            Error::SeatUnavailable { total, held } => (
                S::CONFLICT,
                None,
                format!(
                    "No seat is free: all {total} seats of the app are in use ({held} held). \
                     Buy seats or free one, then create the user again."
                ),
            ),
            Error::LastAdmin => (S::CONFLICT, None, e.to_string()),
            Error::InvalidTransition(why) => (S::BAD_REQUEST, Some("mutability"), why.to_string()),
            Error::PreconditionFailed => (S::PRECONDITION_FAILED, None, e.to_string()),
            Error::InsufficientScope(_) => (
                S::FORBIDDEN,
                None,
                "SCIM needs a service key of this app with the scim scope.".into(),
            ),
            Error::Unauthenticated => (
                S::UNAUTHORIZED,
                None,
                "Send a service key with the scim scope: Authorization: Bearer rk_live_…".into(),
            ),
            Error::RateLimited { .. } => (S::TOO_MANY_REQUESTS, None, e.to_string()),
            Error::Store(roster_core::StoreError::Unavailable(_)) => (
                S::SERVICE_UNAVAILABLE,
                None,
                "The service is temporarily unavailable.".into(),
            ),
            _ => {
                tracing::error!(error = %e, "SCIM request failed");
                (
                    S::INTERNAL_SERVER_ERROR,
                    None,
                    "Something went wrong on our side. It has been logged.".into(),
                )
            }
        };
        ScimError::new(status, t, detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_json(self.status, body)
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// A SCIM JSON response.
pub fn scim_json(status: StatusCode, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    res
}

/// Read a JSON body (application/scim+json or application/json); malformed is invalidSyntax.
pub fn body_json(body: &Bytes) -> ScimResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            format!("The body is not JSON: {e}."),
        )
    })
}

/// A SCIM request: the service key (with the `scim` scope) and the request's context.
pub struct ScimAuth(pub Principal, pub Ctx);

impl FromRequestParts<AppState> for ScimAuth {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let ctx = request_ctx(parts, state);
        let raw = api_key(&parts.headers).ok_or(Error::Unauthenticated)?;
        let p = state.services.authenticate_key(&ctx, raw).await?;
        if !p.key.as_ref().is_some_and(|k| k.has(ApiScope::Scim)) {
            return Err(Error::InsufficientScope("scim").into());
        }
        Ok(ScimAuth(p, ctx))
    }
}

fn app(raw: &str) -> ScimResult<AppId> {
    AppId::parse(raw).map_err(|_| Error::NotFound.into())
}

/// The base of this app's SCIM resources (for `meta.location`).
fn base(state: &AppState, app: &AppId) -> String {
    format!("{}/scim/v2/{app}", state.base_url)
}
