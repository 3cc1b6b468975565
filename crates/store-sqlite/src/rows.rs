//! Row-mapping primitives shared by the aggregate files (SQLite values ↔ core types), and error
//! classification. Each aggregate's own row mapping lives in its file.

use roster_core::StoreError;
use roster_core::types::*;
use rusqlite::Row;
use rusqlite::types::FromSql;
use time::OffsetDateTime;
use uuid::Uuid;

/// Classify by SQLite's extended result code, never by message text.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => StoreError::Unique,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::ForeignKey,
            _ if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
            ) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        },
        _ => StoreError::Other(e.to_string()),
    }
}

pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .map_err(|e| StoreError::Other(format!("bad timestamp {v}: {e}")))
}

pub(crate) fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(format!("bad {what} in row: {v:?}"))
}

pub(crate) fn get<T: FromSql>(r: &Row<'_>, col: usize) -> Result<T, StoreError> {
    r.get(col).map_err(map_err)
}

pub(crate) fn uuid(r: &Row<'_>, col: usize) -> Result<Uuid, StoreError> {
    let b: Vec<u8> = get(r, col)?;
    Uuid::from_slice(&b).map_err(|_| bad("uuid", &col.to_string()))
}

pub(crate) fn opt_uuid(r: &Row<'_>, col: usize) -> Result<Option<Uuid>, StoreError> {
    get::<Option<Vec<u8>>>(r, col)?
        .map(|b| Uuid::from_slice(&b).map_err(|_| bad("uuid", &col.to_string())))
        .transpose()
}

pub(crate) fn time(r: &Row<'_>, col: usize) -> Result<OffsetDateTime, StoreError> {
    from_ms(get(r, col)?)
}

pub(crate) fn opt_time(r: &Row<'_>, col: usize) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(r, col)?.map(from_ms).transpose()
}

pub(crate) fn app_id(r: &Row<'_>, col: usize) -> Result<AppId, StoreError> {
    let s: String = get(r, col)?;
    AppId::parse(&s).map_err(|_| bad("app id", &s))
}

pub(crate) fn opt_app_id(r: &Row<'_>, col: usize) -> Result<Option<AppId>, StoreError> {
    get::<Option<String>>(r, col)?
        .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
        .transpose()
}

pub(crate) fn email(r: &Row<'_>, col: usize) -> Result<Email, StoreError> {
    let s: String = get(r, col)?;
    Email::from_stored(&s).map_err(|_| bad("email", &s))
}

pub(crate) fn kind(r: &Row<'_>, col: usize) -> Result<MemberKind, StoreError> {
    let s: String = get(r, col)?;
    MemberKind::parse(&s).ok_or_else(|| bad("kind", &s))
}
