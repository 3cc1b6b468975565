//! Journey: bulk invitations — an admin invites a whole list (API: JSON or CSV; page: paste or
//! upload). Each row succeeds or fails on its own with a reason; seats are taken in list
//! order and rows past the free seats are refused with `seat_unavailable` (the report says how
//! many more seats would cover them). Rows go in batches, each one transaction under the app's
//! lock, so the seat invariant holds against every other way in; the admins get one summary.

use super::{Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::types::*;
use std::collections::HashSet;

/// The most rows one bulk invitation takes.
pub const BULK_MAX_ROWS: usize = 100_000;
/// Rows per transaction: large enough to amortise the commit, small enough that other writers
/// of the app wait at most a moment.
const BATCH: usize = 500;

/// A row that parsed.
struct Valid {
    email: Email,
    first: Option<String>,
    last: Option<String>,
    admin: bool,
    kind: MemberKind,
}

fn refusal(code: &str, message: impl Into<String>) -> BulkError {
    BulkError {
        code: code.into(),
        message: message.into(),
    }
}

/// Parse one row on its own (every problem of it in one sentence).
fn parse_row(r: &BulkRow) -> Result<Valid, BulkError> {
    if let Some(p) = &r.problem {
        return Err(refusal("invalid_input", p.clone()));
    }
    let kind = match r.kind.as_deref().map(str::trim) {
        None | Some("") | Some("user") => MemberKind::User,
        Some("partner") => MemberKind::Partner,
        Some(other) => {
            return Err(refusal(
                "invalid_input",
                format!("kind: {other:?} is not user or partner."),
            ));
        }
    };
    let email = Email::parse(&r.email);
    let first = match kind {
        MemberKind::User => {
            Name::parse("first_name", r.first_name.as_deref().unwrap_or("")).map(Some)
        }
        MemberKind::Partner => Name::parse_optional("first_name", r.first_name.as_deref()),
    };
    let last = Name::parse_optional("last_name", r.last_name.as_deref());
    let describe = |e: Error| match e {
        Error::Invalid(fields) => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    match (email, first, last) {
        (Ok(email), Ok(first), Ok(last)) => Ok(Valid {
            email,
            first: first.map(String::from),
            last: last.map(String::from),
            admin: r.admin,
            kind,
        }),
        (Err(e), _, _) => Err(refusal("invalid_email", describe(e))),
        (_, Err(e), _) | (_, _, Err(e)) => Err(refusal("invalid_input", describe(e))),
    }
}

impl Services {
    /// Admin: invite every row of `rows` (at most [`BULK_MAX_ROWS`]).
    pub async fn invite_bulk(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        rows: Vec<BulkRow>,
    ) -> Result<BulkReport> {
        self.check_bulk(p, app_id, &rows).await?;
        self.run_bulk(ctx, p, app_id, rows, None).await
    }

    async fn check_bulk(&self, p: &Principal, app_id: &AppId, rows: &[BulkRow]) -> Result<()> {
        self.require_admin(p, app_id).await?;
        if rows.is_empty() {
            return Err(Error::invalid("rows", "The list is empty."));
        }
        if rows.len() > BULK_MAX_ROWS {
            return Err(Error::invalid(
                "rows",
                format!(
                    "A list takes at most {BULK_MAX_ROWS} rows; this one has {}. Split it.",
                    rows.len()
                ),
            ));
        }
        if rows.iter().any(|r| r.admin) {
            p.require_admin_scope()?;
        }
        Ok(())
    }

    /// Page: record a run of `total` rows (its progress is shown while
    /// [`Services::run_bulk_job`] works through them).
    pub async fn start_bulk_job(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        rows: &[BulkRow],
    ) -> Result<BulkJob> {
        self.check_bulk(p, app_id, rows).await?;
        let job = BulkJob {
            id: uuid::Uuid::now_v7(),
            app_id: app_id.clone(),
            created_by: p.person(),
            created_at: ctx.now,
            updated_at: ctx.now,
            total: rows.len() as i64,
            done: 0,
            state: BulkState::Running,
            report: None,
        };
        let mut tx = self.begin().await?;
        tx.insert_bulk_job(&job).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Work through a run started with [`Services::start_bulk_job`] and record its report.
    pub async fn run_bulk_job(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        job: uuid::Uuid,
        rows: Vec<BulkRow>,
    ) -> Result<()> {
        let (state, report) = match self.run_bulk(ctx, p, app_id, rows, Some(job)).await {
            Ok(r) => (
                BulkState::Done,
                Some(serde_json::to_string(&r).map_err(|e| Error::Internal(e.to_string()))?),
            ),
            Err(e) => {
                tracing::error!(error = %e, %job, "bulk invitation failed");
                (BulkState::Failed, None)
            }
        };
        let mut tx = self.begin().await?;
        tx.finish_bulk_job(job, state, report.as_deref(), ctx.now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Admin: a run of this app (404 for another app's).
    pub async fn bulk_job(&self, p: &Principal, app_id: &AppId, id: uuid::Uuid) -> Result<BulkJob> {
        self.require_admin(p, app_id).await?;
        self.read()
            .await?
            .get_bulk_job(app_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    async fn run_bulk(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        rows: Vec<BulkRow>,
        job: Option<uuid::Uuid>,
    ) -> Result<BulkReport> {
        let mut seen = HashSet::with_capacity(rows.len());
        let parsed: Vec<(String, Result<Valid, BulkError>)> = rows
            .iter()
            .map(|r| {
                let row = parse_row(r).and_then(|v| {
                    if seen.insert(v.email.normalized().to_string()) {
                        Ok(v)
                    } else {
                        Err(refusal(
                            "duplicate_in_file",
                            "This address is already on an earlier row of the list.",
                        ))
                    }
                });
                (r.email.trim().to_string(), row)
            })
            .collect();
        drop(rows);
        let by = p.display_name();
        let mut report = BulkReport {
            rows: Vec::with_capacity(parsed.len()),
            ..BulkReport::default()
        };
        let mut events = Vec::new();
        let mut more = 0u32;
        let batches = parsed.len().div_ceil(BATCH);
        let mut parsed = parsed.into_iter();
        for batch in 0..batches {
            let mut tx = self.begin().await?;
            let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
            if batch == 0 {
                self.expire_due(&mut *tx, ctx, &mut app).await?;
            }
            for (email, row) in parsed.by_ref().take(BATCH) {
                let n = report.rows.len() + 1;
                let outcome = match row {
                    Err(e) => Err(e),
                    Ok(v) => match self
                        .issue_invitation(
                            &mut *tx,
                            ctx,
                            &mut app,
                            Some(p),
                            &by,
                            v.email,
                            v.first,
                            v.last,
                            v.admin,
                            v.kind,
                            true,
                            true,
                        )
                        .await
                    {
                        Ok(issued) => Ok(issued),
                        Err(
                            e @ (Error::AlreadyMember
                            | Error::AlreadyInvited
                            | Error::SeatUnavailable { .. }),
                        ) => {
                            if matches!(e, Error::SeatUnavailable { .. }) {
                                report.seats_needed += 1;
                            }
                            Err(refusal(e.code(), format!("{e}.")))
                        }
                        Err(e) => return Err(e),
                    },
                };
                report.rows.push(match outcome {
                    Ok(issued) => {
                        report.invited += 1;
                        if events.len() < MAX_LISTED_EVENTS {
                            events.push(super::notifications::event_of(
                                &issued.member,
                                Some(by.clone()),
                                None,
                                ctx.now,
                            ));
                        } else {
                            more = more.saturating_add(1);
                        }
                        BulkOutcome {
                            row: n,
                            email,
                            error: None,
                            invitation_id: Some(issued.invitation.id),
                            member_id: Some(issued.member.id),
                        }
                    }
                    Err(e) => {
                        report.failed += 1;
                        BulkOutcome {
                            row: n,
                            email,
                            error: Some(e),
                            invitation_id: None,
                            member_id: None,
                        }
                    }
                });
            }
            tx.update_app_seats(&app).await?;
            if batch + 1 == batches {
                self.notify_admins_of(
                    &mut *tx,
                    ctx,
                    &app,
                    NotificationKind::Invited,
                    &events,
                    more,
                    p.person(),
                )
                .await?;
            }
            if let Some(job) = job {
                tx.bulk_job_progress(job, report.rows.len() as i64, ctx.now)
                    .await?;
            }
            tx.commit().await?;
            self.mail_kick.notify_one();
        }
        Ok(report)
    }
}
