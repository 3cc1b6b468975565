//! SCIM: an app's members as an identity provider sees them (with its `externalId`s).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

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
}
