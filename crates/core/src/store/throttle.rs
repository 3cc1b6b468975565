//! Request counters per client address and action, shared by every node.

use super::StoreResult;
use crate::model::Lockout;
use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

#[async_trait]
pub trait ThrottleQueries: Send {
    /// Count one request under `key` in a fixed window of `window` (a window older than that
    /// starts again at 1). Returns the count so far and when the window started.
    async fn hit_throttle(
        &mut self,
        key: &str,
        now: OffsetDateTime,
        window: Duration,
    ) -> StoreResult<(i64, OffsetDateTime)>;
    /// Forget counters whose window started before `before`.
    async fn prune_throttle(&mut self, before: OffsetDateTime) -> StoreResult<u64>;
    /// The lockout of an email that has no ID (by key), its row locked; default if none.
    async fn lock_phantom_lockout(&mut self, key: &str) -> StoreResult<Lockout>;
    async fn save_phantom_lockout(&mut self, key: &str, l: &Lockout) -> StoreResult<()>;
}
