//! Row mapping, kept inside the backend: PostgreSQL rows ↔ core entities.

use roster_core::StoreError;
use roster_core::model::*;
use roster_core::types::*;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
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

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(format!("bad {what} in row: {v:?}"))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    r: &'r PgRow,
    col: &str,
) -> Result<T, StoreError> {
    r.try_get(col).map_err(map_err)
}

fn app_id(r: &PgRow, col: &str) -> Result<AppId, StoreError> {
    let s: String = get(r, col)?;
    AppId::parse(&s).map_err(|_| bad("app id", &s))
}

fn opt_app_id(r: &PgRow, col: &str) -> Result<Option<AppId>, StoreError> {
    get::<Option<String>>(r, col)?
        .map(|a| AppId::parse(&a).map_err(|_| bad("app id", &a)))
        .transpose()
}

fn email(r: &PgRow, col: &str) -> Result<Email, StoreError> {
    let s: String = get(r, col)?;
    Email::parse(&s).map_err(|_| bad("email", &s))
}

fn kind(r: &PgRow) -> Result<MemberKind, StoreError> {
    let s: String = get(r, "kind")?;
    MemberKind::parse(&s).ok_or_else(|| bad("kind", &s))
}

fn time(r: &PgRow, col: &str) -> Result<OffsetDateTime, StoreError> {
    get(r, col)
}

fn opt_time(r: &PgRow, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    get(r, col)
}

pub(crate) fn app_row(r: &PgRow) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, "app_id")?,
        name: get(r, "name")?,
        seats_purchased: get(r, "seats_purchased")?,
        seats_complimentary: get(r, "seats_complimentary")?,
        seats_held: get(r, "seats_held")?,
        created_at: time(r, "created_at")?,
    })
}

pub(crate) fn prefixed_app_row(r: &PgRow) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, "a_app_id")?,
        name: get(r, "a_name")?,
        seats_purchased: get(r, "a_seats_purchased")?,
        seats_complimentary: get(r, "a_seats_complimentary")?,
        seats_held: get(r, "a_seats_held")?,
        created_at: time(r, "a_created_at")?,
    })
}

pub(crate) fn seat_row(r: &PgRow) -> Result<SeatLedgerEntry, StoreError> {
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

pub(crate) fn identity_row(r: &PgRow) -> Result<Identity, StoreError> {
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

pub(crate) fn member_row(r: &PgRow) -> Result<Member, StoreError> {
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

pub(crate) fn invitation_row(r: &PgRow) -> Result<Invitation, StoreError> {
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

pub(crate) fn session_row(r: &PgRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId(get(r, "id")?),
        token_hash: get(r, "token_hash")?,
        identity_id: IdentityId(get(r, "identity_id")?),
        app_id: opt_app_id(r, "app_id")?,
        created_at: time(r, "created_at")?,
        last_seen_at: time(r, "last_seen_at")?,
        expires_at: time(r, "expires_at")?,
        client_addr: get(r, "client_addr")?,
    })
}

pub(crate) fn audit_row(r: &PgRow) -> Result<AuditEvent, StoreError> {
    let details: String = get(r, "details")?;
    Ok(AuditEvent {
        id: get(r, "id")?,
        at: time(r, "at")?,
        app_id: opt_app_id(r, "app_id")?,
        actor_id: get::<Option<Uuid>>(r, "actor_id")?.map(IdentityId),
        actor_label: get(r, "actor_label")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        client_addr: get(r, "client_addr")?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}

pub(crate) fn outbox_row(r: &PgRow) -> Result<OutboxMessage, StoreError> {
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

pub(crate) fn profile_row(r: &PgRow) -> Result<Profile, StoreError> {
    let mime: Option<String> = get(r, "logo_mime")?;
    let bytes: Option<Vec<u8>> = get(r, "logo")?;
    Ok(Profile {
        member_id: MemberId(get(r, "member_id")?),
        phone: get(r, "phone")?,
        time_zone: get(r, "time_zone")?,
        signature_html: get(r, "signature_html")?,
        signature_text: get(r, "signature_text")?,
        logo: mime.zip(bytes).map(|(mime, bytes)| Logo { mime, bytes }),
        setup_done: get(r, "setup_done")?,
        updated_at: time(r, "updated_at")?,
    })
}

pub(crate) fn seat_request_row(r: &PgRow) -> Result<SeatRequest, StoreError> {
    let st: String = get(r, "status")?;
    Ok(SeatRequest {
        id: SeatRequestId(get(r, "id")?),
        app_id: app_id(r, "app_id")?,
        requested_by: IdentityId(get(r, "requested_by")?),
        quantity: get(r, "quantity")?,
        status: SeatRequestStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        created_at: time(r, "created_at")?,
        decided_at: opt_time(r, "decided_at")?,
    })
}
