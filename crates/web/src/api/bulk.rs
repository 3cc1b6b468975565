//! Bulk invitations (API): `POST /api/v1/apps/{app_id}/invitations/bulk` with a JSON array of
//! rows or a CSV file (`text/csv`, header row `email,first_name,last_name,admin,kind`). Each row
//! succeeds or fails on its own; the answer lists every row.

use super::app_id;
use crate::AppState;
use crate::dto::MemberKindDto;
use crate::extract::{AppAuth, RequestCtx};
use crate::problem::{ApiResult, Problem};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use roster_core::Error;
use roster_core::model::{BulkReport, BulkRow};
use roster_core::types::MemberKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest list accepted (100,000 rows of CSV fit comfortably).
pub const BULK_BODY_LIMIT: usize = 16 * 1024 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/apps/{app_id}/invitations/bulk",
        post(invite_bulk).layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
    )
}

/// One row of a bulk invitation.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"email": "rohit@example.com", "first_name": "Rohit", "last_name": "Shah", "admin": false, "kind": "user"}))]
pub struct BulkRowDto {
    pub email: String,
    /// Needed for users.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// Default `user`.
    pub kind: Option<MemberKindDto>,
}

/// What became of one row.
#[derive(Serialize, ToSchema)]
pub struct BulkRowResult {
    /// 1-based position in the list (the CSV header row not counted).
    pub row: usize,
    pub email: String,
    pub status: BulkRowStatus,
    /// Why it failed.
    pub code: Option<BulkErrorCode>,
    pub message: Option<String>,
    pub invitation_id: Option<String>,
    pub member_id: Option<String>,
}

/// Why a row was not invited.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum BulkErrorCode {
    InvalidEmail,
    InvalidInput,
    DuplicateInFile,
    AlreadyMember,
    AlreadyInvited,
    SeatUnavailable,
}

impl BulkErrorCode {
    fn of(code: &str) -> Self {
        match code {
            "invalid_email" => BulkErrorCode::InvalidEmail,
            "duplicate_in_file" => BulkErrorCode::DuplicateInFile,
            "already_member" => BulkErrorCode::AlreadyMember,
            "already_invited" => BulkErrorCode::AlreadyInvited,
            "seat_unavailable" => BulkErrorCode::SeatUnavailable,
            _ => BulkErrorCode::InvalidInput,
        }
    }
}

#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum BulkRowStatus {
    Invited,
    Failed,
}

/// The answer: counts, the seats that would have covered the refused rows, every row.
#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub invited: usize,
    pub failed: usize,
    /// How many more seats would let every `seat_unavailable` row through.
    pub seats_needed: usize,
    pub rows: Vec<BulkRowResult>,
}

impl From<BulkReport> for BulkResult {
    fn from(r: BulkReport) -> Self {
        BulkResult {
            invited: r.invited,
            failed: r.failed,
            seats_needed: r.seats_needed,
            rows: r
                .rows
                .into_iter()
                .map(|o| BulkRowResult {
                    row: o.row,
                    email: o.email,
                    status: if o.error.is_none() {
                        BulkRowStatus::Invited
                    } else {
                        BulkRowStatus::Failed
                    },
                    code: o.error.as_ref().map(|e| BulkErrorCode::of(&e.code)),
                    message: o.error.map(|e| e.message),
                    invitation_id: o.invitation_id.map(|i| i.to_string()),
                    member_id: o.member_id.map(|m| m.to_string()),
                })
                .collect(),
        }
    }
}

/// Read a CSV list: a header row naming the columns (`email` needed; `first_name`,
/// `last_name`, `admin`, `kind` optional, in any order), then one row per person. A row that
/// cannot be read is kept, with its problem, so it fails on its own.
pub fn parse_csv(text: &[u8]) -> Result<Vec<BulkRow>, Error> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text);
    let header_problem = || {
        Error::invalid(
            "file",
            "The first line must name the columns: email,first_name,last_name,admin,kind.",
        )
    };
    let headers = rdr.byte_headers().map_err(|_| header_problem())?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.as_bytes()))
    };
    let Some(email_col) = col("email") else {
        return Err(header_problem());
    };
    let (first, last, admin, kind) = (
        col("first_name"),
        col("last_name"),
        col("admin"),
        col("kind"),
    );
    let mut rows = Vec::new();
    for rec in rdr.byte_records() {
        let mut row = BulkRow::default();
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                row.problem = Some(format!("This line cannot be read: {e}."));
                rows.push(row);
                continue;
            }
        };
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let field = |i: Option<usize>| -> Result<Option<String>, String> {
            match i.and_then(|i| rec.get(i)) {
                None | Some(b"") => Ok(None),
                Some(b) => std::str::from_utf8(b)
                    .map(|s| Some(s.to_string()))
                    .map_err(|_| "This line is not UTF-8 text.".to_string()),
            }
        };
        let read = (|| -> Result<(), String> {
            row.email = field(Some(email_col))?.unwrap_or_default();
            row.first_name = field(first)?;
            row.last_name = field(last)?;
            row.kind = field(kind)?;
            row.admin = match field(admin)?.map(|a| a.to_ascii_lowercase()).as_deref() {
                None | Some("no" | "false" | "0" | "n") => false,
                Some("yes" | "true" | "1" | "y") => true,
                Some(other) => return Err(format!("admin: {other:?} is not yes or no.")),
            };
            Ok(())
        })();
        if let Err(p) = read {
            row.problem = Some(p);
        }
        rows.push(row);
    }
    Ok(rows)
}

#[utoipa::path(post, path = "/api/v1/apps/{app_id}/invitations/bulk", tag = "invitations",
    params(("app_id" = String, Path)),
    request_body(description = "A JSON array of rows, or a CSV file (text/csv) whose first line is `email,first_name,last_name,admin,kind`.",
        content((Vec<BulkRowDto> = "application/json", example = json!([{"email": "rohit@example.com", "first_name": "Rohit", "last_name": "Shah", "admin": false, "kind": "user"}, {"email": "mike@partner.example", "kind": "partner"}])), (String = "text/csv", example = "email,first_name,last_name,admin,kind\nrohit@example.com,Rohit,Shah,no,user\nmike@partner.example,Mike,,no,partner\n"))),
    responses((status = 200, body = BulkResult, description = "Every row, invited or failed with its reason")))]
pub async fn invite_bulk(
    State(state): State<AppState>,
    AppAuth(p): AppAuth,
    RequestCtx(ctx): RequestCtx,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<BulkResult>> {
    let app = app_id(&app)?;
    let rows = match crate::extract::media_type(&headers).as_str() {
        "text/csv" => parse_csv(&body)?,
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    format!("The body is not JSON: {e}."),
                )
            })?;
            let dtos: Vec<BulkRowDto> = serde_json::from_value(value).map_err(|e| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    format!("The list cannot be read: {e}."),
                )
            })?;
            dtos.into_iter()
                .map(|d| BulkRow {
                    email: d.email,
                    first_name: d.first_name,
                    last_name: d.last_name,
                    admin: d.admin,
                    kind: d.kind.map(|k| MemberKind::from(k).as_str().to_string()),
                    problem: None,
                })
                .collect()
        }
        _ => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send a JSON array (application/json) or a CSV file (text/csv).",
            )
            .into());
        }
    };
    let report = state.services.invite_bulk(&ctx, &p, &app, rows).await?;
    Ok(Json(report.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_read_by_header_and_bad_rows_kept_with_their_problem() {
        let rows = parse_csv(
            b"\xEF\xBB\xBFEmail,first_name,kind,admin\n a@x.test , Ann ,user,yes\n\nb@x.test,Bo,partner,maybe\nc@x.test\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].email, "a@x.test");
        assert_eq!(rows[0].first_name.as_deref(), Some("Ann"));
        assert!(rows[0].admin);
        assert!(rows[1].problem.as_deref().unwrap().contains("maybe"));
        assert_eq!(rows[2].email, "c@x.test");
        assert!(rows[2].first_name.is_none() && rows[2].problem.is_none());
        assert!(parse_csv(b"name,first_name\nx,y\n").is_err());
        assert!(parse_csv(b"").is_err());
        assert_eq!(parse_csv(b"email\n").unwrap().len(), 0);
    }
}
