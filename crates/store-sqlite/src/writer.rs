//! The one write connection, with group commit.
//!
//! Writers queue for the connection and run one at a time, each in `BEGIN IMMEDIATE` (the first
//! of a group) and its own savepoint, so every check a writer makes (seats!) holds until its
//! work is committed, exactly as with one transaction each. When a writer commits while others
//! are queued, its savepoint is released into the open transaction and it waits for the group's
//! `COMMIT`, made by the last writer of the group (or by a task after [`GROUP_WAIT`] if no one
//! came). No writer hears "committed" before its work is; a failed `COMMIT` fails every writer of
//! the group; a writer that fails or is dropped rolls back its savepoint only. One commit for many
//! writers shares their pages in the WAL: fewer bytes written and fewer syscalls per write.

use crate::map_err;
use roster_core::StoreError;
use roster_core::store::StoreResult;
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// At most this many writers share one `COMMIT` (bounds the wait of the first).
const MAX_GROUP: usize = 64;
/// A group that no later writer commits is committed after this long.
const GROUP_WAIT: Duration = Duration::from_millis(20);
/// How long `begin` waits for another process's write lock before giving up.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(10);

type Outcome = Result<(), StoreError>;

fn closed() -> StoreError {
    StoreError::Unavailable("the database is closed".into())
}

pub(crate) struct Writer {
    pub(crate) conn: Connection,
    /// Writers whose work is in the open transaction, waiting for its `COMMIT`.
    group: Vec<oneshot::Sender<Outcome>>,
    /// `COMMIT`s made (for tests and figures).
    pub(crate) commits: u64,
}

impl Writer {
    /// `COMMIT` the open transaction and tell the group.
    fn commit_group(&mut self) -> Outcome {
        let r = if self.conn.is_autocommit() {
            Err(StoreError::Other("the transaction was rolled back".into()))
        } else {
            self.conn.execute_batch("COMMIT").map_err(map_err)
        };
        if r.is_ok() {
            self.commits += 1;
        }
        if r.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        for waiter in self.group.drain(..) {
            let _ = waiter.send(r.clone());
        }
        r
    }

    /// Roll the open transaction back and tell the group why.
    fn abandon_group(&mut self, why: &StoreError) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        for waiter in self.group.drain(..) {
            let _ = waiter.send(Err(why.clone()));
        }
    }

    /// Leave no transaction open: a waiting group is committed, anything else rolled back.
    fn settle(&mut self) {
        if !self.group.is_empty() {
            let _ = self.commit_group();
        } else if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

pub(crate) struct WriterPool {
    writer: Arc<Mutex<Writer>>,
    /// Set by `close`: no writer is let in any more.
    closed: std::sync::atomic::AtomicBool,
    /// Writers queued for the connection in `begin`.
    queued: AtomicUsize,
}

/// Counts a writer as queued until it has the connection (or gives up).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Queued(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WriterPool {
    pub(crate) fn new(conn: Connection) -> Arc<Self> {
        Arc::new(WriterPool {
            writer: Arc::new(Mutex::new(Writer {
                conn,
                group: Vec::new(),
                commits: 0,
            })),
            queued: AtomicUsize::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Commit a waiting group, move everything in the WAL into the database file and close the
    /// connection. Writers that come later get `Unavailable`.
    pub(crate) async fn close(&self) -> StoreResult<()> {
        let mut w = self.exclusive().await?;
        self.closed.store(true, Ordering::SeqCst);
        w.conn
            .execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(map_err)?;
        let placeholder = Connection::open_in_memory().map_err(map_err)?;
        let conn = std::mem::replace(&mut w.conn, placeholder);
        conn.close().map_err(|(_, e)| map_err(e))
    }

    /// The connection for work outside transactions of the store (migrations, backups): a group
    /// waiting for its commit is committed first.
    pub(crate) async fn exclusive(&self) -> StoreResult<OwnedMutexGuard<Writer>> {
        let mut w = self.writer.clone().lock_owned().await;
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        w.settle();
        Ok(w)
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.writer.try_lock().is_err()
    }

    /// Queue for the connection, then open this writer's savepoint (and the transaction with
    /// `BEGIN IMMEDIATE` when none is open: SQLite's write lock is taken now, so every check made
    /// inside holds until commit). Another process may hold the lock: wait without blocking.
    pub(crate) async fn begin(self: &Arc<Self>) -> StoreResult<WriteTx> {
        let mut w = {
            let _queued = Queued::new(&self.queued);
            self.writer.clone().lock_owned().await
        };
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        if w.group.is_empty() {
            w.settle();
        }
        if w.conn.is_autocommit() {
            let started = tokio::time::Instant::now();
            let mut pause = Duration::from_millis(1);
            loop {
                match w.conn.execute_batch("BEGIN IMMEDIATE") {
                    Ok(()) => break,
                    Err(e) => {
                        let err = map_err(e);
                        if !matches!(err, StoreError::Unavailable(_))
                            || started.elapsed() > WRITE_LOCK_WAIT
                        {
                            return Err(err);
                        }
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_millis(50));
                    }
                }
            }
        }
        if let Err(e) = w.conn.execute_batch("SAVEPOINT roster_tx") {
            let err = map_err(e);
            w.abandon_group(&err);
            return Err(err);
        }
        Ok(WriteTx {
            w: Some(w),
            pool: self.clone(),
        })
    }

    /// Commit whatever group is open after [`GROUP_WAIT`], in a task of its own: the group is
    /// committed even if no writer comes and every waiting one is dropped (a client gone), so
    /// SQLite's write lock is never left held.
    fn commit_group_soon(&self) {
        let writer = self.writer.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GROUP_WAIT).await;
            let mut w = writer.lock_owned().await;
            if !w.group.is_empty() {
                let _ = w.commit_group();
            }
        });
    }
}

/// One writer's work: its savepoint inside the open transaction. Rolled back if dropped.
pub(crate) struct WriteTx {
    w: Option<OwnedMutexGuard<Writer>>,
    pool: Arc<WriterPool>,
}

impl WriteTx {
    pub(crate) fn connection(&mut self) -> StoreResult<&mut Connection> {
        self.w
            .as_deref_mut()
            .map(|w| &mut w.conn)
            .ok_or_else(|| StoreError::Other("transaction already finished".into()))
    }

    /// Returns once this writer's work is committed (alone, or with its group).
    pub(crate) async fn commit(&mut self) -> Outcome {
        let mut w = self
            .w
            .take()
            .ok_or_else(|| StoreError::Other("transaction already finished".into()))?;
        if let Err(e) = w.conn.execute_batch("RELEASE roster_tx") {
            let err = map_err(e);
            w.abandon_group(&err);
            return Err(err);
        }
        if self.pool.queued.load(Ordering::SeqCst) > 0 && w.group.len() + 1 < MAX_GROUP {
            let (tx, rx) = oneshot::channel();
            w.group.push(tx);
            drop(w);
            self.pool.commit_group_soon();
            return rx
                .await
                .unwrap_or_else(|_| Err(StoreError::Other("the group commit was lost".into())));
        }
        w.commit_group()
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut w) = self.w.take() else {
            return;
        };
        if w.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full disk)
            w.abandon_group(&StoreError::Unavailable(
                "the transaction was rolled back".into(),
            ));
            return;
        }
        if let Err(e) = w
            .conn
            .execute_batch("ROLLBACK TO roster_tx; RELEASE roster_tx")
        {
            w.abandon_group(&map_err(e));
            return;
        }
        if w.group.is_empty() {
            let _ = w.conn.execute_batch("ROLLBACK");
        } else if self.pool.queued.load(Ordering::SeqCst) == 0 {
            let _ = w.commit_group();
        }
        // else the next writer continues the group
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_store_refuses_work_and_leaves_no_wal_behind() {
        use roster_core::store::Store;
        let dir = std::env::temp_dir().join(format!("roster-close-{}", uuid::Uuid::new_v4()));
        let file = dir.join("c.db");
        let url = format!("sqlite:{}", file.display());
        let store = crate::SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        drop(store.read().await.unwrap());
        let wal = dir.join("c.db-wal");
        assert!(wal.exists(), "WAL mode keeps a log while open");
        store.close().await;
        assert!(!wal.exists(), "the log is folded into the file and removed");
        assert!(matches!(
            store.begin().await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            store.read().await,
            Err(StoreError::Unavailable(_))
        ));
        // a backup after close would copy an empty database: it is refused instead
        let copy = dir.join("copy.db");
        assert!(store.backup(&copy.to_string_lossy()).await.is_err());
        assert!(!copy.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writers_share_one_commit_and_a_dropped_one_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("roster-writer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("w.db");
        let conn = crate::open(&file, false).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .unwrap();
        let pool = WriterPool::new(conn);
        // the first writer holds the connection while 20 others queue behind it
        let mut first = pool.begin().await.unwrap();
        first
            .connection()
            .unwrap()
            .execute("INSERT INTO t VALUES (-1)", [])
            .unwrap();
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let (pool, file) = (pool.clone(), file.clone());
                tokio::spawn(async move {
                    let mut tx = pool.begin().await?;
                    let c = tx.connection()?;
                    c.execute("INSERT INTO t VALUES (?1)", [i])
                        .map_err(map_err)?;
                    match i {
                        // fails on its second statement, then is dropped: its first row goes too
                        7 => {
                            c.execute("INSERT INTO t VALUES (-1)", [])
                                .map_err(map_err)?;
                            tx.commit().await
                        }
                        // dropped without commit
                        13 => Ok(()),
                        _ => {
                            tx.commit().await?;
                            // "committed" means another connection sees it now
                            let seen: i64 = crate::open(&file, true)?
                                .query_row("SELECT count(*) FROM t WHERE v = ?1", [i], |r| r.get(0))
                                .map_err(map_err)?;
                            assert_eq!(seen, 1, "writer {i} answered before its commit");
                            Ok(())
                        }
                    }
                })
            })
            .collect();
        while pool.queued.load(Ordering::SeqCst) < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.commit().await.unwrap();
        let mut outcomes = Vec::new();
        for w in writers {
            outcomes.push(w.await.unwrap());
        }
        assert!(
            matches!(outcomes[7], Err(StoreError::Unique)),
            "{:?}",
            outcomes[7]
        );
        assert!(
            outcomes
                .iter()
                .enumerate()
                .all(|(i, r)| i == 7 || r.is_ok())
        );
        // every acknowledged row is there, nothing of the failed or dropped writers
        let check = crate::open(&file, true).unwrap();
        let rows: Vec<i64> = check
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<i64> = std::iter::once(-1)
            .chain((0..20).filter(|i| *i != 7 && *i != 13))
            .collect();
        assert_eq!(rows, expected);
        // far fewer COMMITs than writers
        let commits = pool.exclusive().await.expect("open").commits;
        assert!(commits <= 3, "{commits} commits for 19 writers");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
