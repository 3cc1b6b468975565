//! Roster's `Store` on an embedded SQLite file.
//!
//! Two pools: one write connection (so writers queue in the pool, not in SQLite's busy handler)
//! whose transactions all start with `BEGIN IMMEDIATE` and commit in groups (`writer`), and
//! several read-only connections.
//! WAL journal, `synchronous=NORMAL`, foreign keys on, `busy_timeout` for other processes (the
//! CLI) writing to the same file.

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
mod writer;

use async_trait::async_trait;
pub use ops::{BackupCheck, check_backup, holds_data, restore_backup};
use roster_core::StoreError;
use roster_core::store::{Queries, Store, StoreResult, Tx};
use rows::*;
use rusqlite::{Connection, OpenFlags, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use writer::WriteTx;

/// Migrations, applied in order; the same names as the PostgreSQL backend's.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "0002_profiles",
        include_str!("../migrations/0002_profiles.sql"),
    ),
    (
        3,
        "0003_setup_tokens",
        include_str!("../migrations/0003_setup_tokens.sql"),
    ),
    (
        4,
        "0004_seat_requests",
        include_str!("../migrations/0004_seat_requests.sql"),
    ),
    (
        5,
        "0005_invitations_member_index",
        include_str!("../migrations/0005_invitations_member_index.sql"),
    ),
    (
        6,
        "0006_identity_profiles",
        include_str!("../migrations/0006_identity_profiles.sql"),
    ),
    (
        7,
        "0007_seat_request_outcome",
        include_str!("../migrations/0007_seat_request_outcome.sql"),
    ),
    (
        8,
        "0008_server_secrets",
        include_str!("../migrations/0008_server_secrets.sql"),
    ),
    (
        9,
        "0009_member_search",
        include_str!("../migrations/0009_member_search.sql"),
    ),
    (
        10,
        "0010_session_user_agent",
        include_str!("../migrations/0010_session_user_agent.sql"),
    ),
    (
        11,
        "0011_identity_security",
        include_str!("../migrations/0011_identity_security.sql"),
    ),
    (
        12,
        "0012_second_factors",
        include_str!("../migrations/0012_second_factors.sql"),
    ),
    (
        13,
        "0013_passkeys",
        include_str!("../migrations/0013_passkeys.sql"),
    ),
    (
        14,
        "0014_phantom_lockouts",
        include_str!("../migrations/0014_phantom_lockouts.sql"),
    ),
    (15, "0015_mail", include_str!("../migrations/0015_mail.sql")),
    (
        16,
        "0016_api_keys",
        include_str!("../migrations/0016_api_keys.sql"),
    ),
    (
        17,
        "0017_webhooks",
        include_str!("../migrations/0017_webhooks.sql"),
    ),
    (18, "0018_scim", include_str!("../migrations/0018_scim.sql")),
    (19, "0019_oidc", include_str!("../migrations/0019_oidc.sql")),
    (
        20,
        "0020_operators",
        include_str!("../migrations/0020_operators.sql"),
    ),
    (
        21,
        "0021_scim_provisioning",
        include_str!("../migrations/0021_scim_provisioning.sql"),
    ),
    (
        22,
        "0022_seat_ledger_why",
        include_str!("../migrations/0022_seat_ledger_why.sql"),
    ),
    (
        23,
        "0023_short_search",
        include_str!("../migrations/0023_short_search.sql"),
    ),
];

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Arc<writer::WriterPool>,
    readers: Mutex<Vec<Connection>>,
    read_slots: Arc<Semaphore>,
}

fn open(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Unavailable(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    })?;
    // The writer waits for other processes in BEGIN IMMEDIATE (async, see `begin`); statements
    // inside a transaction hold the lock already. Readers never wait in WAL mode but for recovery.
    conn.busy_timeout(if read_only {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(50)
    })
    .map_err(map_err)?;
    conn.execute_batch(if read_only {
        "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000;"
    } else {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16000;"
    })
    .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Open (creating if missing) the database at a `sqlite:` URL or a plain path.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let raw = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let raw = raw.split('?').next().unwrap_or(raw);
        if raw.is_empty() || raw == ":memory:" {
            return Err(StoreError::Unavailable(
                "the SQLite URL needs a file path, e.g. sqlite:./data/roster.db".into(),
            ));
        }
        let path = PathBuf::from(raw);
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let p = path.clone();
        let writer = tokio::task::spawn_blocking(move || open(&p, false))
            .await
            .map_err(|e| StoreError::Other(e.to_string()))??;
        let readers = ops::READERS;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: writer::WriterPool::new(writer),
                readers: Mutex::new(Vec::new()),
                read_slots: Arc::new(Semaphore::new(readers)),
            }),
        })
    }

    /// Consistent online copy of the database into `dest` (`VACUUM INTO`).
    pub async fn backup(&self, dest: &str) -> StoreResult<()> {
        let w = self.inner.writer.exclusive().await?;
        w.conn.execute("VACUUM INTO ?1", [dest]).map_err(map_err)?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn close(&self) {
        // readers in use come back first (bounded), then every connection closes: the last
        // one to close leaves no WAL behind
        let slots = self.inner.read_slots.clone();
        let all = tokio::time::timeout(
            Duration::from_secs(10),
            slots.acquire_many_owned(ops::READERS as u32),
        )
        .await;
        self.inner.read_slots.close();
        if let Ok(mut readers) = self.inner.readers.lock() {
            readers.clear();
        }
        drop(all);
        match tokio::time::timeout(Duration::from_secs(10), self.inner.writer.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "closing the SQLite database"),
            Err(_) => tracing::warn!("the SQLite writer was still busy after 10 s; not closed"),
        }
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut w = self.inner.writer.exclusive().await?;
        let tx = w
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS _roster_migrations (version INTEGER PRIMARY KEY, \
             name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .map_err(map_err)?;
        // Every migration not yet applied, in order (not just those above the highest applied:
        // branches merge migrations with lower numbers later).
        let applied: Vec<i64> = {
            let mut st = tx
                .prepare("SELECT version FROM _roster_migrations")
                .map_err(map_err)?;
            let rows = st.query_map([], |r| r.get(0)).map_err(map_err)?;
            rows.collect::<Result<_, _>>().map_err(map_err)?
        };
        for (version, name, sql) in MIGRATIONS {
            if !applied.contains(version) {
                tx.execute_batch(sql)
                    .map_err(|e| StoreError::Other(format!("migration {name} failed: {e}")))?;
                tx.execute(
                    "INSERT INTO _roster_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![version, name, ms(OffsetDateTime::now_utc())],
                )
                .map_err(map_err)?;
            }
        }
        // data migrations, once, in the same transaction
        if !renorm::done(&tx)? {
            let report = renorm::run(&tx)?;
            tracing::info!(
                updated = report.updated,
                left_as_is = report.conflicts.len(),
                "email_norm_v2: stored email_norm values recomputed"
            );
        }
        tx.commit().map_err(map_err)
    }

    async fn renormalize_emails(&self) -> StoreResult<roster_core::renorm::RenormReport> {
        let mut w = self.inner.writer.exclusive().await?;
        let tx = w
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let report = renorm::run(&tx)?;
        tx.commit().map_err(map_err)?;
        Ok(report)
    }

    async fn email_norm_conflicts(&self) -> StoreResult<Vec<String>> {
        let w = self.inner.writer.exclusive().await?;
        renorm::conflicts(&w.conn)
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(Handle(self.inner.writer.begin().await?)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Queries>> {
        let permit = self
            .inner
            .read_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let pooled = self.inner.readers.lock().ok().and_then(|mut v| v.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let p = self.inner.path.clone();
                tokio::task::spawn_blocking(move || open(&p, true))
                    .await
                    .map_err(|e| StoreError::Other(e.to_string()))??
            }
        };
        Ok(Box::new(Handle(ReadConn {
            conn: Some(conn),
            inner: self.inner.clone(),
            _permit: permit,
        })))
    }

    fn pool_figures(&self) -> roster_core::store::PoolFigures {
        self.pool_now()
    }
}

/// A pooled read-only connection, returned to the pool on drop.
struct ReadConn {
    conn: Option<Connection>,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut pool)) = (self.conn.take(), self.inner.readers.lock()) {
            pool.push(c);
        }
    }
}

trait HasConn: Send {
    fn conn(&mut self) -> StoreResult<&mut Connection>;
}

impl HasConn for WriteTx {
    fn conn(&mut self) -> StoreResult<&mut Connection> {
        self.connection()
    }
}

impl HasConn for ReadConn {
    fn conn(&mut self) -> StoreResult<&mut Connection> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Other("connection already returned".into()))
    }
}

/// All queries are written once, against a `Connection`. SQLite statements run in
/// microseconds, so they run on the calling task: no thread hand-off per statement.
struct Handle<C>(C);

impl<C: HasConn> Handle<C> {
    fn exec(&mut self, sql: &str, p: impl rusqlite::Params) -> StoreResult<usize> {
        let conn = self.0.conn()?;
        let mut st = conn.prepare_cached(sql).map_err(map_err)?;
        st.execute(p).map_err(map_err)
    }

    fn scalar(&mut self, sql: &str, p: impl rusqlite::Params) -> StoreResult<i64> {
        let conn = self.0.conn()?;
        let mut st = conn.prepare_cached(sql).map_err(map_err)?;
        st.query_row(p, |r| r.get(0)).map_err(map_err)
    }

    fn one<T>(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl Fn(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let conn = self.0.conn()?;
        let mut st = conn.prepare_cached(sql).map_err(map_err)?;
        let mut rows = st.query(p).map_err(map_err)?;
        match rows.next().map_err(map_err)? {
            Some(r) => Ok(Some(f(r)?)),
            None => Ok(None),
        }
    }

    fn all<T>(
        &mut self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl Fn(&Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let conn = self.0.conn()?;
        let mut st = conn.prepare_cached(sql).map_err(map_err)?;
        let mut rows = st.query(p).map_err(map_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(map_err)? {
            out.push(f(r)?);
        }
        Ok(out)
    }
}

#[async_trait]
impl Tx for Handle<WriteTx> {
    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.0.commit().await
    }
}
