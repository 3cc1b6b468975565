//! Profiles: the ID's own profile (name, phone, time zone, signature; one per identity) and
//! each member's part in an app (logo, whether the initial setup is finished).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait ProfileQueries: Send {
    /// The ID's profile: its name from the identity and the rest if ever saved (`None` only for
    /// an unknown identity).
    async fn get_identity_profile(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<Option<IdentityProfile>>;
    /// Insert or replace the ID's profile; writes the name to the identity and to each of its
    /// memberships (so every app's lists show the name the person chose).
    async fn save_identity_profile(&mut self, p: &IdentityProfile) -> StoreResult<()>;
    /// Whether the ID finished the initial setup in an app other than `except`'s.
    async fn setup_done_elsewhere(
        &mut self,
        identity: IdentityId,
        except: MemberId,
    ) -> StoreResult<bool>;
    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<MemberProfile>>;
    /// Insert or replace the member's profile (logo, setup finished).
    async fn save_profile(&mut self, p: &MemberProfile) -> StoreResult<()>;
}
