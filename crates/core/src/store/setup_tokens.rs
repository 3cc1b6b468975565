//! First-run setup links.

use super::StoreResult;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait SetupTokenQueries: Send {
    async fn insert_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<()>;
    async fn setup_token_unused(&mut self, hash: &[u8]) -> StoreResult<bool>;
    /// Mark the link used (guarded: false if unknown or already used).
    async fn use_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<bool>;
}
