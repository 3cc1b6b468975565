//! First-run setup links. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::store::{SetupTokenQueries, StoreResult};
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;

#[async_trait]
impl<C> SetupTokenQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
            .bind(hash)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn setup_token_unused(&mut self, hash: &[u8]) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(hash)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(n == 1)
    }

    async fn use_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(hash)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }
}
