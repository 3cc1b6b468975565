//! SCIM Groups: the app's Admins and Users; PATCH adds or removes members.

use super::{
    GROUP_SCHEMA, LIST_SCHEMA, ScimAuth, ScimError, ScimResult, app, base, body_json, scim_json,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use roster_core::Error;
use roster_core::scim_filter::{Filter, Value as FValue};
use roster_core::service::{ScimGroup, scim_display_name};
use roster_core::types::{AppId, MemberId};
use serde::Deserialize;
use serde_json::{Value, json};

async fn group_json(
    state: &AppState,
    p: &roster_core::Principal,
    app: &AppId,
    g: ScimGroup,
    with_members: bool,
) -> ScimResult<Value> {
    let members: Vec<Value> = if with_members {
        state
            .services
            .scim_group_members(p, app, g)
            .await?
            .iter()
            .map(|m| json!({"value": m.id.to_string(), "display": scim_display_name(m), "$ref": format!("{}/Users/{}", base(state, app), m.id)}))
            .collect()
    } else {
        Vec::new()
    };
    Ok(json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id(),
        "displayName": g.display_name(),
        "members": members,
        "meta": {"resourceType": "Group", "location": format!("{}/Groups/{}", base(state, app), g.id())},
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    filter: Option<String>,
    excluded_attributes: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    ScimAuth(p, _): ScimAuth,
    Path(app_raw): Path<String>,
    Query(q): Query<ListParams>,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let filter = q.filter.as_deref().map(Filter::parse).transpose()?;
    let with_members = !q
        .excluded_attributes
        .as_deref()
        .is_some_and(|e| e.to_ascii_lowercase().contains("members"));
    let mut resources = Vec::new();
    for g in [ScimGroup::Admins, ScimGroup::Users] {
        let matches = filter.as_ref().is_none_or(|f| {
            f.matches(&|a| match a {
                "displayname" => vec![FValue::Str(g.display_name().into())],
                "id" => vec![FValue::Str(g.id().into())],
                _ => Vec::new(),
            })
        });
        if matches {
            resources.push(group_json(&state, &p, &app, g, with_members).await?);
        }
    }
    Ok(scim_json(
        StatusCode::OK,
        json!({"schemas": [LIST_SCHEMA], "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(), "Resources": resources}),
    ))
}

fn group(id: &str) -> ScimResult<ScimGroup> {
    ScimGroup::parse(id).ok_or_else(|| Error::NotFound.into())
}

pub async fn get_one(
    State(state): State<AppState>,
    ScimAuth(p, _): ScimAuth,
    Path((app_raw, id)): Path<(String, String)>,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let g = group(&id)?;
    Ok(scim_json(
        StatusCode::OK,
        group_json(&state, &p, &app, g, true).await?,
    ))
}

/// Member ids in a PATCH value (`[{"value": id}]`) or path (`members[value eq "id"]`).
fn ids_of(path: Option<&str>, value: &Value) -> ScimResult<Vec<MemberId>> {
    let bad = || {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "Name members by their SCIM id.",
        )
    };
    let mut raw: Vec<String> = value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(p) = path
        && let Some(v) = p.split('"').nth(1)
    {
        raw.push(v.to_string());
    }
    raw.iter()
        .map(|r| r.parse::<MemberId>().map_err(|_| bad()))
        .collect()
}

pub async fn patch(
    State(state): State<AppState>,
    ScimAuth(p, ctx): ScimAuth,
    Path((app_raw, id)): Path<(String, String)>,
    body: Bytes,
) -> ScimResult<StatusCode> {
    let app = app(&app_raw)?;
    let g = group(&id)?;
    let body = body_json(&body)?;
    let Some(ops) = body["Operations"].as_array() else {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "Operations is missing.",
        ));
    };
    for op in ops {
        let kind = op["op"].as_str().unwrap_or("").to_ascii_lowercase();
        let path = op["path"].as_str();
        let on_members = path.is_none_or(|p| p.to_ascii_lowercase().starts_with("members"));
        if !on_members {
            continue; // displayName and the like are fixed
        }
        let value = if path.is_none() {
            &op["value"]["members"]
        } else {
            &op["value"]
        };
        let ids = ids_of(path, value)?;
        let add = match kind.as_str() {
            "add" => true,
            "remove" => false,
            "replace" => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("mutability"),
                    "Add or remove members one by one; the groups follow the members.",
                ));
            }
            other => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalidSyntax"),
                    format!("{other:?} is not add or remove."),
                ));
            }
        };
        state
            .services
            .scim_group_change(&ctx, &p, &app, g, add, &ids)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
