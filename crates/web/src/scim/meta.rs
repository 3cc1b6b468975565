//! SCIM discovery: ServiceProviderConfig, ResourceTypes, Schemas (RFC 7644 §4).

use super::{GROUP_SCHEMA, LIST_SCHEMA, ScimAuth, ScimResult, USER_SCHEMA, app, base, scim_json};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

pub async fn service_provider_config(
    State(state): State<AppState>,
    ScimAuth(..): ScimAuth,
    Path(app_raw): Path<String>,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    Ok(scim_json(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": format!("{}/api/docs", state.base_url),
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 1000},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Service key",
                "description": "A service key of the app with the scim scope, as a bearer token.",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", base(&state, &app))},
        }),
    ))
}

pub async fn resource_types(
    State(state): State<AppState>,
    ScimAuth(..): ScimAuth,
    Path(app_raw): Path<String>,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let b = base(&state, &app);
    let types = [
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User", "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA, "meta": {"resourceType": "ResourceType", "location": format!("{b}/ResourceTypes/User")}}),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA, "meta": {"resourceType": "ResourceType", "location": format!("{b}/ResourceTypes/Group")}}),
    ];
    Ok(scim_json(
        StatusCode::OK,
        json!({"schemas": [LIST_SCHEMA], "totalResults": 2, "startIndex": 1, "itemsPerPage": 2, "Resources": types}),
    ))
}

fn attr(
    name: &str,
    kind: &str,
    required: bool,
    mutability: &str,
    uniqueness: &str,
) -> serde_json::Value {
    json!({"name": name, "type": kind, "multiValued": false, "required": required, "caseExact": false,
        "mutability": mutability, "returned": "default", "uniqueness": uniqueness})
}

pub async fn schemas(ScimAuth(..): ScimAuth) -> ScimResult<Response> {
    let user = json!({
        "id": USER_SCHEMA, "name": "User", "description": "A member of the app",
        "attributes": [
            attr("userName", "string", true, "readWrite", "server"),
            attr("externalId", "string", false, "readWrite", "server"),
            json!({"name": "name", "type": "complex", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "default",
                "subAttributes": [attr("givenName", "string", true, "readWrite", "none"), attr("familyName", "string", false, "readWrite", "none"), attr("formatted", "string", false, "readOnly", "none")]}),
            attr("displayName", "string", false, "readOnly", "none"),
            json!({"name": "emails", "type": "complex", "multiValued": true, "required": false, "mutability": "readWrite", "returned": "default",
                "subAttributes": [attr("value", "string", true, "readWrite", "server"), attr("type", "string", false, "readWrite", "none"), attr("primary", "boolean", false, "readWrite", "none")]}),
            attr("active", "boolean", false, "readWrite", "none"),
            json!({"name": "groups", "type": "complex", "multiValued": true, "required": false, "mutability": "readOnly", "returned": "default"}),
        ],
        "meta": {"resourceType": "Schema"},
    });
    let group = json!({
        "id": GROUP_SCHEMA, "name": "Group", "description": "Admins or Users of the app",
        "attributes": [
            attr("displayName", "string", true, "readOnly", "server"),
            json!({"name": "members", "type": "complex", "multiValued": true, "required": false, "mutability": "readWrite", "returned": "default"}),
        ],
        "meta": {"resourceType": "Schema"},
    });
    Ok(scim_json(
        StatusCode::OK,
        json!({"schemas": [LIST_SCHEMA], "totalResults": 2, "startIndex": 1, "itemsPerPage": 2, "Resources": [user, group]}),
    ))
}
