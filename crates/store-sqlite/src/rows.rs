//! Row mapping, kept inside the backend: SQLite rows ↔ core entities, and error classification.

use roster_core::StoreError;
use roster_core::model::*;
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

fn from_ms(v: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .map_err(|e| StoreError::Other(format!("bad timestamp {v}: {e}")))
}

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(format!("bad {what} in row: {v:?}"))
}

fn get<T: FromSql>(r: &Row<'_>, col: &str) -> Result<T, StoreError> {
    r.get(col).map_err(map_err)
}

fn uuid(r: &Row<'_>, col: &str) -> Result<Uuid, StoreError> {
    let b: Vec<u8> = get(r, col)?;
    Uuid::from_slice(&b).map_err(|_| bad("uuid", col))
}

fn opt_uuid(r: &Row<'_>, col: &str) -> Result<Option<Uuid>, StoreError> {
    get::<Option<Vec<u8>>>(r, col)?
        .map(|b| Uuid::from_slice(&b).map_err(|_| bad("uuid", col)))
        .transpose()
}

fn time(r: &Row<'_>, col: &str) -> Result<OffsetDateTime, StoreError> {
    from_ms(get(r, col)?)
}

fn opt_time(r: &Row<'_>, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(r, col)?.map(from_ms).transpose()
}

fn app_id(r: &Row<'_>, col: &str) -> Result<AppId, StoreError> {
    let s: String = get(r, col)?;
    AppId::parse(&s).map_err(|_| bad("app id", &s))
}

fn opt_app_id(r: &Row<'_>, col: &str) -> Result<Option<AppId>, StoreError> {
    get::<Option<String>>(r, col)?
        .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
        .transpose()
}

fn email(r: &Row<'_>, col: &str) -> Result<Email, StoreError> {
    let s: String = get(r, col)?;
    Email::parse(&s).map_err(|_| bad("email", &s))
}

fn kind(r: &Row<'_>) -> Result<MemberKind, StoreError> {
    let s: String = get(r, "kind")?;
    MemberKind::parse(&s).ok_or_else(|| bad("kind", &s))
}

pub(crate) fn app_row(r: &Row<'_>) -> Result<App, StoreError> {
    prefixed_app(r, "")
}

pub(crate) fn prefixed_app(r: &Row<'_>, p: &str) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, &format!("{p}app_id"))?,
        name: get(r, &format!("{p}name"))?,
        seats_purchased: get(r, &format!("{p}seats_purchased"))?,
        seats_complimentary: get(r, &format!("{p}seats_complimentary"))?,
        seats_held: get(r, &format!("{p}seats_held"))?,
        created_at: time(r, &format!("{p}created_at"))?,
    })
}

pub(crate) fn seat_row(r: &Row<'_>) -> Result<SeatLedgerEntry, StoreError> {
    let k: String = get(r, "kind")?;
    Ok(SeatLedgerEntry {
        id: uuid(r, "id")?,
        app_id: app_id(r, "app_id")?,
        at: time(r, "at")?,
        kind: SeatEntryKind::parse(&k).ok_or_else(|| bad("seat kind", &k))?,
        quantity: get(r, "quantity")?,
        actor: opt_uuid(r, "actor")?.map(IdentityId),
    })
}

pub(crate) fn identity_row(r: &Row<'_>) -> Result<Identity, StoreError> {
    let q: Option<String> = get(r, "security_question")?;
    Ok(Identity {
        id: IdentityId(uuid(r, "id")?),
        email: email(r, "email")?,
        first_name: get(r, "first_name")?,
        last_name: get(r, "last_name")?,
        password_hash: get(r, "password_hash")?,
        security_question: q
            .map(|q| SecurityQuestion::parse(&q).map_err(|_| bad("question", &q)))
            .transpose()?,
        security_answer_hash: get(r, "security_answer_hash")?,
        terms_version: get(r, "terms_version")?,
        terms_accepted_at: opt_time(r, "terms_accepted_at")?,
        created_at: time(r, "created_at")?,
        lockout: Lockout {
            failed_count: get(r, "failed_count")?,
            window_start: opt_time(r, "window_start")?,
            level: get(r, "lock_level")?,
            locked_until: opt_time(r, "locked_until")?,
        },
    })
}

pub(crate) fn member_row(r: &Row<'_>) -> Result<Member, StoreError> {
    let st: String = get(r, "status")?;
    Ok(Member {
        id: MemberId(uuid(r, "id")?),
        app_id: app_id(r, "app_id")?,
        identity_id: opt_uuid(r, "identity_id")?.map(IdentityId),
        email: email(r, "email")?,
        first_name: get(r, "first_name")?,
        last_name: get(r, "last_name")?,
        kind: kind(r)?,
        admin: get(r, "admin")?,
        status: MemberStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        holds_seat: get(r, "holds_seat")?,
        created_at: time(r, "created_at")?,
        last_login_at: opt_time(r, "last_login_at")?,
    })
}

pub(crate) fn invitation_row(r: &Row<'_>) -> Result<Invitation, StoreError> {
    let st: String = get(r, "status")?;
    Ok(Invitation {
        id: InvitationId(uuid(r, "id")?),
        app_id: app_id(r, "app_id")?,
        member_id: MemberId(uuid(r, "member_id")?),
        email: email(r, "email")?,
        kind: kind(r)?,
        admin: get(r, "admin")?,
        token_hash: get(r, "token_hash")?,
        status: InvitationStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        inviter_id: opt_uuid(r, "inviter_id")?.map(IdentityId),
        inviter_name: get(r, "inviter_name")?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
        ended_at: opt_time(r, "ended_at")?,
    })
}

pub(crate) fn session_row(r: &Row<'_>) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId(uuid(r, "id")?),
        token_hash: get(r, "token_hash")?,
        identity_id: IdentityId(uuid(r, "identity_id")?),
        app_id: opt_app_id(r, "app_id")?,
        created_at: time(r, "created_at")?,
        last_seen_at: time(r, "last_seen_at")?,
        expires_at: time(r, "expires_at")?,
        client_addr: get(r, "client_addr")?,
    })
}

pub(crate) fn audit_row(r: &Row<'_>) -> Result<AuditEvent, StoreError> {
    let details: String = get(r, "details")?;
    Ok(AuditEvent {
        id: uuid(r, "id")?,
        at: time(r, "at")?,
        app_id: opt_app_id(r, "app_id")?,
        actor_id: opt_uuid(r, "actor_id")?.map(IdentityId),
        actor_label: get(r, "actor_label")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        client_addr: get(r, "client_addr")?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}

pub(crate) fn outbox_row(r: &Row<'_>) -> Result<OutboxMessage, StoreError> {
    let st: String = get(r, "status")?;
    let payload: String = get(r, "payload")?;
    Ok(OutboxMessage {
        id: MessageId(uuid(r, "id")?),
        created_at: time(r, "created_at")?,
        to: get(r, "to_addr")?,
        mail: serde_json::from_str(&payload).map_err(|_| bad("payload", &payload))?,
        secret: get(r, "secret")?,
        status: OutboxStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        attempts: get(r, "attempts")?,
        next_attempt_at: time(r, "next_attempt_at")?,
        last_error: get(r, "last_error")?,
        sent_at: opt_time(r, "sent_at")?,
    })
}
