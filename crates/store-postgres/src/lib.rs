//! Roster's `Store` on PostgreSQL: several `roster serve` nodes share one database.
//!
//! Seat-checked writes lock the app's row (`SELECT … FOR UPDATE`), login attempts lock the ID's
//! row, and outbox workers claim messages with `FOR UPDATE SKIP LOCKED` plus a lease, so any
//! number of nodes keep the rules of one.

mod api_keys;
mod apps;
mod audit;
mod bulk_jobs;
mod identities;
mod identity_tokens;
mod invitations;
mod member_list;
mod members;
mod notifications;
mod oidc;
mod oidc_rows;
mod operators;
mod ops;
mod outbox;
mod passkeys;
mod profiles;
mod renorm;
mod rows;
mod scim;
mod second_factors;
mod secrets;
mod sessions;
mod setup_tokens;
mod terms;
mod throttle;
mod webhooks;

use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::store::{Queries, Store, StoreResult, Tx};
use rows::*;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Executor, PgPool, Postgres, Transaction};
use std::ops::DerefMut;
use std::str::FromStr;
use std::time::Duration;

/// The migrations this release knows (readiness compares the database's with them).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pooled connection unused this long is checked before use.
const CHECK_IF_IDLE_FOR: Duration = Duration::from_secs(60);
/// For this long after a connection was lost, every pooled connection is checked before use.
const CHECK_AFTER_FAULT: Duration = Duration::from_secs(10);

fn recent_connection_fault() -> bool {
    let last = rows::LAST_CONNECTION_FAULT_MS.load(std::sync::atomic::Ordering::Relaxed);
    if last == 0 {
        return false;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(u64::MAX, |d| d.as_millis() as u64);
    now.saturating_sub(last) < CHECK_AFTER_FAULT.as_millis() as u64
}

/// Pool and timeout settings.
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub max_connections: u32,
    pub statement_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            max_connections: 16,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to a `postgres://` URL (TLS per its `sslmode` parameter).
    pub async fn connect(url: &str, settings: &PgSettings) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        let timeout_ms = settings.statement_timeout.as_millis();
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.connect_timeout)
            // no ping on every checkout (a round trip per request: PostgreSQL answered /healthz
            // at a fifth of SQLite's rate, issue 13)...
            .test_before_acquire(false)
            // ...but after a lost connection, for a while every checkout is checked (dead ones
            // are replaced, so one fault costs one failed request, not one per pooled
            // connection), and so is a connection idle for a long time
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > CHECK_IF_IDLE_FOR || recent_connection_fault() {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        "SET statement_timeout = {timeout_ms}"
                    )))
                    .await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn close(&self) {
        // waits for checked-out connections to come back, then says goodbye to the server
        if tokio::time::timeout(std::time::Duration::from_secs(10), self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("PostgreSQL connections still in use after 10 s; closing anyway");
        }
    }

    async fn migrate(&self) -> StoreResult<()> {
        // a node of the previous release restarting after an upgrade (or a rollback) meets
        // migrations it does not know: they only add (docs/deploy.md), so it may go on; a
        // changed migration it does know is still refused
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.set_ignore_missing(true);
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        // data migrations, once (one node at a time)
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        if !renorm::lock_and_check(&mut tx).await? {
            let report = renorm::run(&mut tx).await?;
            tracing::info!(
                updated = report.updated,
                left_as_is = report.conflicts.len(),
                "email_norm_v2: stored email_norm values recomputed"
            );
        }
        tx.commit().await.map_err(map_err)
    }

    async fn renormalize_emails(&self) -> StoreResult<roster_core::renorm::RenormReport> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        renorm::lock_and_check(&mut tx).await?;
        let report = renorm::run(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(report)
    }

    async fn email_norm_conflicts(&self) -> StoreResult<Vec<String>> {
        let mut c = self.pool.acquire().await.map_err(unavailable)?;
        renorm::conflicts(&mut c).await
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin().await.map_err(unavailable)?;
        Ok(Box::new(Handle(tx)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Queries>> {
        let c = self.pool.acquire().await.map_err(unavailable)?;
        Ok(Box::new(Handle(c)))
    }

    fn pool_figures(&self) -> roster_core::store::PoolFigures {
        self.pool_now()
    }
}

/// Any failure to get a connection means the database cannot serve now (down, refusing
/// connections, pool exhausted): a 503 for the client, never a 500.
fn unavailable(e: sqlx::Error) -> StoreError {
    match map_err(e) {
        StoreError::Other(m) => StoreError::Unavailable(m),
        other => other,
    }
}

struct Handle<C>(C);

impl<C: DerefMut<Target = PgConnection>> Handle<C> {
    fn c(&mut self) -> &mut PgConnection {
        self.0.deref_mut()
    }
}

#[async_trait]
impl Tx for Handle<Transaction<'static, Postgres>> {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.0.commit().await.map_err(map_err)
    }
}
