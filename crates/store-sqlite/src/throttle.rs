//! Request counters per client address and action. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::Lockout;
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

    async fn lock_phantom_lockout(&mut self, key: &str) -> StoreResult<Lockout> {
        Ok(self
            .one(
                "SELECT failed_count, window_start, lock_level, locked_until, in_flight, \
                 in_flight_at FROM phantom_lockouts WHERE key = ?1",
                rusqlite::params![key],
                |r| {
                    Ok(Lockout {
                        failed_count: get(r, 0)?,
                        window_start: opt_time(r, 1)?,
                        level: get(r, 2)?,
                        locked_until: opt_time(r, 3)?,
                        in_flight: get(r, 4)?,
                        in_flight_at: opt_time(r, 5)?,
                    })
                },
            )?
            .unwrap_or_default())
    }

    async fn save_phantom_lockout(&mut self, key: &str, l: &Lockout) -> StoreResult<()> {
        self.exec(
            "INSERT INTO phantom_lockouts (key, failed_count, window_start, lock_level, \
             locked_until, in_flight, in_flight_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (key) DO UPDATE SET failed_count = excluded.failed_count, \
             window_start = excluded.window_start, lock_level = excluded.lock_level, \
             locked_until = excluded.locked_until, in_flight = excluded.in_flight, \
             in_flight_at = excluded.in_flight_at",
            rusqlite::params![
                key,
                l.failed_count,
                l.window_start.map(ms),
                l.level,
                l.locked_until.map(ms),
                l.in_flight,
                l.in_flight_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn prune_throttle(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM throttle WHERE window_start < ?1",
            rusqlite::params![ms(before)],
        )?;
        Ok(n as u64)
    }
}
