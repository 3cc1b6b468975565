//! The audit log.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait AuditQueries: Send {
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()>;
    async fn list_audit(&mut self, app_id: &AppId, limit: u32) -> StoreResult<Vec<AuditEvent>>;
}
