//! Roster's `Store` on an embedded SQLite file.
//!
//! Two pools: one write connection (so writers queue in the pool, not in SQLite's busy handler)
//! whose transactions all start with `BEGIN IMMEDIATE`, and several read-only connections.
//! WAL journal, `synchronous=NORMAL`, foreign keys on, `busy_timeout` for other processes (the
//! CLI) writing to the same file.

mod rows;

use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{Queries, Store, StoreResult, Tx};
use roster_core::types::*;
use rows::*;
use rusqlite::{Connection, OpenFlags, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

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
];

/// How long a writer waits for another process (e.g. the CLI) to release the write lock.
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<Connection>>,
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
        let readers = 8;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Arc::new(tokio::sync::Mutex::new(writer)),
                readers: Mutex::new(Vec::new()),
                read_slots: Arc::new(Semaphore::new(readers)),
            }),
        })
    }

    /// Consistent online copy of the database into `dest` (`VACUUM INTO`).
    pub async fn backup(&self, dest: &str) -> StoreResult<()> {
        let conn = self.inner.writer.clone().lock_owned().await;
        conn.execute("VACUUM INTO ?1", [dest]).map_err(map_err)?;
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

    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.inner.writer.clone().lock_owned().await;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS _roster_migrations (version INTEGER PRIMARY KEY, \
             name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .map_err(map_err)?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM _roster_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        for (version, name, sql) in MIGRATIONS {
            if *version > current {
                tx.execute_batch(sql)
                    .map_err(|e| StoreError::Other(format!("migration {name} failed: {e}")))?;
                tx.execute(
                    "INSERT INTO _roster_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![version, name, ms(OffsetDateTime::now_utc())],
                )
                .map_err(map_err)?;
            }
        }
        tx.commit().map_err(map_err)
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let conn = self.inner.writer.clone().lock_owned().await;
        // BEGIN IMMEDIATE takes SQLite's write lock now, so every check made inside the
        // transaction (seats!) holds until commit. Another process may hold it: wait without
        // blocking the runtime.
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match conn.execute_batch("BEGIN IMMEDIATE") {
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
        Ok(Box::new(Handle(WriteTx { conn: Some(conn) })))
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
}

/// The writer connection inside `BEGIN IMMEDIATE`; rolled back if dropped without commit.
struct WriteTx {
    conn: Option<OwnedMutexGuard<Connection>>,
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(c) = &self.conn
            && !c.is_autocommit()
        {
            let _ = c.execute_batch("ROLLBACK");
        }
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
        self.conn
            .as_deref_mut()
            .ok_or_else(|| StoreError::Other("transaction already finished".into()))
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
        let conn = self.0.conn()?;
        conn.execute_batch("COMMIT").map_err(map_err)?;
        Ok(())
    }
}

macro_rules! app_cols {
    () => {
        "app_id, name, seats_purchased, seats_complimentary, seats_held, created_at"
    };
}
macro_rules! identity_cols {
    () => {
        "id, email, first_name, last_name, password_hash, security_question, security_answer_hash, \
         terms_version, terms_accepted_at, created_at, failed_count, window_start, lock_level, locked_until"
    };
}
macro_rules! member_cols {
    () => {
        "id, app_id, identity_id, email, first_name, last_name, kind, admin, status, holds_seat, \
         created_at, last_login_at"
    };
}
macro_rules! invitation_cols {
    () => {
        "id, app_id, member_id, email, kind, admin, token_hash, status, inviter_id, inviter_name, \
         created_at, expires_at, ended_at"
    };
}
macro_rules! outbox_cols {
    () => {
        "id, created_at, to_addr, payload, secret, status, attempts, next_attempt_at, last_error, sent_at"
    };
}

#[async_trait]
impl<C: HasConn> Queries for Handle<C> {
    async fn insert_app(&mut self, a: &App) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO apps (",
                app_cols!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            rusqlite::params![
                a.app_id.as_str(),
                &a.name,
                a.seats_purchased,
                a.seats_complimentary,
                a.seats_held,
                ms(a.created_at)
            ],
        )?;
        Ok(())
    }

    async fn count_apps(&mut self) -> StoreResult<i64> {
        self.scalar("SELECT COUNT(*) FROM apps", rusqlite::params![])
    }

    async fn get_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        self.one(
            concat!("SELECT ", app_cols!(), " FROM apps WHERE app_id = ?1"),
            rusqlite::params![app_id.as_str()],
            app_row,
        )
    }

    async fn lock_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        // BEGIN IMMEDIATE already holds the database's single write lock.
        self.get_app(app_id).await
    }

    async fn update_app_seats(&mut self, a: &App) -> StoreResult<()> {
        self.exec(
            "UPDATE apps SET seats_purchased = ?2, seats_complimentary = ?3, seats_held = ?4 \
             WHERE app_id = ?1",
            rusqlite::params![
                a.app_id.as_str(),
                a.seats_purchased,
                a.seats_complimentary,
                a.seats_held
            ],
        )?;
        Ok(())
    }

    async fn insert_seat_entry(&mut self, e: &SeatLedgerEntry) -> StoreResult<()> {
        self.exec(
            "INSERT INTO seat_ledger (id, app_id, at, kind, quantity, actor) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                e.id,
                e.app_id.as_str(),
                ms(e.at),
                e.kind.as_str(),
                e.quantity,
                e.actor.map(|a| a.0)
            ],
        )?;
        Ok(())
    }

    async fn list_seat_entries(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatLedgerEntry>> {
        self.all(
            "SELECT id, app_id, at, kind, quantity, actor FROM seat_ledger \
             WHERE app_id = ?1 ORDER BY at, id",
            rusqlite::params![app_id.as_str()],
            seat_row,
        )
    }

    async fn count_due_expired(&mut self, app_id: &AppId, now: OffsetDateTime) -> StoreResult<i64> {
        let n: i64 = self.scalar(
            "SELECT COUNT(*) FROM invitations i JOIN members m ON m.id = i.member_id \
             WHERE i.app_id = ?1 AND i.status = 'pending' AND i.expires_at <= ?2 \
             AND m.holds_seat = 1 AND m.status = 'invited'",
            rusqlite::params![app_id.as_str(), ms(now)],
        )?;
        Ok(n)
    }

    async fn expire_due_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        // Driven from the (usually empty) range of due invitations, so the cost does not grow
        // with the number of members.
        let due: Vec<uuid::Uuid> = self.all(
            "SELECT member_id FROM invitations \
             WHERE app_id = ?1 AND status = 'pending' AND expires_at <= ?2",
            rusqlite::params![app_id.as_str(), ms(now)],
            |r| r.get::<_, uuid::Uuid>(0).map_err(map_err),
        )?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut released = 0usize;
        for member in &due {
            released += self.exec(
                "UPDATE members SET holds_seat = 0 WHERE id = ?1 AND status = 'invited' \
                 AND holds_seat = 1",
                rusqlite::params![member],
            )?;
        }
        self.exec(
            "UPDATE invitations SET status = 'expired', ended_at = expires_at \
             WHERE app_id = ?1 AND status = 'pending' AND expires_at <= ?2",
            rusqlite::params![app_id.as_str(), ms(now)],
        )?;
        Ok(i64::try_from(released).unwrap_or(i64::MAX))
    }

    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()> {
        self.exec(concat!(
            "INSERT INTO identities (",
            identity_cols!(),
            ", email_norm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ), rusqlite::params![i.id.0, i.email.as_str(), &i.first_name, &i.last_name, &i.password_hash, i.security_question.map(|q| q.code()), &i.security_answer_hash, &i.terms_version, i.terms_accepted_at.map(ms), ms(i.created_at), i.lockout.failed_count, i.lockout.window_start.map(ms), i.lockout.level, i.lockout.locked_until.map(ms), i.email.normalized()])?;
        Ok(())
    }

    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>> {
        self.one(
            concat!(
                "SELECT ",
                identity_cols!(),
                " FROM identities WHERE id = ?1"
            ),
            rusqlite::params![id.0],
            identity_row,
        )
    }

    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        self.one(
            concat!(
                "SELECT ",
                identity_cols!(),
                " FROM identities WHERE email_norm = ?1"
            ),
            rusqlite::params![email_norm],
            identity_row,
        )
    }

    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        self.find_identity_by_email(email_norm).await
    }

    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()> {
        self.exec(
            "UPDATE identities SET failed_count = ?2, window_start = ?3, lock_level = ?4, \
             locked_until = ?5 WHERE id = ?1",
            rusqlite::params![
                id.0,
                l.failed_count,
                l.window_start.map(ms),
                l.level,
                l.locked_until.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn insert_member(&mut self, m: &Member) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO members (",
                member_cols!(),
                ", email_norm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            rusqlite::params![
                m.id.0,
                m.app_id.as_str(),
                m.identity_id.map(|i| i.0),
                m.email.as_str(),
                &m.first_name,
                &m.last_name,
                m.kind.as_str(),
                m.admin,
                m.status.as_str(),
                m.holds_seat,
                ms(m.created_at),
                m.last_login_at.map(ms),
                m.email.normalized()
            ],
        )?;
        Ok(())
    }

    async fn update_member(&mut self, m: &Member) -> StoreResult<()> {
        self.exec(
            "UPDATE members SET identity_id = ?3, email = ?4, email_norm = ?5, first_name = ?6, \
             last_name = ?7, kind = ?8, admin = ?9, status = ?10, holds_seat = ?11, \
             last_login_at = ?12 WHERE app_id = ?1 AND id = ?2",
            rusqlite::params![
                m.app_id.as_str(),
                m.id.0,
                m.identity_id.map(|i| i.0),
                m.email.as_str(),
                m.email.normalized(),
                &m.first_name,
                &m.last_name,
                m.kind.as_str(),
                m.admin,
                m.status.as_str(),
                m.holds_seat,
                m.last_login_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn get_member(&mut self, app_id: &AppId, id: MemberId) -> StoreResult<Option<Member>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND id = ?2"
            ),
            rusqlite::params![app_id.as_str(), id.0],
            member_row,
        )
    }

    async fn find_member_by_email(
        &mut self,
        app_id: &AppId,
        email_norm: &str,
    ) -> StoreResult<Option<Member>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND email_norm = ?2"
            ),
            rusqlite::params![app_id.as_str(), email_norm],
            member_row,
        )
    }

    async fn find_member_by_identity(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<Member>> {
        self.one(
            concat!(
                "SELECT ",
                member_cols!(),
                " FROM members WHERE app_id = ?1 AND identity_id = ?2"
            ),
            rusqlite::params![app_id.as_str(), identity.0],
            member_row,
        )
    }

    async fn count_active_admins(&mut self, app_id: &AppId) -> StoreResult<i64> {
        self.scalar(
            "SELECT COUNT(*) FROM members WHERE app_id = ?1 AND status = 'active' AND admin = 1",
            rusqlite::params![app_id.as_str()],
        )
    }

    async fn list_members(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<Vec<Member>> {
        let filter = match q.filter {
            MemberFilter::ActiveInvited => "active_invited",
            MemberFilter::Inactive => "inactive",
            MemberFilter::Partners => "partners",
        };
        let pattern = q.search.as_ref().map(|s| format!("%{}%", like_escape(s)));
        self.all(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = ?1 \
             AND ((?2 = 'active_invited' AND status IN ('invited', 'active')) \
               OR (?2 = 'inactive' AND status = 'inactive') \
               OR (?2 = 'partners' AND kind = 'partner' AND status <> 'removed')) \
             AND (?3 IS NULL OR email_norm LIKE ?3 ESCAPE '\\' \
               OR lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) LIKE ?3 ESCAPE '\\') \
             AND (?4 IS NULL OR email_norm > ?4) \
             ORDER BY email_norm LIMIT ?5"
        ), rusqlite::params![app_id.as_str(), filter, pattern, q.after.as_deref(), i64::from(q.limit)], member_row)
    }

    async fn list_memberships(&mut self, identity: IdentityId) -> StoreResult<Vec<(App, Member)>> {
        self.all(
            "SELECT a.app_id, a.name, a.seats_purchased, a.seats_complimentary, a.seats_held, \
             a.created_at, m.id, m.app_id, m.identity_id, m.email, m.first_name, m.last_name, \
             m.kind, m.admin, m.status, m.holds_seat, m.created_at, m.last_login_at \
             FROM members m JOIN apps a ON a.app_id = m.app_id \
             WHERE m.identity_id = ?1 AND m.status = 'active' ORDER BY a.name, a.app_id",
            rusqlite::params![identity.0],
            |r| Ok((app_at(r, 0)?, member_at(r, 6)?)),
        )
    }

    async fn recount_seats_held(&mut self, app_id: &AppId) -> StoreResult<i64> {
        self.scalar(
            "SELECT COUNT(*) FROM members WHERE app_id = ?1 AND holds_seat = 1",
            rusqlite::params![app_id.as_str()],
        )
    }

    async fn insert_invitation(&mut self, i: &Invitation) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO invitations (",
                invitation_cols!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            rusqlite::params![
                i.id.0,
                i.app_id.as_str(),
                i.member_id.0,
                i.email.as_str(),
                i.kind.as_str(),
                i.admin,
                &i.token_hash,
                i.status.as_str(),
                i.inviter_id.map(|x| x.0),
                &i.inviter_name,
                ms(i.created_at),
                ms(i.expires_at),
                i.ended_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn get_invitation(
        &mut self,
        app_id: &AppId,
        id: InvitationId,
    ) -> StoreResult<Option<Invitation>> {
        self.one(
            concat!(
                "SELECT ",
                invitation_cols!(),
                " FROM invitations WHERE app_id = ?1 AND id = ?2"
            ),
            rusqlite::params![app_id.as_str(), id.0],
            invitation_row,
        )
    }

    async fn find_invitation_by_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<Invitation>> {
        self.one(
            concat!(
                "SELECT ",
                invitation_cols!(),
                " FROM invitations WHERE token_hash = ?1"
            ),
            rusqlite::params![token_hash],
            invitation_row,
        )
    }

    async fn latest_invitation(&mut self, member: MemberId) -> StoreResult<Option<Invitation>> {
        self.one(
            concat!(
                "SELECT ",
                invitation_cols!(),
                " FROM invitations WHERE member_id = ?1 ORDER BY id DESC LIMIT 1"
            ),
            rusqlite::params![member.0],
            invitation_row,
        )
    }

    async fn find_pending_invitation(
        &mut self,
        member: MemberId,
    ) -> StoreResult<Option<Invitation>> {
        self.one(
            concat!(
                "SELECT ",
                invitation_cols!(),
                " FROM invitations WHERE member_id = ?1 AND status = 'pending'"
            ),
            rusqlite::params![member.0],
            invitation_row,
        )
    }

    async fn set_invitation_status(
        &mut self,
        id: InvitationId,
        from: InvitationStatus,
        to: InvitationStatus,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE invitations SET status = ?3, ended_at = ?4 WHERE id = ?1 AND status = ?2",
            rusqlite::params![id.0, from.as_str(), to.as_str(), ms(at)],
        )?;
        Ok(n == 1)
    }

    async fn list_invitations(
        &mut self,
        app_id: &AppId,
        q: &InvitationQuery,
    ) -> StoreResult<Vec<Invitation>> {
        self.all(
            concat!(
                "SELECT ",
                invitation_cols!(),
                " FROM invitations WHERE app_id = ?1 AND (?2 IS NULL OR id < ?2) \
             ORDER BY id DESC LIMIT ?3"
            ),
            rusqlite::params![
                app_id.as_str(),
                q.before.map(|b| b.0),
                i64::from(q.limit.clamp(1, 200))
            ],
            invitation_row,
        )
    }

    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sessions (id, token_hash, identity_id, app_id, created_at, last_seen_at, \
             expires_at, client_addr) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                s.id.0,
                &s.token_hash,
                s.identity_id.0,
                s.app_id.as_ref().map(|a| a.as_str()),
                ms(s.created_at),
                ms(s.last_seen_at),
                ms(s.expires_at),
                &s.client_addr
            ],
        )?;
        Ok(())
    }

    async fn find_session(&mut self, token_hash: &[u8]) -> StoreResult<Option<Session>> {
        self.one(
            "SELECT id, token_hash, identity_id, app_id, created_at, last_seen_at, expires_at, \
             client_addr FROM sessions WHERE token_hash = ?1",
            rusqlite::params![token_hash],
            session_row,
        )
    }

    async fn find_session_identity(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(Session, Identity)>> {
        self.one(
            "SELECT s.id, s.token_hash, s.identity_id, s.app_id, s.created_at, s.last_seen_at, \
             s.expires_at, s.client_addr, i.id, i.email, i.first_name, i.last_name, \
             i.password_hash, i.security_question, i.security_answer_hash, i.terms_version, \
             i.terms_accepted_at, i.created_at, i.failed_count, i.window_start, i.lock_level, \
             i.locked_until FROM sessions s JOIN identities i ON i.id = s.identity_id \
             WHERE s.token_hash = ?1",
            rusqlite::params![token_hash],
            |r| Ok((session_row(r)?, identity_at(r, 8)?)),
        )
    }

    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
            rusqlite::params![id.0, ms(at)],
        )?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM sessions WHERE token_hash = ?1",
            rusqlite::params![token_hash],
        )?;
        Ok(())
    }

    async fn delete_sessions_in_app(
        &mut self,
        identity: IdentityId,
        app_id: &AppId,
    ) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM sessions WHERE identity_id = ?1 AND app_id = ?2",
            rusqlite::params![identity.0, app_id.as_str()],
        )?;
        Ok(n as u64)
    }

    async fn set_last_login(&mut self, member: MemberId, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE members SET last_login_at = ?2 WHERE id = ?1",
            rusqlite::params![member.0, ms(at)],
        )?;
        Ok(())
    }

    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<Profile>> {
        self.one(
            "SELECT member_id, phone, time_zone, signature_html, signature_text, logo_mime, logo, \
             setup_done, updated_at FROM profiles WHERE member_id = ?1",
            rusqlite::params![member.0],
            profile_row,
        )
    }

    async fn save_profile(&mut self, p: &Profile) -> StoreResult<()> {
        self.exec(
            "INSERT INTO profiles (member_id, phone, time_zone, signature_html, signature_text, \
             logo_mime, logo, setup_done, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (member_id) DO UPDATE SET phone = ?2, time_zone = ?3, \
             signature_html = ?4, signature_text = ?5, logo_mime = ?6, logo = ?7, \
             setup_done = ?8, updated_at = ?9",
            rusqlite::params![
                p.member_id.0,
                p.phone,
                p.time_zone,
                p.signature_html,
                p.signature_text,
                p.logo.as_ref().map(|l| l.mime.clone()),
                p.logo.as_ref().map(|l| l.bytes.clone()),
                p.setup_done,
                ms(p.updated_at)
            ],
        )?;
        Ok(())
    }

    async fn insert_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "INSERT INTO setup_tokens (token_hash, created_at) VALUES (?1, ?2)",
            rusqlite::params![hash, ms(at)],
        )?;
        Ok(())
    }

    async fn setup_token_unused(&mut self, hash: &[u8]) -> StoreResult<bool> {
        Ok(self.scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ?1 AND used_at IS NULL",
            rusqlite::params![hash],
        )? == 1)
    }

    async fn use_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<bool> {
        Ok(self.exec(
            "UPDATE setup_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
            rusqlite::params![hash, ms(at)],
        )? == 1)
    }

    async fn insert_seat_request(&mut self, r: &SeatRequest) -> StoreResult<()> {
        self.exec(
            "INSERT INTO seat_requests (id, app_id, requested_by, quantity, status, created_at, \
             decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                r.id.0,
                r.app_id.as_str(),
                r.requested_by.0,
                r.quantity,
                r.status.as_str(),
                ms(r.created_at),
                r.decided_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn list_seat_requests(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatRequest>> {
        self.all(
            "SELECT id, app_id, requested_by, quantity, status, created_at, decided_at \
             FROM seat_requests WHERE app_id = ?1 ORDER BY created_at DESC, id DESC",
            rusqlite::params![app_id.as_str()],
            seat_request_row,
        )
    }

    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()> {
        self.exec(
            "INSERT INTO audit_log (id, at, app_id, actor_id, actor_label, action, target, \
             client_addr, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                e.id,
                ms(e.at),
                e.app_id.as_ref().map(|a| a.as_str()),
                e.actor_id.map(|a| a.0),
                &e.actor_label,
                &e.action,
                &e.target,
                &e.client_addr,
                e.details.to_string()
            ],
        )?;
        Ok(())
    }

    async fn list_audit(&mut self, app_id: &AppId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.all(
            "SELECT id, at, app_id, actor_id, actor_label, action, target, client_addr, details \
             FROM audit_log WHERE app_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
            rusqlite::params![app_id.as_str(), i64::from(limit)],
            audit_row,
        )
    }

    async fn enqueue(&mut self, m: &OutboxMessage) -> StoreResult<()> {
        let payload =
            serde_json::to_string(&m.mail).map_err(|e| StoreError::Other(e.to_string()))?;
        self.exec(
            concat!(
                "INSERT INTO outbox (",
                outbox_cols!(),
                ", kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            rusqlite::params![
                m.id.0,
                ms(m.created_at),
                &m.to,
                payload,
                &m.secret,
                m.status.as_str(),
                m.attempts,
                ms(m.next_attempt_at),
                &m.last_error,
                m.sent_at.map(ms),
                m.mail.kind_name()
            ],
        )?;
        Ok(())
    }

    async fn claim_outbox(
        &mut self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.all(
            concat!(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 \
             ORDER BY next_attempt_at, id LIMIT ?3) RETURNING ",
                outbox_cols!()
            ),
            rusqlite::params![ms(now), ms(lease_until), i64::from(limit)],
            outbox_row,
        )
    }

    async fn complete_outbox(&mut self, id: MessageId, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, secret = NULL, last_error = NULL \
             WHERE id = ?1",
            rusqlite::params![id.0, ms(at)],
        )?;
        Ok(())
    }

    async fn fail_outbox(
        &mut self,
        id: MessageId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()> {
        match retry_at {
            Some(t) => self.exec(
                "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                rusqlite::params![id.0, error, ms(t)],
            )?,
            None => self.exec(
                "UPDATE outbox SET last_error = ?2, status = 'failed', secret = NULL WHERE id = ?1",
                rusqlite::params![id.0, error],
            )?,
        };
        Ok(())
    }

    async fn list_outbox(&mut self, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        self.all(
            concat!(
                "SELECT ",
                outbox_cols!(),
                " FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?1"
            ),
            rusqlite::params![i64::from(limit)],
            outbox_row,
        )
    }

    async fn get_outbox(&mut self, id: MessageId) -> StoreResult<Option<OutboxMessage>> {
        self.one(
            concat!("SELECT ", outbox_cols!(), " FROM outbox WHERE id = ?1"),
            rusqlite::params![id.0],
            outbox_row,
        )
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
