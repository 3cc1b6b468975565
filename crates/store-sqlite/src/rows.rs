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

fn get<T: FromSql>(r: &Row<'_>, col: usize) -> Result<T, StoreError> {
    r.get(col).map_err(map_err)
}

fn uuid(r: &Row<'_>, col: usize) -> Result<Uuid, StoreError> {
    let b: Vec<u8> = get(r, col)?;
    Uuid::from_slice(&b).map_err(|_| bad("uuid", &col.to_string()))
}

fn opt_uuid(r: &Row<'_>, col: usize) -> Result<Option<Uuid>, StoreError> {
    get::<Option<Vec<u8>>>(r, col)?
        .map(|b| Uuid::from_slice(&b).map_err(|_| bad("uuid", &col.to_string())))
        .transpose()
}

fn time(r: &Row<'_>, col: usize) -> Result<OffsetDateTime, StoreError> {
    from_ms(get(r, col)?)
}

fn opt_time(r: &Row<'_>, col: usize) -> Result<Option<OffsetDateTime>, StoreError> {
    get::<Option<i64>>(r, col)?.map(from_ms).transpose()
}

fn app_id(r: &Row<'_>, col: usize) -> Result<AppId, StoreError> {
    let s: String = get(r, col)?;
    AppId::parse(&s).map_err(|_| bad("app id", &s))
}

fn opt_app_id(r: &Row<'_>, col: usize) -> Result<Option<AppId>, StoreError> {
    get::<Option<String>>(r, col)?
        .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
        .transpose()
}

fn email(r: &Row<'_>, col: usize) -> Result<Email, StoreError> {
    let s: String = get(r, col)?;
    Email::parse(&s).map_err(|_| bad("email", &s))
}

fn kind(r: &Row<'_>, col: usize) -> Result<MemberKind, StoreError> {
    let s: String = get(r, col)?;
    MemberKind::parse(&s).ok_or_else(|| bad("kind", &s))
}

pub(crate) fn app_row(r: &Row<'_>) -> Result<App, StoreError> {
    app_at(r, 0)
}

pub(crate) fn app_at(r: &Row<'_>, b: usize) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, b)?,
        name: get(r, b + 1)?,
        seats_purchased: get(r, b + 2)?,
        seats_complimentary: get(r, b + 3)?,
        seats_held: get(r, b + 4)?,
        created_at: time(r, b + 5)?,
    })
}

pub(crate) fn seat_row(r: &Row<'_>) -> Result<SeatLedgerEntry, StoreError> {
    let k: String = get(r, 3)?;
    Ok(SeatLedgerEntry {
        id: uuid(r, 0)?,
        app_id: app_id(r, 1)?,
        at: time(r, 2)?,
        kind: SeatEntryKind::parse(&k).ok_or_else(|| bad("seat kind", &k))?,
        quantity: get(r, 4)?,
        actor: opt_uuid(r, 5)?.map(IdentityId),
    })
}

pub(crate) fn identity_row(r: &Row<'_>) -> Result<Identity, StoreError> {
    identity_at(r, 0)
}

pub(crate) fn identity_at(r: &Row<'_>, b: usize) -> Result<Identity, StoreError> {
    let q: Option<String> = get(r, b + 5)?;
    Ok(Identity {
        id: IdentityId(uuid(r, b)?),
        email: email(r, b + 1)?,
        first_name: get(r, b + 2)?,
        last_name: get(r, b + 3)?,
        password_hash: get(r, b + 4)?,
        security_question: q
            .map(|q| SecurityQuestion::parse(&q).map_err(|_| bad("question", &q)))
            .transpose()?,
        security_answer_hash: get(r, b + 6)?,
        terms_version: get(r, b + 7)?,
        terms_accepted_at: opt_time(r, b + 8)?,
        created_at: time(r, b + 9)?,
        lockout: Lockout {
            failed_count: get(r, b + 10)?,
            window_start: opt_time(r, b + 11)?,
            level: get(r, b + 12)?,
            locked_until: opt_time(r, b + 13)?,
        },
    })
}

pub(crate) fn member_row(r: &Row<'_>) -> Result<Member, StoreError> {
    member_at(r, 0)
}

pub(crate) fn member_at(r: &Row<'_>, b: usize) -> Result<Member, StoreError> {
    let st: String = get(r, b + 8)?;
    Ok(Member {
        id: MemberId(uuid(r, b)?),
        app_id: app_id(r, b + 1)?,
        identity_id: opt_uuid(r, b + 2)?.map(IdentityId),
        email: email(r, b + 3)?,
        first_name: get(r, b + 4)?,
        last_name: get(r, b + 5)?,
        kind: kind(r, b + 6)?,
        admin: get(r, b + 7)?,
        status: MemberStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        holds_seat: get(r, b + 9)?,
        created_at: time(r, b + 10)?,
        last_login_at: opt_time(r, b + 11)?,
    })
}

pub(crate) fn invitation_row(r: &Row<'_>) -> Result<Invitation, StoreError> {
    let st: String = get(r, 7)?;
    Ok(Invitation {
        id: InvitationId(uuid(r, 0)?),
        app_id: app_id(r, 1)?,
        member_id: MemberId(uuid(r, 2)?),
        email: email(r, 3)?,
        kind: kind(r, 4)?,
        admin: get(r, 5)?,
        token_hash: get(r, 6)?,
        status: InvitationStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        inviter_id: opt_uuid(r, 8)?.map(IdentityId),
        inviter_name: get(r, 9)?,
        created_at: time(r, 10)?,
        expires_at: time(r, 11)?,
        ended_at: opt_time(r, 12)?,
    })
}

pub(crate) fn session_row(r: &Row<'_>) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId(uuid(r, 0)?),
        token_hash: get(r, 1)?,
        identity_id: IdentityId(uuid(r, 2)?),
        app_id: opt_app_id(r, 3)?,
        created_at: time(r, 4)?,
        last_seen_at: time(r, 5)?,
        expires_at: time(r, 6)?,
        client_addr: get(r, 7)?,
    })
}

pub(crate) fn audit_row(r: &Row<'_>) -> Result<AuditEvent, StoreError> {
    let details: String = get(r, 8)?;
    Ok(AuditEvent {
        id: uuid(r, 0)?,
        at: time(r, 1)?,
        app_id: opt_app_id(r, 2)?,
        actor_id: opt_uuid(r, 3)?.map(IdentityId),
        actor_label: get(r, 4)?,
        action: get(r, 5)?,
        target: get(r, 6)?,
        client_addr: get(r, 7)?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}

pub(crate) fn outbox_row(r: &Row<'_>) -> Result<OutboxMessage, StoreError> {
    let st: String = get(r, 5)?;
    let payload: String = get(r, 3)?;
    Ok(OutboxMessage {
        id: MessageId(uuid(r, 0)?),
        created_at: time(r, 1)?,
        to: get(r, 2)?,
        mail: serde_json::from_str(&payload).map_err(|_| bad("payload", &payload))?,
        secret: get(r, 4)?,
        status: OutboxStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        attempts: get(r, 6)?,
        next_attempt_at: time(r, 7)?,
        last_error: get(r, 8)?,
        sent_at: opt_time(r, 9)?,
    })
}

pub(crate) fn profile_row(r: &Row<'_>) -> Result<Profile, StoreError> {
    let mime: Option<String> = get(r, 5)?;
    let bytes: Option<Vec<u8>> = get(r, 6)?;
    Ok(Profile {
        member_id: MemberId(uuid(r, 0)?),
        phone: get(r, 1)?,
        time_zone: get(r, 2)?,
        signature_html: get(r, 3)?,
        signature_text: get(r, 4)?,
        logo: mime.zip(bytes).map(|(mime, bytes)| Logo { mime, bytes }),
        setup_done: get(r, 7)?,
        updated_at: time(r, 8)?,
    })
}

pub(crate) fn seat_request_row(r: &Row<'_>) -> Result<SeatRequest, StoreError> {
    let st: String = get(r, 4)?;
    Ok(SeatRequest {
        id: SeatRequestId(uuid(r, 0)?),
        app_id: app_id(r, 1)?,
        requested_by: IdentityId(uuid(r, 2)?),
        quantity: get(r, 3)?,
        status: SeatRequestStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        created_at: time(r, 5)?,
        decided_at: opt_time(r, 6)?,
    })
}
