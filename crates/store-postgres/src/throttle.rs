//! Request counters per client address and action. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
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

    async fn prune_throttle(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM throttle WHERE window_start < $1")
            .bind(before)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected())
    }
}
