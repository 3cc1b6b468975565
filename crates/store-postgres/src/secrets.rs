//! Server secrets. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::store::{SecretQueries, StoreResult};
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;

#[async_trait]
impl<C> SecretQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn get_or_insert_secret(&mut self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.c())
            .await
            .map_err(map_err)
    }
}
