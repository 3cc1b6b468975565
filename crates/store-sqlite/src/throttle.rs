//! Request counters per client address and action. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::store::{StoreResult, ThrottleQueries};
use time::{Duration, OffsetDateTime};

#[async_trait]
impl<C: HasConn> ThrottleQueries for Handle<C> {
    async fn hit_throttle(
        &mut self,
        key: &str,
        now: OffsetDateTime,
        window: Duration,
    ) -> StoreResult<(i64, OffsetDateTime)> {
        let stale = ms(now - window);
        let row = self.one(
            "INSERT INTO throttle (key, window_start, hits) VALUES (?1, ?2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               hits = CASE WHEN window_start <= ?3 THEN 1 ELSE hits + 1 END, \
               window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END \
             RETURNING hits, window_start",
            rusqlite::params![key, ms(now), stale],
            |r| Ok((get::<i64>(r, 0)?, time(r, 1)?)),
        )?;
        Ok(row.unwrap_or((1, now)))
    }

    async fn prune_throttle(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM throttle WHERE window_start < ?1",
            rusqlite::params![ms(before)],
        )?;
        Ok(n as u64)
    }
}
