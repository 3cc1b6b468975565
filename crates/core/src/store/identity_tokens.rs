//! Single-use mailbox tokens of an ID (password reset, login email change).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait IdentityTokenQueries: Send {
    async fn insert_identity_token(&mut self, t: &IdentityToken) -> StoreResult<()>;
    /// The token with this hash, its row locked until the transaction ends.
    async fn lock_identity_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<IdentityToken>>;
    /// The ID's newest token of that purpose, used or not, its row locked.
    async fn lock_latest_identity_token(
        &mut self,
        identity: IdentityId,
        purpose: TokenPurpose,
    ) -> StoreResult<Option<IdentityToken>>;
    /// Save `used_at`, `tries` and `code_hash` (cleared when the code is void).
    async fn update_identity_token(&mut self, t: &IdentityToken) -> StoreResult<()>;
    /// Mark every unused token of that purpose of the ID as used (a newer one replaces them,
    /// or the password just changed).
    async fn void_identity_tokens(
        &mut self,
        identity: IdentityId,
        purpose: TokenPurpose,
        at: OffsetDateTime,
    ) -> StoreResult<u64>;
}
