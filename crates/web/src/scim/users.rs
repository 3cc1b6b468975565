//! SCIM Users: list (filter, sort, page), create, get, PUT, PATCH, DELETE, with `meta.version`
//! ETags (If-Match on writes).

use super::{
    LIST_SCHEMA, PATCH_SCHEMA, ScimAuth, ScimError, ScimResult, USER_SCHEMA, app, base, body_json,
    scim_json,
};
use crate::AppState;
use crate::dto::ts;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use roster_core::Error;
use roster_core::scim_filter::Filter;
use roster_core::service::{ScimUser, ScimUserInput, scim_active, scim_display_name};
use roster_core::types::{AppId, MemberId};
use serde::Deserialize;
use serde_json::{Value, json};

/// At most this many resources per page.
const MAX_COUNT: usize = 1000;

fn etag(u: &ScimUser) -> String {
    format!("W/\"{}\"", u.version())
}

pub(super) fn user_json(state: &AppState, app: &AppId, u: &ScimUser) -> Value {
    let m = &u.member;
    let created = ts(m.created_at);
    let mut groups = vec![json!({"value": "users", "display": "Users"})];
    if m.admin {
        groups.push(json!({"value": "admins", "display": "Admins"}));
    }
    json!({
        "schemas": [USER_SCHEMA],
        "id": m.id.to_string(),
        "externalId": u.external_id,
        "userName": m.email.as_str(),
        "name": {
            "givenName": m.first_name,
            "familyName": m.last_name,
            "formatted": scim_display_name(m),
        },
        "displayName": scim_display_name(m),
        "emails": [{"value": m.email.as_str(), "type": "work", "primary": true}],
        "active": scim_active(m),
        "groups": groups,
        "meta": {
            "resourceType": "User",
            "created": created,
            "lastModified": created,
            "location": format!("{}/Users/{}", base(state, app), m.id),
            "version": etag(u),
        },
    })
}

fn one(state: &AppState, app: &AppId, status: StatusCode, u: &ScimUser) -> Response {
    let mut res = scim_json(status, user_json(state, app, u));
    if let Ok(v) = HeaderValue::from_str(&etag(u)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("{}/Users/{}", base(state, app), u.member.id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn member_id(raw: &str) -> ScimResult<MemberId> {
    raw.parse().map_err(|_| Error::NotFound.into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    sort_by: Option<String>,
    sort_order: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    ScimAuth(p, _): ScimAuth,
    Path(app_raw): Path<String>,
    Query(q): Query<ListParams>,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let filter = q.filter.as_deref().map(Filter::parse).transpose()?;
    let start = q.start_index.unwrap_or(1).max(1) as usize;
    let count = q.count.unwrap_or(100).clamp(0, MAX_COUNT as i64) as usize;
    let descending = q
        .sort_order
        .as_deref()
        .is_some_and(|o| o.eq_ignore_ascii_case("descending"));
    let (total, page) = state
        .services
        .scim_list_users(
            &p,
            &app,
            filter.as_ref(),
            q.sort_by.as_deref(),
            descending,
            start,
            count,
        )
        .await?;
    let resources: Vec<Value> = page.iter().map(|u| user_json(&state, &app, u)).collect();
    Ok(scim_json(
        StatusCode::OK,
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

/// A boolean as identity providers send it (`false`, or Entra ID's `"False"`).
fn boolish(v: &Value) -> ScimResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Error::invalid("active", "Use true or false.").into()),
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// The address in an `emails` value: the primary one, else the first.
fn primary_email(v: &Value) -> Option<String> {
    let list = v.as_array()?;
    list.iter()
        .find(|e| e["primary"].as_bool() == Some(true))
        .or_else(|| list.first())
        .and_then(|e| text(&e["value"]))
}

/// Apply one attribute (`path` lower-case) to the input; unknown attributes are ignored, as
/// identity providers send many Roster does not keep.
fn set(input: &mut ScimUserInput, path: &str, v: &Value) -> ScimResult<()> {
    match path {
        "username" => input.email = text(v).or(input.email.take()),
        "emails" => {
            if let Some(e) = primary_email(v) {
                input.email = Some(e);
            }
        }
        "emails[type eq \"work\"].value" | "emails.value" => input.email = text(v),
        "name" => {
            if let Some(g) = v.get("givenName").and_then(Value::as_str) {
                input.given_name = Some(g.to_string());
            }
            if let Some(f) = v.get("familyName") {
                input.family_name = Some(text(f));
            }
        }
        "name.givenname" => input.given_name = text(v),
        "name.familyname" => input.family_name = Some(text(v)),
        "externalid" => input.external_id = Some(text(v)),
        "active" => input.active = Some(boolish(v)?),
        _ => {}
    }
    Ok(())
}

/// A full User body (create, PUT).
fn from_resource(body: &Value) -> ScimResult<ScimUserInput> {
    let mut input = ScimUserInput::default();
    let Some(obj) = body.as_object() else {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "Send a User object.",
        ));
    };
    for (k, v) in obj {
        set(&mut input, &k.to_ascii_lowercase(), v)?;
    }
    if input.email.is_none() {
        return Err(Error::invalid(
            "userName",
            "userName (the member's email address) is required.",
        )
        .into());
    }
    if input.external_id.is_none() {
        input.external_id = Some(None);
    }
    if input.family_name.is_none() {
        input.family_name = Some(None);
    }
    Ok(input)
}

/// `If-Match`: the write goes ahead only if the user is still that version.
fn check_if_match(headers: &HeaderMap, u: &ScimUser) -> ScimResult<()> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let v = v.to_str().unwrap_or("").trim();
    if v == "*" || v == etag(u) {
        Ok(())
    } else {
        Err(Error::PreconditionFailed.into())
    }
}

pub async fn create(
    State(state): State<AppState>,
    ScimAuth(p, ctx): ScimAuth,
    Path(app_raw): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let input = from_resource(&body_json(&body)?)?;
    let u = state
        .services
        .scim_create_user(&ctx, &p, &app, input)
        .await?;
    Ok(one(&state, &app, StatusCode::CREATED, &u))
}

pub async fn get_one(
    State(state): State<AppState>,
    ScimAuth(p, _): ScimAuth,
    Path((app_raw, id)): Path<(String, String)>,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let u = state
        .services
        .scim_get_user(&p, &app, member_id(&id)?)
        .await?;
    Ok(one(&state, &app, StatusCode::OK, &u))
}

pub async fn replace(
    State(state): State<AppState>,
    ScimAuth(p, ctx): ScimAuth,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
    body: Bytes,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let id = member_id(&id)?;
    let input = from_resource(&body_json(&body)?)?;
    update(&state, &p, &ctx, &app, id, &headers, input).await
}

/// PUT and PATCH: the change, if the user is still the version `If-Match` names.
async fn update(
    state: &AppState,
    p: &roster_core::Principal,
    ctx: &roster_core::Ctx,
    app: &AppId,
    id: MemberId,
    headers: &HeaderMap,
    input: ScimUserInput,
) -> ScimResult<Response> {
    let current = state.services.scim_get_user(p, app, id).await?;
    check_if_match(headers, &current)?;
    let u = state
        .services
        .scim_update_user(ctx, p, app, id, input)
        .await?;
    Ok(one(state, app, StatusCode::OK, &u))
}

pub async fn patch(
    State(state): State<AppState>,
    ScimAuth(p, ctx): ScimAuth,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
    body: Bytes,
) -> ScimResult<Response> {
    let app = app(&app_raw)?;
    let id = member_id(&id)?;
    let body = body_json(&body)?;
    if !body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x == PATCH_SCHEMA))
    {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            format!("A PATCH body is a {PATCH_SCHEMA}."),
        ));
    }
    let Some(ops) = body["Operations"].as_array() else {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "Operations is missing.",
        ));
    };
    let mut input = ScimUserInput::default();
    for op in ops {
        let kind = op["op"].as_str().unwrap_or("").to_ascii_lowercase();
        let path = op["path"].as_str().map(str::to_ascii_lowercase);
        let value = &op["value"];
        match (kind.as_str(), path) {
            ("add" | "replace", Some(path)) => set(&mut input, &path, value)?,
            ("add" | "replace", None) => {
                let Some(obj) = value.as_object() else {
                    return Err(ScimError::new(
                        StatusCode::BAD_REQUEST,
                        Some("invalidValue"),
                        "A PATCH without a path needs an object value.",
                    ));
                };
                for (k, v) in obj {
                    set(&mut input, &k.to_ascii_lowercase(), v)?;
                }
            }
            ("remove", Some(path)) => match path.as_str() {
                "externalid" => input.external_id = Some(None),
                "name.familyname" => input.family_name = Some(None),
                _ => {}
            },
            ("remove", None) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("noTarget"),
                    "A remove needs a path.",
                ));
            }
            (other, _) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalidSyntax"),
                    format!("{other:?} is not add, replace or remove."),
                ));
            }
        }
    }
    update(&state, &p, &ctx, &app, id, &headers, input).await
}

pub async fn delete(
    State(state): State<AppState>,
    ScimAuth(p, ctx): ScimAuth,
    headers: HeaderMap,
    Path((app_raw, id)): Path<(String, String)>,
) -> ScimResult<StatusCode> {
    let app = app(&app_raw)?;
    let id = member_id(&id)?;
    let current = state.services.scim_get_user(&p, &app, id).await?;
    check_if_match(&headers, &current)?;
    state.services.scim_delete_user(&ctx, &p, &app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
