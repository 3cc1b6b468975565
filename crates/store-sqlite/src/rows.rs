//! Row mapping, kept inside the backend: SQLite rows ↔ core entities.

use roster_core::StoreError;
use roster_core::model::*;
use roster_core::types::*;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Unique,
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::ForeignKey,
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5") | Some("6")) => {
            StoreError::Unavailable(format!("database busy: {db}"))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
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

fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    r: &'r SqliteRow,
    col: &str,
) -> Result<T, StoreError> {
    r.try_get(col).map_err(map_err)
}

fn time(r: &SqliteRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    from_ms(get(r, col)?)
}

fn opt_time(r: &SqliteRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(r, col)?.map(from_ms).transpose()
}

fn app_id(r: &SqliteRow, col: &str) -> Result<AppId, StoreError> {
    let s: String = get(r, col)?;
    AppId::parse(&s).map_err(|_| bad("app id", &s))
}

fn email(r: &SqliteRow, col: &str) -> Result<Email, StoreError> {
    let s: String = get(r, col)?;
    Email::parse(&s).map_err(|_| bad("email", &s))
}

fn kind(r: &SqliteRow) -> Result<MemberKind, StoreError> {
    let s: String = get(r, "kind")?;
    MemberKind::parse(&s).ok_or_else(|| bad("kind", &s))
}

pub(crate) fn app_row(r: &SqliteRow) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, "app_id")?,
        name: get(r, "name")?,
        seats_purchased: get(r, "seats_purchased")?,
        seats_complimentary: get(r, "seats_complimentary")?,
        seats_held: get(r, "seats_held")?,
        created_at: time(r, "created_at")?,
    })
}

pub(crate) fn prefixed_app_row(r: &SqliteRow) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, "a_app_id")?,
        name: get(r, "a_name")?,
        seats_purchased: get(r, "a_seats_purchased")?,
        seats_complimentary: get(r, "a_seats_complimentary")?,
        seats_held: get(r, "a_seats_held")?,
        created_at: time(r, "a_created_at")?,
    })
}

pub(crate) fn seat_row(r: &SqliteRow) -> Result<SeatLedgerEntry, StoreError> {
    let k: String = get(r, "kind")?;
    Ok(SeatLedgerEntry {
        id: get(r, "id")?,
        app_id: app_id(r, "app_id")?,
        at: time(r, "at")?,
        kind: SeatEntryKind::parse(&k).ok_or_else(|| bad("seat kind", &k))?,
        quantity: get(r, "quantity")?,
        actor: get::<Option<Uuid>>(r, "actor")?.map(IdentityId),
    })
}

pub(crate) fn identity_row(r: &SqliteRow) -> Result<Identity, StoreError> {
    let q: Option<String> = get(r, "security_question")?;
    Ok(Identity {
        id: IdentityId(get(r, "id")?),
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

pub(crate) fn member_row(r: &SqliteRow) -> Result<Member, StoreError> {
    let st: String = get(r, "status")?;
    Ok(Member {
        id: MemberId(get(r, "id")?),
        app_id: app_id(r, "app_id")?,
        identity_id: get::<Option<Uuid>>(r, "identity_id")?.map(IdentityId),
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

pub(crate) fn invitation_row(r: &SqliteRow) -> Result<Invitation, StoreError> {
    let st: String = get(r, "status")?;
    Ok(Invitation {
        id: InvitationId(get(r, "id")?),
        app_id: app_id(r, "app_id")?,
        member_id: MemberId(get(r, "member_id")?),
        email: email(r, "email")?,
        kind: kind(r)?,
        admin: get(r, "admin")?,
        token_hash: get(r, "token_hash")?,
        status: InvitationStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        inviter_id: get::<Option<Uuid>>(r, "inviter_id")?.map(IdentityId),
        inviter_name: get(r, "inviter_name")?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
        ended_at: opt_time(r, "ended_at")?,
    })
}

pub(crate) fn session_row(r: &SqliteRow) -> Result<Session, StoreError> {
    let app: Option<String> = get(r, "app_id")?;
    Ok(Session {
        id: SessionId(get(r, "id")?),
        token_hash: get(r, "token_hash")?,
        identity_id: IdentityId(get(r, "identity_id")?),
        app_id: app
            .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
            .transpose()?,
        created_at: time(r, "created_at")?,
        last_seen_at: time(r, "last_seen_at")?,
        expires_at: time(r, "expires_at")?,
        client_addr: get(r, "client_addr")?,
    })
}

pub(crate) fn audit_row(r: &SqliteRow) -> Result<AuditEvent, StoreError> {
    let app: Option<String> = get(r, "app_id")?;
    let details: String = get(r, "details")?;
    Ok(AuditEvent {
        id: get(r, "id")?,
        at: time(r, "at")?,
        app_id: app
            .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
            .transpose()?,
        actor_id: get::<Option<Uuid>>(r, "actor_id")?.map(IdentityId),
        actor_label: get(r, "actor_label")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        client_addr: get(r, "client_addr")?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}

pub(crate) fn outbox_row(r: &SqliteRow) -> Result<OutboxMessage, StoreError> {
    let st: String = get(r, "status")?;
    let payload: String = get(r, "payload")?;
    Ok(OutboxMessage {
        id: MessageId(get(r, "id")?),
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
