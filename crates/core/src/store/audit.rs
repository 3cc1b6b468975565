//! The audit log.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait AuditQueries: Send {
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()>;
    /// An app's events, newest first: those recorded in the app, and the failed logins and locks
    /// (ID-level, no app) of the IDs that are Active members of the app — nothing else of an
    /// ID's life in other apps.
    async fn list_audit(
        &mut self,
        app_id: &AppId,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Whether the ID logged in since `since` at all, and whether once with this User-Agent
    /// (the "new sign-in" check: two indexed lookups, no rows read back).
    async fn login_history(
        &mut self,
        identity: IdentityId,
        user_agent: &str,
        since: time::OffsetDateTime,
    ) -> StoreResult<(bool, bool)>;
    /// The events an ID was the actor of, in every app, newest first (`filter.actor` is set).
    async fn list_identity_audit(
        &mut self,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
}
