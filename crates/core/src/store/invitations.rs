//! Invitations of members into an app.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait InvitationQueries: Send {
    async fn insert_invitation(&mut self, inv: &Invitation) -> StoreResult<()>;
    async fn get_invitation(
        &mut self,
        app_id: &AppId,
        id: InvitationId,
    ) -> StoreResult<Option<Invitation>>;
    async fn find_invitation_by_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<Invitation>>;
    /// The member's newest invitation, whatever its status.
    async fn latest_invitation(&mut self, member: MemberId) -> StoreResult<Option<Invitation>>;
    /// The member's pending invitation, if any.
    async fn find_pending_invitation(
        &mut self,
        member: MemberId,
    ) -> StoreResult<Option<Invitation>>;
    /// Move an invitation from `from` to `to` (guarded: false if it was no longer `from`).
    async fn set_invitation_status(
        &mut self,
        id: InvitationId,
        from: InvitationStatus,
        to: InvitationStatus,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn list_invitations(
        &mut self,
        app_id: &AppId,
        q: &InvitationQuery,
    ) -> StoreResult<Vec<Invitation>>;
    /// Pending invitations of the app that have not expired by `now`.
    async fn count_pending_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;
}
