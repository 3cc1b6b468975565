//! Bulk invitations (pages): `/app/{app_id}/admin/users/bulk` — an admin pastes a list or
//! uploads a CSV file; the run goes on in the background and its page shows the progress
//! (refreshing itself) and then every row's result. Runs live in the database, so any node
//! shows them.

use super::frame::{Csrf, Nav, Page, PageResult, app_id, check_csrf, nav_for, require_login};
use crate::AppState;
use crate::api::bulk::{BULK_BODY_LIMIT, parse_csv};
use crate::extract::RequestCtx;
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roster_core::Error;
use roster_core::model::{BulkJob, BulkReport, BulkState};
use roster_core::types::AppId;
use time::Duration;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/{app_id}/admin/users/bulk",
            get(bulk_page)
                .post(bulk_submit)
                .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .route("/app/{app_id}/admin/users/bulk/{job}", get(job_page))
}

/// Rows shown in the result table: every refused one, then invited ones up to this many.
const SHOWN_INVITED: usize = 500;
/// A run whose progress has not moved for this long was cut off (its node stopped).
const STALLED: Duration = Duration::minutes(5);

struct RowView {
    row: usize,
    email: String,
    ok: bool,
    result: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
struct BulkPage<'a> {
    product: &'a str,
    nav: Option<Nav>,
    csrf: String,
    app_id: String,
    job: Option<BulkJob>,
    running: bool,
    failed: bool,
    invited: usize,
    refused: usize,
    seats_needed: usize,
    rows: Vec<RowView>,
    hidden: usize,
    errors: Vec<String>,
    pasted: String,
}

impl BulkPage<'_> {
    fn empty<'a>(state: &'a AppState, nav: Nav, csrf: &Csrf, app: &AppId) -> BulkPage<'a> {
        BulkPage {
            product: &state.services.settings().product_name,
            nav: Some(nav),
            csrf: csrf.token.clone(),
            app_id: app.to_string(),
            job: None,
            running: false,
            failed: false,
            invited: 0,
            refused: 0,
            seats_needed: 0,
            rows: Vec::new(),
            hidden: 0,
            errors: Vec::new(),
            pasted: String::new(),
        }
    }
}

pub async fn bulk_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(app_raw): Path<String>,
) -> PageResult {
    let p = require_login(
        &state,
        &headers,
        &format!("/app/{app_raw}/admin/users/bulk"),
    )
    .await?;
    let app = app_id(&app_raw)?;
    state.services.require_admin(&p, &app).await?;
    let csrf = Csrf::of(&headers, &state);
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let t = BulkPage::empty(&state, nav, &csrf, &app);
    Ok(Page::new(&t, &csrf)?.into_response())
}

pub async fn bulk_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestCtx(ctx): RequestCtx,
    Path(app_raw): Path<String>,
    mut form: Multipart,
) -> PageResult {
    let here = format!("/app/{app_raw}/admin/users/bulk");
    let p = require_login(&state, &headers, &here).await?;
    let app = app_id(&app_raw)?;
    let (mut csrf, mut pasted, mut file) = (String::new(), String::new(), Vec::new());
    let mut unreadable = false;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let Ok(bytes) = field.bytes().await else {
                    unreadable = true;
                    break;
                };
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "list" => pasted = String::from_utf8_lossy(&bytes).into_owned(),
                    "file" => file = bytes.to_vec(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                unreadable = true;
                break;
            }
        }
    }
    check_csrf(&state, &headers, &csrf)?;
    let text: &[u8] = if file.is_empty() {
        pasted.as_bytes()
    } else {
        &file
    };
    let problem = if unreadable {
        Some("The upload could not be read; the file may be larger than 16 MB.".to_string())
    } else if text.iter().all(u8::is_ascii_whitespace) {
        Some("Paste a list or choose a file.".to_string())
    } else {
        None
    };
    let rows = match problem {
        Some(p) => Err(Error::invalid("list", p)),
        None => parse_csv(text),
    };
    let started = match rows {
        Ok(rows) => state
            .services
            .start_bulk_job(&ctx, &p, &app, &rows)
            .await
            .map(|job| (job, rows)),
        Err(e) => Err(e),
    };
    let (job, rows) = match started {
        Ok(v) => v,
        Err(Error::Invalid(errors)) => {
            let csrf = Csrf::of(&headers, &state);
            let nav = nav_for(&state, &p, Some(&app)).await?;
            let mut t = BulkPage::empty(&state, nav, &csrf, &app);
            t.errors = errors.into_iter().map(|e| e.message).collect();
            t.pasted = pasted;
            let mut res = Page::new(&t, &csrf)?.into_response();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        }
        Err(e) => return Err(e.into()),
    };
    let services = state.services.clone();
    let (job_id, app2) = (job.id, app.clone());
    tokio::spawn(async move {
        if let Err(e) = services.run_bulk_job(&ctx, &p, &app2, job_id, rows).await {
            tracing::error!(error = %e, job = %job_id, "bulk invitation could not record its end");
        }
    });
    Ok(see_other(&format!("{here}/{}", job.id)))
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

pub async fn job_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((app_raw, job_raw)): Path<(String, String)>,
) -> PageResult {
    let p = require_login(
        &state,
        &headers,
        &format!("/app/{app_raw}/admin/users/bulk/{job_raw}"),
    )
    .await?;
    let app = app_id(&app_raw)?;
    let id: uuid::Uuid = job_raw.parse().map_err(|_| Error::NotFound)?;
    let job = state.services.bulk_job(&p, &app, id).await?;
    let csrf = Csrf::of(&headers, &state);
    let nav = nav_for(&state, &p, Some(&app)).await?;
    let mut t = BulkPage::empty(&state, nav, &csrf, &app);
    let stalled = state.now() - job.updated_at > STALLED;
    t.running = job.state == BulkState::Running && !stalled;
    t.failed = job.state == BulkState::Failed || (job.state == BulkState::Running && stalled);
    if let Some(report) = job
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str::<BulkReport>(r).ok())
    {
        t.invited = report.invited;
        t.refused = report.failed;
        t.seats_needed = report.seats_needed;
        let mut shown_ok = 0;
        for o in report.rows {
            let ok = o.error.is_none();
            if ok {
                if shown_ok == SHOWN_INVITED {
                    t.hidden += 1;
                    continue;
                }
                shown_ok += 1;
            }
            t.rows.push(RowView {
                row: o.row,
                email: o.email,
                ok,
                result: match o.error {
                    None => "Invited".into(),
                    Some(e) => format!("Not invited: {}", e.message),
                },
            });
        }
        // refused rows first, each group in list order
        t.rows.sort_by_key(|r| (r.ok, r.row));
    }
    t.job = Some(job);
    Ok(Page::new(&t, &csrf)?.into_response())
}
