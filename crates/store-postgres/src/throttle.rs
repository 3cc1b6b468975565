//! Request counters per client address and action. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::Lockout;
use roster_core::store::{StoreResult, ThrottleQueries};
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::{Duration, OffsetDateTime};

#[async_trait]
impl<C> ThrottleQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn hit_throttle(
        &mut self,
        key: &str,
        now: OffsetDateTime,
        window: Duration,
    ) -> StoreResult<(i64, OffsetDateTime)> {
        // one statement: concurrent hits on any node serialise on the row
        let r = sqlx::query(
            "INSERT INTO throttle AS t (key, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               hits = CASE WHEN t.window_start <= $3 THEN 1 ELSE t.hits + 1 END, \
               window_start = CASE WHEN t.window_start <= $3 THEN $2 ELSE t.window_start END \
             RETURNING hits, window_start",
        )
        .bind(key)
        .bind(now)
        .bind(now - window)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok((get(&r, "hits")?, time(&r, "window_start")?))
    }

    async fn lock_phantom_lockout(&mut self, key: &str) -> StoreResult<Lockout> {
        // make the row exist, then lock it: concurrent attempts count one after another
        sqlx::query("INSERT INTO phantom_lockouts (key) VALUES ($1) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        let r = sqlx::query(
            "SELECT failed_count, window_start, lock_level, locked_until, in_flight, in_flight_at \
             FROM phantom_lockouts WHERE key = $1 FOR UPDATE",
        )
        .bind(key)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(Lockout {
            failed_count: get(&r, "failed_count")?,
            window_start: opt_time(&r, "window_start")?,
            level: get(&r, "lock_level")?,
            locked_until: opt_time(&r, "locked_until")?,
            in_flight: get(&r, "in_flight")?,
            in_flight_at: opt_time(&r, "in_flight_at")?,
        })
    }

    async fn save_phantom_lockout(&mut self, key: &str, l: &Lockout) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO phantom_lockouts (key, failed_count, window_start, lock_level, \
             locked_until, in_flight, in_flight_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (key) DO UPDATE SET failed_count = EXCLUDED.failed_count, \
             window_start = EXCLUDED.window_start, lock_level = EXCLUDED.lock_level, \
             locked_until = EXCLUDED.locked_until, in_flight = EXCLUDED.in_flight, \
             in_flight_at = EXCLUDED.in_flight_at",
        )
        .bind(key)
        .bind(l.failed_count)
        .bind(l.window_start)
        .bind(l.level)
        .bind(l.locked_until)
        .bind(l.in_flight)
        .bind(l.in_flight_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn prune_throttle(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM throttle WHERE window_start < $1")
            .bind(before)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected())
    }
}
