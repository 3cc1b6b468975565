//! Roster's operators (support), finding apps, and suspending them.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait OperatorQueries: Send {
    /// Make an ID an operator (false if it already was).
    async fn add_operator(
        &mut self,
        identity: IdentityId,
        at: OffsetDateTime,
        added_by: &str,
    ) -> StoreResult<bool>;
    async fn remove_operator(&mut self, identity: IdentityId) -> StoreResult<bool>;
    async fn is_operator(&mut self, identity: IdentityId) -> StoreResult<bool>;
    /// Every operator's email and when they were added, oldest first.
    async fn list_operators(&mut self) -> StoreResult<Vec<(Email, OffsetDateTime)>>;
    /// Apps whose App ID is `q` or whose name contains it (case-insensitively), by name.
    async fn search_apps(&mut self, q: &str, limit: u32) -> StoreResult<Vec<App>>;
    /// Every app, by name (at most `limit`).
    async fn list_apps(&mut self, limit: u32) -> StoreResult<Vec<App>>;
    /// Suspend (`Some`) or resume (`None`); false if the app does not exist.
    async fn set_app_suspended(
        &mut self,
        app: &AppId,
        at: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;
    async fn app_suspended_at(&mut self, app: &AppId) -> StoreResult<Option<OffsetDateTime>>;
    async fn insert_operator_invite(&mut self, i: &OperatorInvite) -> StoreResult<()>;
    async fn find_operator_invite(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<OperatorInvite>>;
    /// Mark every live invitation of this email (compared without case) used.
    async fn void_operator_invites(&mut self, email: &str, at: OffsetDateTime) -> StoreResult<u64>;
    /// Mark it used; false if it already was.
    async fn use_operator_invite(
        &mut self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
}
