//! What operations read from the database: the migration state (`/readyz`, `roster doctor`)
//! and the figures `/metrics` reports as gauges at each scrape.

use super::StoreResult;
use async_trait::async_trait;
use time::OffsetDateTime;

/// The migrations of this binary compared with those the database has applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationState {
    /// How many of this binary's migrations are applied.
    pub applied: usize,
    /// This binary's migrations not applied yet (names, in order).
    pub pending: Vec<String>,
    /// Versions applied by a newer binary that this one does not know.
    pub unknown: Vec<i64>,
}

impl MigrationState {
    /// Every migration of this binary is applied (newer ones may be too: during a rolling
    /// upgrade an older node keeps serving a database a newer node has expanded).
    pub fn current(&self) -> bool {
        self.pending.is_empty()
    }

    /// The pending migrations for a person: their names when few, else the first ones and how
    /// many there are.
    pub fn pending_names(&self) -> String {
        match self.pending.len() {
            0..=4 => self.pending.join(", "),
            n => format!("{}, … ({n} in all)", self.pending[..3].join(", ")),
        }
    }
}

/// Database-wide figures for the gauges of `/metrics` (the same on every node).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsFigures {
    /// Messages in the outbox waiting to be sent (including retries).
    pub outbox_pending: i64,
    /// When the oldest of them was queued.
    pub outbox_oldest_pending: Option<OffsetDateTime>,
    /// Webhook deliveries waiting (including retries).
    pub webhooks_pending: i64,
    /// Seats held and seats there are (purchased + complimentary), summed over every app.
    pub seats_held: i64,
    pub seats_total: i64,
    pub apps: i64,
}

/// Connections of the store's pool (taken by a query or transaction, or waiting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolFigures {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait OpsQueries: Send {
    /// One round trip to the database (`SELECT 1`): `/healthz` asks it, since taking a pooled
    /// connection does not check it (a connection the server dropped would still be handed out).
    async fn ping(&mut self) -> StoreResult<()>;
    /// This binary's migrations against the database's record of them.
    async fn migration_state(&mut self) -> StoreResult<MigrationState>;
    /// The figures of [`OpsFigures`], each from an indexed or small query.
    async fn ops_figures(&mut self) -> StoreResult<OpsFigures>;
}
