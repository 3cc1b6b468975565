//! `/readyz`: may this node take traffic? The database answers, every migration this binary
//! knows is applied, and the mail worker (when this process runs one) is alive. A load balancer
//! or orchestrator sends traffic elsewhere while it answers 503; `/healthz` only says the
//! process runs and its database answers.

use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// How long the database may take to answer the readiness check.
const DB_TIMEOUT: Duration = Duration::from_secs(3);

/// A check of `/readyz`.
#[derive(Serialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadyCheckName {
    /// The database answers a query.
    Database,
    /// Every migration of this binary is applied.
    Migrations,
    /// The mail worker showed a sign of life recently (or this process runs none).
    MailWorker,
}

/// One check and what it found.
#[derive(Serialize, ToSchema, Debug)]
pub struct ReadyCheck {
    pub check: ReadyCheckName,
    pub ok: bool,
    /// What was found, for a person.
    #[schema(example = "20 of 20 applied")]
    pub detail: String,
}

/// Always `ok` (a node that is not ready answers 503).
#[derive(Serialize, ToSchema, Debug)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    Ok,
}

/// The node is ready: every check passed.
#[derive(Serialize, ToSchema, Debug)]
pub struct Readiness {
    pub status: ReadyStatus,
    pub checks: Vec<ReadyCheck>,
}

/// A failed check, in the 503 problem document's `failed`.
#[derive(Serialize, ToSchema, Debug)]
pub struct FailedCheck {
    pub check: ReadyCheckName,
    #[schema(example = "cannot connect to PostgreSQL: connection refused")]
    pub reason: String,
}

async fn check_database(state: &AppState) -> [ReadyCheck; 2] {
    let store = state.services.store();
    let probe = async {
        let mut q = store.read().await?;
        q.migration_state().await
    };
    match tokio::time::timeout(DB_TIMEOUT, probe).await {
        Ok(Ok(m)) => {
            let total = m.applied + m.pending.len();
            let mut detail = format!("{} of {total} applied", m.applied);
            if !m.pending.is_empty() {
                detail.push_str(&format!("; pending: {}", m.pending_names()));
            }
            if !m.unknown.is_empty() {
                detail.push_str(&format!(
                    "; {} newer migration(s) applied by a newer release",
                    m.unknown.len()
                ));
            }
            [
                ReadyCheck {
                    check: ReadyCheckName::Database,
                    ok: true,
                    detail: store.backend().to_string(),
                },
                ReadyCheck {
                    check: ReadyCheckName::Migrations,
                    ok: m.current(),
                    detail,
                },
            ]
        }
        Ok(Err(e)) => unreachable_db(e.to_string()),
        Err(_) => unreachable_db(format!("no answer within {} s", DB_TIMEOUT.as_secs())),
    }
}

fn unreachable_db(why: String) -> [ReadyCheck; 2] {
    [
        ReadyCheck {
            check: ReadyCheckName::Database,
            ok: false,
            detail: why,
        },
        ReadyCheck {
            check: ReadyCheckName::Migrations,
            ok: false,
            detail: "not known: the database did not answer".into(),
        },
    ]
}

fn check_mail_worker(state: &AppState) -> ReadyCheck {
    let (ok, detail) = match &state.mail_heartbeat {
        None => (true, "not run by this process".to_string()),
        Some(hb) => {
            let now = time::OffsetDateTime::now_utc();
            match hb.check(now) {
                Ok(()) => (
                    true,
                    format!("last sign of life {} s ago", hb.silent_for(now).as_secs()),
                ),
                Err(why) => (false, why),
            }
        }
    };
    ReadyCheck {
        check: ReadyCheckName::MailWorker,
        ok,
        detail,
    }
}

#[utoipa::path(get, path = "/readyz", tag = "ops",
    description = "Whether this node should take traffic: the database answers, every migration \
        of this release is applied, and the mail worker of this process is alive. Not ready: 503 \
        with the failed checks in `failed`.",
    responses(
        (status = 200, description = "Ready: every check passed", body = Readiness),
        (status = 503, description = "unavailable: not ready; `failed` names each failed check and why")
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks: Vec<ReadyCheck> = check_database(&state).await.into();
    checks.push(check_mail_worker(&state));
    let failed: Vec<FailedCheck> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| FailedCheck {
            check: c.check,
            reason: c.detail.clone(),
        })
        .collect();
    if failed.is_empty() {
        return Json(Readiness {
            status: ReadyStatus::Ok,
            checks,
        })
        .into_response();
    }
    let names: Vec<String> = failed
        .iter()
        .map(|f| format!("{}: {}", check_name(f.check), f.reason))
        .collect();
    tracing::warn!(failed = %names.join("; "), "not ready");
    let mut p = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("Not ready. {}", names.join("; ")),
    );
    p.extra = serde_json::json!({ "failed": failed });
    p.into_response()
}

fn check_name(c: ReadyCheckName) -> &'static str {
    match c {
        ReadyCheckName::Database => "database",
        ReadyCheckName::Migrations => "migrations",
        ReadyCheckName::MailWorker => "mail_worker",
    }
}
