//! Passkeys (WebAuthn credentials) of an ID, and ceremonies in progress.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait PasskeyQueries: Send {
    async fn insert_passkey(&mut self, p: &StoredPasskey) -> StoreResult<()>;
    async fn list_passkeys(&mut self, identity: IdentityId) -> StoreResult<Vec<StoredPasskey>>;
    /// Save the credential (its counter) after a use.
    async fn update_passkey(
        &mut self,
        cred_id: &[u8],
        credential: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Remove one passkey of the ID (false if it is not one of the ID's).
    async fn delete_passkey(&mut self, identity: IdentityId, cred_id: &[u8]) -> StoreResult<bool>;
    async fn insert_ceremony(&mut self, c: &Ceremony) -> StoreResult<()>;
    /// Forget ceremonies and login challenges that expired before `before`. Returns how many.
    async fn prune_expired_ceremonies(&mut self, before: OffsetDateTime) -> StoreResult<u64>;
    /// Remove and return the ceremony (each is used once).
    async fn take_ceremony(&mut self, token_hash: &[u8]) -> StoreResult<Option<Ceremony>>;
}
