//! Row-mapping primitives shared by the aggregate files (PostgreSQL values ↔ core types), and
//! error classification. Each aggregate's own row mapping lives in its file.

use roster_core::StoreError;
use roster_core::types::*;
use sqlx::Row;
use sqlx::postgres::PgRow;
use std::sync::atomic::{AtomicU64, Ordering};
use time::OffsetDateTime;

/// When this process last saw a connection fail (ms since the Unix epoch; 0: never). For a while
/// after it, pooled connections are checked before use (see `PgStore::connect`).
pub(crate) static LAST_CONNECTION_FAULT_MS: AtomicU64 = AtomicU64::new(0);

fn note_connection_fault() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_millis() as u64);
    LAST_CONNECTION_FAULT_MS.store(now, Ordering::Relaxed);
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    // a broken connection or a server going away: other pooled connections may be dead too
    let connection_lost = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    };
    if connection_lost {
        note_connection_fault();
    }
    classify(&e)
}

fn classify(e: &sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Unique,
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::ForeignKey,
        // 57014 statement timeout, 57P01 admin shutdown, 40001/40P01 serialization/deadlock,
        // 53300 too many connections
        // classes 08 (connection), 53 (resources), 57 (operator intervention), 58 (system);
        // 40001/40P01 serialization failure and deadlock
        sqlx::Error::Database(db)
            if db.code().is_some_and(|c| {
                c.starts_with("08")
                    || c.starts_with("53")
                    || c.starts_with("57")
                    || c.starts_with("58")
                    || c == "40001"
                    || c == "40P01"
            }) =>
        {
            StoreError::Unavailable(db.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(format!("bad {what} in row: {v:?}"))
}

pub(crate) fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    r: &'r PgRow,
    col: &str,
) -> Result<T, StoreError> {
    r.try_get(col).map_err(map_err)
}

pub(crate) fn app_id(r: &PgRow, col: &str) -> Result<AppId, StoreError> {
    let s: String = get(r, col)?;
    AppId::parse(&s).map_err(|_| bad("app id", &s))
}

pub(crate) fn opt_app_id(r: &PgRow, col: &str) -> Result<Option<AppId>, StoreError> {
    get::<Option<String>>(r, col)?
        .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
        .transpose()
}

pub(crate) fn email(r: &PgRow, col: &str) -> Result<Email, StoreError> {
    let s: String = get(r, col)?;
    Email::from_stored(&s).map_err(|_| bad("email", &s))
}

pub(crate) fn kind(r: &PgRow) -> Result<MemberKind, StoreError> {
    let s: String = get(r, "kind")?;
    MemberKind::parse(&s).ok_or_else(|| bad("kind", &s))
}

pub(crate) fn time(r: &PgRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    get(r, col)
}

pub(crate) fn opt_time(r: &PgRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    get(r, col)
}
