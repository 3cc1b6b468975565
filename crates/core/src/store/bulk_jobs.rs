//! Bulk invitation runs started from the page: progress and report.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait BulkJobQueries: Send {
    async fn insert_bulk_job(&mut self, job: &BulkJob) -> StoreResult<()>;
    async fn get_bulk_job(&mut self, app: &AppId, id: uuid::Uuid) -> StoreResult<Option<BulkJob>>;
    /// Record how many rows are done.
    async fn bulk_job_progress(
        &mut self,
        id: uuid::Uuid,
        done: i64,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Record the end: its state and report.
    async fn finish_bulk_job(
        &mut self,
        id: uuid::Uuid,
        state: BulkState,
        report: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
}
