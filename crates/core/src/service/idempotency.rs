//! `Idempotency-Key`: a POST that creates something, sent again with the same key and the same
//! body, gets the first answer replayed instead of creating a second thing. The answers live in
//! the database (every node sees them) for [`IDEMPOTENCY_TTL`].

use super::Services;
use crate::error::{Error, Result};
use crate::model::*;
use time::{Duration, OffsetDateTime};

/// How long an answer is kept for replay.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);
/// A request still marked running after this long died with its node; a retry takes over.
pub const IDEMPOTENCY_STALE: Duration = Duration::minutes(1);

/// A valid key: 1 to 255 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> Result<()> {
    if !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "Idempotency-Key",
            "Use 1 to 255 visible ASCII characters, e.g. a UUID.",
        ))
    }
}

impl Services {
    /// Start a request with an `Idempotency-Key` of the credential `scope`. `Ok(None)`: run it
    /// (then [`Services::idempotency_finish`] or [`Services::idempotency_abandon`]);
    /// `Ok(Some(answer))`: replay that. Another request under the same key is
    /// [`Error::IdempotencyKeyReused`]; the same one still running elsewhere is
    /// [`Error::IdempotencyInProgress`] (callers may wait and ask again).
    pub async fn idempotency_begin(
        &self,
        now: OffsetDateTime,
        scope: &[u8],
        key: &str,
        fingerprint: &[u8],
    ) -> Result<Option<StoredAnswer>> {
        valid_idempotency_key(key)?;
        let mut tx = self.begin().await?;
        let start = tx
            .begin_idempotent(
                scope,
                key,
                fingerprint,
                now,
                now - IDEMPOTENCY_TTL,
                now - IDEMPOTENCY_STALE,
            )
            .await?;
        tx.commit().await?;
        match start {
            IdempotencyStart::Fresh => Ok(None),
            IdempotencyStart::Done(a) if a.fingerprint == fingerprint => Ok(Some(a)),
            IdempotencyStart::InProgress { fingerprint: f } if f == fingerprint => {
                Err(Error::IdempotencyInProgress)
            }
            _ => Err(Error::IdempotencyKeyReused),
        }
    }

    pub async fn idempotency_finish(
        &self,
        scope: &[u8],
        key: &str,
        answer: &StoredAnswer,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.finish_idempotent(scope, key, answer).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn idempotency_abandon(&self, scope: &[u8], key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.abandon_idempotent(scope, key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Periodic clean-up: forget idempotent answers older than a day, and expire the due
    /// invitations of apps nobody touched (reported to webhooks).
    pub async fn housekeeping(&self, now: OffsetDateTime) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx.prune_idempotent(now - IDEMPOTENCY_TTL).await?;
        tx.commit().await?;
        self.expire_idle_apps(now).await?;
        // signing keys: a scheduled successor when one is due, retired keys forgotten
        self.jwks(now).await?;
        self.prune_signing_keys(now).await?;
        self.prune_oidc(now).await?;
        Ok(n)
    }
}
