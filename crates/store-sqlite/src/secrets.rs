//! Server secrets. SQL, SQLite.

use crate::rows::map_err;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::store::{SecretQueries, StoreResult};

#[async_trait]
impl<C: HasConn> SecretQueries for Handle<C> {
    async fn get_or_insert_secret(&mut self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        self.exec(
            "INSERT INTO server_secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            rusqlite::params![name, candidate],
        )?;
        self.one(
            "SELECT value FROM server_secrets WHERE name = ?1",
            rusqlite::params![name],
            |r| r.get::<_, Vec<u8>>(0).map_err(map_err),
        )?
        .ok_or_else(|| StoreError::Other(format!("server secret {name:?} vanished")))
    }
}
