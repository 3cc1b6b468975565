//! Member profiles (initial setup).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait ProfileQueries: Send {
    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<Profile>>;
    /// Insert or replace the member's profile.
    async fn save_profile(&mut self, p: &Profile) -> StoreResult<()>;
}
