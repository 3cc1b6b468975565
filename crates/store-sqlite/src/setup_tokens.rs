//! First-run setup links. SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::store::{SetupTokenQueries, StoreResult};
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> SetupTokenQueries for Handle<C> {
    async fn insert_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "INSERT INTO setup_tokens (token_hash, created_at) VALUES (?1, ?2)",
            rusqlite::params![hash, ms(at)],
        )?;
        Ok(())
    }

    async fn setup_token_unused(&mut self, hash: &[u8]) -> StoreResult<bool> {
        Ok(self.scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ?1 AND used_at IS NULL",
            rusqlite::params![hash],
        )? == 1)
    }

    async fn use_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<bool> {
        Ok(self.exec(
            "UPDATE setup_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
            rusqlite::params![hash, ms(at)],
        )? == 1)
    }
}
