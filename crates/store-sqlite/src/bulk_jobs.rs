//! Bulk invitation runs. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{BulkJobQueries, StoreResult};
use roster_core::types::*;
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> BulkJobQueries for Handle<C> {
    async fn insert_bulk_job(&mut self, j: &BulkJob) -> StoreResult<()> {
        self.exec(
            "INSERT INTO bulk_jobs (id, app_id, created_by, created_at, updated_at, total, done, \
             state, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                j.id,
                j.app_id.as_str(),
                j.created_by.map(|i| i.0),
                ms(j.created_at),
                ms(j.updated_at),
                j.total,
                j.done,
                j.state.as_str(),
                &j.report
            ],
        )?;
        Ok(())
    }

    async fn get_bulk_job(&mut self, app: &AppId, id: uuid::Uuid) -> StoreResult<Option<BulkJob>> {
        self.one(
            "SELECT id, app_id, created_by, created_at, updated_at, total, done, state, report \
             FROM bulk_jobs WHERE app_id = ?1 AND id = ?2",
            rusqlite::params![app.as_str(), id],
            |r| {
                let state: String = get(r, 7)?;
                Ok(BulkJob {
                    id: uuid(r, 0)?,
                    app_id: app_id(r, 1)?,
                    created_by: opt_uuid(r, 2)?.map(IdentityId),
                    created_at: time(r, 3)?,
                    updated_at: time(r, 4)?,
                    total: get(r, 5)?,
                    done: get(r, 6)?,
                    state: BulkState::parse(&state).ok_or_else(|| bad("bulk state", &state))?,
                    report: get(r, 8)?,
                })
            },
        )
    }

    async fn bulk_job_progress(
        &mut self,
        id: uuid::Uuid,
        done: i64,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE bulk_jobs SET done = ?2, updated_at = ?3 WHERE id = ?1",
            rusqlite::params![id, done, ms(at)],
        )?;
        Ok(())
    }

    async fn finish_bulk_job(
        &mut self,
        id: uuid::Uuid,
        state: BulkState,
        report: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE bulk_jobs SET state = ?2, report = ?3, updated_at = ?4, \
             done = CASE WHEN ?2 = 'done' THEN total ELSE done END WHERE id = ?1",
            rusqlite::params![id, state.as_str(), report, ms(at)],
        )?;
        Ok(())
    }
}
