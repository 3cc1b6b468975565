//! The audit log.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait AuditQueries: Send {
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()>;
    /// An app's events, newest first: those recorded in the app, and the ID-level events (no
    /// app: logins, password and email changes) of the IDs that are the app's members.
    async fn list_audit(
        &mut self,
        app_id: &AppId,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// The events an ID was the actor of, in every app, newest first (`filter.actor` is set).
    async fn list_identity_audit(
        &mut self,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
}
