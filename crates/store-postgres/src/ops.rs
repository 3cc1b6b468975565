//! Operations: migration state, the figures of `/metrics` and the pool. SQL, PostgreSQL.

use crate::rows::map_err;
use crate::{Handle, MIGRATOR, PgStore};
use async_trait::async_trait;
use roster_core::store::{MigrationState, OpsFigures, OpsQueries, PoolFigures, StoreResult};
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;

#[async_trait]
impl<C> OpsQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn ping(&mut self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn migration_state(&mut self) -> StoreResult<MigrationState> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(self.c())
            .await
            .map_err(map_err)?;
        let applied: Vec<i64> = if exists {
            sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(self.c())
            .await
            .map_err(map_err)?
        } else {
            Vec::new()
        };
        let known: Vec<(i64, String)> = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| {
                (
                    m.version,
                    format!("{:04}_{}", m.version, m.description.replace(' ', "_")),
                )
            })
            .collect();
        Ok(MigrationState {
            applied: known.iter().filter(|(v, _)| applied.contains(v)).count(),
            pending: known
                .iter()
                .filter(|(v, _)| !applied.contains(v))
                .map(|(_, n)| n.clone())
                .collect(),
            unknown: applied
                .iter()
                .copied()
                .filter(|v| !known.iter().any(|(k, _)| k == v))
                .collect(),
        })
    }

    async fn ops_figures(&mut self) -> StoreResult<OpsFigures> {
        // the partial indexes of pending messages and deliveries keep these small
        let (outbox_pending, outbox_oldest_pending): (i64, Option<OffsetDateTime>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'")
                .fetch_one(self.c())
                .await
                .map_err(map_err)?;
        let webhooks_pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
                .fetch_one(self.c())
                .await
                .map_err(map_err)?;
        let (seats_held, seats_total, apps): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(seats_held), 0)::BIGINT, \
             COALESCE(SUM(seats_purchased + seats_complimentary), 0)::BIGINT, COUNT(*) FROM apps",
        )
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(OpsFigures {
            outbox_pending,
            outbox_oldest_pending,
            webhooks_pending,
            seats_held,
            seats_total,
            apps,
        })
    }
}

impl PgStore {
    /// Open connections: taken by a query or transaction, or idle in the pool.
    pub(crate) fn pool_now(&self) -> PoolFigures {
        let size = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle())
            .unwrap_or(size)
            .min(size);
        PoolFigures {
            in_use: size - idle,
            idle,
            max: self.pool.options().get_max_connections(),
        }
    }
}
