//! Server secrets shared by every node (e.g. the key that signs flash messages).

use super::StoreResult;
use async_trait::async_trait;

#[async_trait]
pub trait SecretQueries: Send {
    /// The secret stored under `name`; when there is none yet, `candidate` is stored and
    /// returned. Several nodes starting at once all get the one that won.
    async fn get_or_insert_secret(&mut self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;
}
