//! SCIM: an app's members as an identity provider sees them (with its `externalId`s).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait ScimQueries: Send {
    /// Every member of the app that is not Removed, oldest first, with its externalId.
    async fn scim_members(&mut self, app: &AppId) -> StoreResult<Vec<(Member, Option<String>)>>;
    async fn external_id(&mut self, app: &AppId, member: MemberId) -> StoreResult<Option<String>>;
    /// Set or clear a member's externalId ([`crate::StoreError::Unique`] if another member of
    /// the app has it).
    async fn set_external_id(
        &mut self,
        app: &AppId,
        member: MemberId,
        external_id: Option<&str>,
    ) -> StoreResult<()>;
    async fn member_by_external_id(
        &mut self,
        app: &AppId,
        external_id: &str,
    ) -> StoreResult<Option<MemberId>>;
    /// What the app's SCIM creates make (`Invite` when never set).
    async fn scim_provisioning(&mut self, app: &AppId) -> StoreResult<ScimProvisioning>;
    async fn set_scim_provisioning(
        &mut self,
        app: &AppId,
        mode: ScimProvisioning,
    ) -> StoreResult<()>;
    /// Record an ID made by provisioning, whose owner has not chosen a password yet.
    async fn insert_unclaimed_identity(
        &mut self,
        identity: IdentityId,
        app: &AppId,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Forget that the ID was unclaimed; true if it was.
    async fn claim_identity(&mut self, identity: IdentityId) -> StoreResult<bool>;
}
