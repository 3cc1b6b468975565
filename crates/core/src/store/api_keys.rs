//! API keys of an app, the addresses each was used from, and `Idempotency-Key` answers.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait ApiKeyQueries: Send {
    async fn insert_api_key(&mut self, k: &ApiKey) -> StoreResult<()>;
    async fn find_api_key_by_hash(&mut self, key_hash: &[u8]) -> StoreResult<Option<ApiKey>>;
    async fn get_api_key(&mut self, app: &AppId, id: uuid::Uuid) -> StoreResult<Option<ApiKey>>;
    /// The app's keys of one kind (personal keys of one member when `member` is given), newest
    /// first, revoked ones included; at most `limit` created before `before`.
    async fn list_api_keys(
        &mut self,
        app: &AppId,
        kind: ApiKeyKind,
        member: Option<MemberId>,
        before: Option<(OffsetDateTime, uuid::Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<ApiKey>>;
    /// Revoke (false if it was already revoked or is not the app's).
    async fn revoke_api_key(
        &mut self,
        app: &AppId,
        id: uuid::Uuid,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Revoke every live personal key of a member (deactivated, left). Returns how many.
    async fn revoke_member_api_keys(
        &mut self,
        app: &AppId,
        member: MemberId,
        at: OffsetDateTime,
    ) -> StoreResult<u64>;
    /// Record a use: last-used time and address; true when this address is new for the key.
    async fn record_api_key_use(
        &mut self,
        id: uuid::Uuid,
        addr: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Start an idempotent request: insert `(scope, key)` as running, or say how it stands.
    /// A row older than `expired_before` is forgotten first, and a running row older than
    /// `stale_before` (its node died) is taken over.
    async fn begin_idempotent(
        &mut self,
        scope: &[u8],
        key: &str,
        fingerprint: &[u8],
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<IdempotencyStart>;
    /// Record the answer of a running idempotent request.
    async fn finish_idempotent(
        &mut self,
        scope: &[u8],
        key: &str,
        answer: &StoredAnswer,
    ) -> StoreResult<()>;
    /// Forget a running idempotent request that failed (5xx), so a retry runs again.
    async fn abandon_idempotent(&mut self, scope: &[u8], key: &str) -> StoreResult<()>;
    /// Forget answers recorded before `before`. Returns how many.
    async fn prune_idempotent(&mut self, before: OffsetDateTime) -> StoreResult<u64>;
}
