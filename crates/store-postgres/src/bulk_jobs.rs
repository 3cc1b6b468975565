//! Bulk invitation runs. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{BulkJobQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl<C> BulkJobQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_bulk_job(&mut self, j: &BulkJob) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bulk_jobs (id, app_id, created_by, created_at, updated_at, total, done, \
             state, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(j.id)
        .bind(j.app_id.as_str())
        .bind(j.created_by.map(|i| i.0))
        .bind(j.created_at)
        .bind(j.updated_at)
        .bind(j.total)
        .bind(j.done)
        .bind(j.state.as_str())
        .bind(&j.report)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_bulk_job(&mut self, app: &AppId, id: Uuid) -> StoreResult<Option<BulkJob>> {
        let row = sqlx::query(
            "SELECT id, app_id, created_by, created_at, updated_at, total, done, state, report \
             FROM bulk_jobs WHERE app_id = $1 AND id = $2",
        )
        .bind(app.as_str())
        .bind(id)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?;
        let Some(r) = row else { return Ok(None) };
        let state: String = get(&r, "state")?;
        Ok(Some(BulkJob {
            id: get(&r, "id")?,
            app_id: app_id(&r, "app_id")?,
            created_by: get::<Option<Uuid>>(&r, "created_by")?.map(IdentityId),
            created_at: time(&r, "created_at")?,
            updated_at: time(&r, "updated_at")?,
            total: get(&r, "total")?,
            done: get(&r, "done")?,
            state: BulkState::parse(&state).ok_or_else(|| bad("bulk state", &state))?,
            report: get(&r, "report")?,
        }))
    }

    async fn bulk_job_progress(
        &mut self,
        id: Uuid,
        done: i64,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE bulk_jobs SET done = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(done)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn finish_bulk_job(
        &mut self,
        id: Uuid,
        state: BulkState,
        report: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE bulk_jobs SET state = $2, report = $3, updated_at = $4, \
             done = CASE WHEN $2 = 'done' THEN total ELSE done END WHERE id = $1",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(report)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
