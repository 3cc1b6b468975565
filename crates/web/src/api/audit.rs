//! Audit journey: an app's audit log for its admins, and an ID's own security activity; both
//! filtered (person, action, dates) and paged with a cursor.

use super::app_id;
use crate::AppState;
use crate::extract::{AppAuth, Auth, RequestCtx};
use crate::problem::ApiResult;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use roster_core::Error;
use roster_core::model::{AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{app_id}/audit", get(audit))
        .route("/me/security-activity", get(security_activity))
}

#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub at: String,
    /// Who did it (an email, "Roster support", or the email typed at a failed login).
    pub actor: String,
    pub app_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditDto>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Part of the actor's email.
    pub actor: Option<String>,
    /// The action, or its start (`login.` lists every login event).
    pub action: Option<String>,
    /// From this day (YYYY-MM-DD, UTC) or instant (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Until this day (inclusive) or instant (exclusive).
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

fn instant(field: &'static str, raw: &str, end_of_day: bool) -> Result<OffsetDateTime, Error> {
    use time::format_description::well_known::Rfc3339;
    let raw = raw.trim();
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(t);
    }
    let day = time::Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| Error::invalid(field, "A date (YYYY-MM-DD) or an RFC 3339 instant."))?;
    let day = if end_of_day {
        day.next_day().unwrap_or(day)
    } else {
        day
    };
    Ok(day.midnight().assume_utc())
}

pub(crate) fn encode_cursor(e: &AuditEvent) -> String {
    let raw = format!("{}:{}", e.at.unix_timestamp_nanos(), e.id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(raw: &str) -> Result<(OffsetDateTime, uuid::Uuid), Error> {
    let bad = || Error::invalid("cursor", "Not a cursor from a previous page.");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (nanos, id) = text.split_once(':').ok_or_else(bad)?;
    let nanos: i128 = nanos.parse().map_err(|_| bad())?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

impl AuditQuery {
    /// The filter, and the page size.
    pub(crate) fn filter(&self) -> Result<(AuditFilter, u32), Error> {
        let text = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(200).collect::<String>())
        };
        let f = AuditFilter {
            actor: None,
            actor_text: text(&self.actor),
            action: text(&self.action),
            from: text(&self.from)
                .map(|s| instant("from", &s, false))
                .transpose()?,
            to: text(&self.to)
                .map(|s| instant("to", &s, true))
                .transpose()?,
            before: text(&self.cursor).map(|c| decode_cursor(&c)).transpose()?,
        };
        Ok((f, self.limit.unwrap_or(50).clamp(1, 200)))
    }
}

fn page(events: Vec<AuditEvent>, limit: u32) -> AuditPage {
    let next_cursor = (events.len() as u32 >= limit)
        .then(|| events.last().map(encode_cursor))
        .flatten();
    AuditPage {
        items: events
            .into_iter()
            .map(|e| AuditDto {
                at: crate::dto::ts(e.at),
                actor: e.actor_label,
                app_id: e.app_id.map(|a| a.to_string()),
                action: e.action,
                target: e.target,
                client_addr: e.client_addr,
                user_agent: e.user_agent,
                details: e.details,
            })
            .collect(),
        next_cursor,
    }
}

#[utoipa::path(get, path = "/api/v1/apps/{app_id}/audit", tag = "audit",
    params(("app_id" = String, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 404, description = "not an admin of this app")))]
pub async fn audit(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    Path(app): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let app = app_id(&app)?;
    let (filter, limit) = q.filter()?;
    let events = state.services.list_audit(&p, &app, &filter, limit).await?;
    Ok(Json(page(events, limit)))
}

#[utoipa::path(get, path = "/api/v1/me/security-activity", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn security_activity(
    State(state): State<AppState>,
    RequestCtx(_ctx): RequestCtx,
    Auth(p): Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (filter, limit) = q.filter()?;
    let events = state.services.security_activity(&p, &filter, limit).await?;
    Ok(Json(page(events, limit)))
}
