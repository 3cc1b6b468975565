//! Login sessions (and the member's last-login time they record).

use super::{IdentityQueries, StoreResult};
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

/// Needs [`IdentityQueries`] for the default `find_session_identity`.
#[async_trait]
pub trait SessionQueries: IdentityQueries + Send {
    async fn insert_session(&mut self, s: &Session) -> StoreResult<()>;
    async fn find_session(&mut self, token_hash: &[u8]) -> StoreResult<Option<Session>>;
    /// The session and its ID in one go (backends may answer with a single query).
    async fn find_session_identity(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(Session, Identity)>> {
        let Some(s) = self.find_session(token_hash).await? else {
            return Ok(None);
        };
        Ok(self.get_identity(s.identity_id).await?.map(|i| (s, i)))
    }
    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> StoreResult<()>;
    async fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()>;
    /// End the ID's sessions bound to that app. Returns how many ended.
    async fn delete_sessions_in_app(
        &mut self,
        identity: IdentityId,
        app_id: &AppId,
    ) -> StoreResult<u64>;
    /// Every session of the ID (expired ones included; the caller filters), newest use first.
    async fn list_sessions(&mut self, identity: IdentityId) -> StoreResult<Vec<Session>>;
    /// End one session of the ID (false if it is not one of the ID's).
    async fn delete_session_of(&mut self, identity: IdentityId, id: SessionId)
    -> StoreResult<bool>;
    /// End every session of the ID but `keep`. Returns how many ended.
    async fn delete_sessions_except(
        &mut self,
        identity: IdentityId,
        keep: SessionId,
    ) -> StoreResult<u64>;
    async fn set_last_login(&mut self, member: MemberId, at: OffsetDateTime) -> StoreResult<()>;
}
