//! Operations: migration state, the figures of `/metrics`, the pool, and the file-level steps
//! of `roster restore` (check a backup, tell whether a database holds data, put a copy in
//! place). SQL, SQLite.

use crate::rows::{from_ms, map_err};
use crate::{Handle, HasConn, MIGRATIONS, SqliteStore};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::store::{MigrationState, OpsFigures, OpsQueries, PoolFigures, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Read-only connections of a store (besides its one writer).
pub(crate) const READERS: usize = 8;

/// Tables that hold no one's data: a database with rows only in these counts as empty.
const BOOKKEEPING: &[&str] = &[
    "_roster_migrations",
    "roster_meta",
    "email_norm_conflicts",
    "server_secrets",
];

fn state_of(applied: &[i64]) -> MigrationState {
    MigrationState {
        applied: MIGRATIONS
            .iter()
            .filter(|(v, ..)| applied.contains(v))
            .count(),
        pending: MIGRATIONS
            .iter()
            .filter(|(v, ..)| !applied.contains(v))
            .map(|(_, name, _)| (*name).to_string())
            .collect(),
        unknown: applied
            .iter()
            .copied()
            .filter(|v| !MIGRATIONS.iter().any(|(k, ..)| k == v))
            .collect(),
    }
}

fn applied_versions(conn: &Connection) -> StoreResult<Vec<i64>> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
             AND name = '_roster_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut st = conn
        .prepare("SELECT version FROM _roster_migrations ORDER BY version")
        .map_err(map_err)?;
    let rows = st.query_map([], |r| r.get(0)).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

#[async_trait]
impl<C: HasConn> OpsQueries for Handle<C> {
    async fn ping(&mut self) -> StoreResult<()> {
        let conn = self.0.conn()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))
            .map_err(map_err)?;
        Ok(())
    }

    async fn migration_state(&mut self) -> StoreResult<MigrationState> {
        let conn = self.0.conn()?;
        Ok(state_of(&applied_versions(conn)?))
    }

    async fn ops_figures(&mut self) -> StoreResult<OpsFigures> {
        // the partial indexes of pending messages and deliveries keep these small
        let (outbox_pending, oldest) = self
            .one(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0).map_err(map_err)?,
                        r.get::<_, Option<i64>>(1).map_err(map_err)?,
                    ))
                },
            )?
            .unwrap_or((0, None));
        let webhooks_pending = self.scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'",
            [],
        )?;
        let (seats_held, seats_total, apps) = self
            .one(
                "SELECT COALESCE(SUM(seats_held), 0), \
                 COALESCE(SUM(seats_purchased + seats_complimentary), 0), COUNT(*) FROM apps",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0).map_err(map_err)?,
                        r.get::<_, i64>(1).map_err(map_err)?,
                        r.get::<_, i64>(2).map_err(map_err)?,
                    ))
                },
            )?
            .unwrap_or((0, 0, 0));
        Ok(OpsFigures {
            outbox_pending,
            outbox_oldest_pending: oldest.map(from_ms).transpose()?,
            webhooks_pending,
            seats_held,
            seats_total,
            apps,
        })
    }
}

impl SqliteStore {
    /// The writer (busy or not) and the read-only connections (taken, or open and idle).
    pub(crate) fn pool_now(&self) -> PoolFigures {
        let writer_busy = u32::from(self.inner.writer.is_busy());
        let readers_taken = READERS.saturating_sub(self.inner.read_slots.available_permits());
        let readers_idle = self.inner.readers.lock().map(|v| v.len()).unwrap_or(0);
        PoolFigures {
            in_use: writer_busy + u32::try_from(readers_taken).unwrap_or(0),
            idle: (1 - writer_busy) + u32::try_from(readers_idle).unwrap_or(0),
            max: 1 + u32::try_from(READERS).unwrap_or(0),
        }
    }
}

/// What `roster restore` learns about a backup file before it uses it.
#[derive(Debug, Clone)]
pub struct BackupCheck {
    /// Empty when `PRAGMA integrity_check` says "ok"; its complaints otherwise.
    pub problems: Vec<String>,
    /// The backup's migrations against this binary's. A backup without Roster's migration
    /// table is not a Roster database (`is_roster` false).
    pub migrations: MigrationState,
    pub is_roster: bool,
}

fn open_read_only(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(map_err)?;
    Ok(conn)
}

/// Check a backup file: SQLite's integrity check, and which migrations it has. A file that is
/// not an SQLite database at all is an error naming it.
pub fn check_backup(path: &Path) -> StoreResult<BackupCheck> {
    if !path.is_file() {
        return Err(StoreError::Other(format!(
            "{} does not exist or is not a file",
            path.display()
        )));
    }
    let conn = open_read_only(path)?;
    let not_db = |e: rusqlite::Error| {
        StoreError::Other(format!(
            "{} is not a readable SQLite database ({e}): damaged, or not a database at all",
            path.display()
        ))
    };
    let mut problems = Vec::new();
    {
        let mut st = conn.prepare("PRAGMA integrity_check").map_err(not_db)?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(not_db)?;
        for row in rows {
            let line = row.map_err(not_db)?;
            if line != "ok" {
                problems.push(line);
            }
        }
    }
    if !problems.is_empty() {
        return Ok(BackupCheck {
            problems,
            migrations: MigrationState::default(),
            is_roster: false,
        });
    }
    let applied = applied_versions(&conn).map_err(|e| {
        StoreError::Other(format!(
            "{}: cannot read its migrations: {e}",
            path.display()
        ))
    })?;
    Ok(BackupCheck {
        problems,
        is_roster: !applied.is_empty(),
        migrations: state_of(&applied),
    })
}

/// Whether the database at `path` holds anything but bookkeeping (a missing file holds
/// nothing).
pub fn holds_data(path: &Path) -> StoreResult<bool> {
    if !path.exists() {
        return Ok(false);
    }
    if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
        return Ok(false);
    }
    let conn = open_read_only(path)?;
    let tables: Vec<String> = {
        let mut st = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .map_err(map_err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(map_err)?;
        rows.collect::<Result<_, _>>().map_err(map_err)?
    };
    for t in tables {
        if BOOKKEEPING.contains(&t.as_str()) {
            continue;
        }
        let quoted = t.replace('"', "\"\"");
        let any: bool = conn
            .query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM \"{quoted}\")"),
                [],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        if any {
            return Ok(true);
        }
    }
    Ok(false)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Put a consistent copy of the backup `src` at `dest` (no server may be using `dest`): the
/// copy is written beside it first (`VACUUM INTO`, so a backup with a write-ahead log of its
/// own is copied whole) and flushed to disk; the old database's write-ahead log is folded into
/// it and its `-wal`/`-shm` files removed (they belong to the old file: SQLite would apply them
/// to the new one); then the copy is renamed over `dest`. A crash at any step leaves either the
/// old database or the new one.
pub fn restore_backup(src: &Path, dest: &Path) -> StoreResult<()> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        StoreError::Other(format!("cannot {what} {}: {e}", p.display()))
    };
    if let Some(dir) = dest.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    }
    let tmp = sibling(dest, ".restoring");
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("remove", &tmp, e)),
    }
    {
        let conn = open_read_only(src)?;
        let target = tmp.to_string_lossy().to_string();
        conn.execute("VACUUM INTO ?1", [target])
            .map_err(|e| StoreError::Other(format!("cannot copy {}: {e}", src.display())))?;
    }
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("flush", &tmp, e))?;
    // fold the old database's log into it first, so that whatever happens next it is whole
    // (best effort: a damaged old database is being replaced anyway)
    if dest.exists()
        && let Ok(old) = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_WRITE)
    {
        let _ = old.busy_timeout(std::time::Duration::from_secs(5));
        let _ = old.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let p = sibling(dest, suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &p, e)),
        }
    }
    std::fs::rename(&tmp, dest).map_err(|e| io("rename the copy to", dest, e))?;
    if let Some(dir) = dest.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        // the rename itself reaches the disk with the folder
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
