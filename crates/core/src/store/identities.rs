//! IDs (identities): one per person, shared by all apps.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait IdentityQueries: Send {
    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()>;
    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>>;
    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>>;
    /// Like `find_identity_by_email`, and locks the row until the transaction ends.
    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>>;
    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()>;
    /// Replace the password hash; the previous one goes to the ID's password history.
    async fn set_password(
        &mut self,
        id: IdentityId,
        new_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The ID's previous password hashes, newest first, at most `limit`.
    async fn password_history(&mut self, id: IdentityId, limit: u32) -> StoreResult<Vec<String>>;
    /// Change the login email (`StoreError::Unique` if another ID has it).
    async fn set_identity_email(&mut self, id: IdentityId, email: &Email) -> StoreResult<()>;
    /// Record the ID's agreement to a terms version (kept per version; also the ID's current
    /// `terms_version`).
    async fn accept_terms(
        &mut self,
        id: IdentityId,
        version: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Every terms version the ID agreed to and when, newest first.
    async fn terms_acceptances(
        &mut self,
        id: IdentityId,
    ) -> StoreResult<Vec<(String, OffsetDateTime)>>;
}
