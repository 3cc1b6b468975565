//! IDs (identities): one per person, shared by all apps.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait IdentityQueries: Send {
    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()>;
    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>>;
    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>>;
    /// Like `find_identity_by_email`, and locks the row until the transaction ends.
    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>>;
    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()>;
}
