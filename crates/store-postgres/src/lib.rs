//! Roster's `Store` on PostgreSQL: several `roster serve` nodes share one database.
//!
//! Seat-checked writes lock the app's row (`SELECT … FOR UPDATE`), login attempts lock the ID's
//! row, and outbox workers claim messages with `FOR UPDATE SKIP LOCKED` plus a lease, so any
//! number of nodes keep the rules of one.

mod rows;

use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{Queries, Store, StoreResult, Tx};
use roster_core::types::*;
use rows::*;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Executor, PgPool, Postgres, Transaction};
use std::ops::DerefMut;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Pool and timeout settings.
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub max_connections: u32,
    pub statement_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            max_connections: 16,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to a `postgres://` URL (TLS per its `sslmode` parameter).
    pub async fn connect(url: &str, settings: &PgSettings) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?;
        let timeout_ms = settings.statement_timeout.as_millis();
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.connect_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(format!(
                        "SET statement_timeout = {timeout_ms}"
                    )))
                    .await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
    }

    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin().await.map_err(unavailable)?;
        Ok(Box::new(Handle(tx)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Queries>> {
        let c = self.pool.acquire().await.map_err(unavailable)?;
        Ok(Box::new(Handle(c)))
    }
}

/// Any failure to get a connection means the database cannot serve now (down, refusing
/// connections, pool exhausted): a 503 for the client, never a 500.
fn unavailable(e: sqlx::Error) -> StoreError {
    match map_err(e) {
        StoreError::Other(m) => StoreError::Unavailable(m),
        other => other,
    }
}

struct Handle<C>(C);

impl<C: DerefMut<Target = PgConnection>> Handle<C> {
    fn c(&mut self) -> &mut PgConnection {
        self.0.deref_mut()
    }
}

#[async_trait]
impl Tx for Handle<Transaction<'static, Postgres>> {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.0.commit().await.map_err(map_err)
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
impl<C> Queries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_app(&mut self, a: &App) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO apps (",
            app_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(a.app_id.as_str())
        .bind(&a.name)
        .bind(a.seats_purchased)
        .bind(a.seats_complimentary)
        .bind(a.seats_held)
        .bind(a.created_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn count_apps(&mut self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM apps")
            .fetch_one(self.c())
            .await
            .map_err(map_err)
    }

    async fn get_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        sqlx::query(concat!(
            "SELECT ",
            app_cols!(),
            " FROM apps WHERE app_id = $1"
        ))
        .bind(app_id.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| app_row(&r))
        .transpose()
    }

    async fn lock_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        // Row lock on the app: every seat-checked write of this app, on any node, queues here.
        sqlx::query(concat!(
            "SELECT ",
            app_cols!(),
            " FROM apps WHERE app_id = $1 FOR UPDATE"
        ))
        .bind(app_id.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| app_row(&r))
        .transpose()
    }

    async fn update_app_seats(&mut self, a: &App) -> StoreResult<()> {
        sqlx::query(
            "UPDATE apps SET seats_purchased = $2, seats_complimentary = $3, seats_held = $4 \
             WHERE app_id = $1",
        )
        .bind(a.app_id.as_str())
        .bind(a.seats_purchased)
        .bind(a.seats_complimentary)
        .bind(a.seats_held)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_seat_entry(&mut self, e: &SeatLedgerEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO seat_ledger (id, app_id, at, kind, quantity, actor) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.id)
        .bind(e.app_id.as_str())
        .bind(e.at)
        .bind(e.kind.as_str())
        .bind(e.quantity)
        .bind(e.actor.map(|a| a.0))
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_seat_entries(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatLedgerEntry>> {
        let rows = sqlx::query(
            "SELECT id, app_id, at, kind, quantity, actor FROM seat_ledger \
             WHERE app_id = $1 ORDER BY at, id",
        )
        .bind(app_id.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(seat_row).collect()
    }

    async fn count_due_expired(&mut self, app_id: &AppId, now: OffsetDateTime) -> StoreResult<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invitations i JOIN members m ON m.id = i.member_id \
             WHERE i.app_id = $1 AND i.status = 'pending' AND i.expires_at <= $2 \
             AND m.holds_seat AND m.status = 'invited'",
        )
        .bind(app_id.as_str())
        .bind(now)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(n)
    }

    async fn expire_due_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        let released = sqlx::query(
            "WITH due AS (UPDATE invitations SET status = 'expired', ended_at = expires_at \
             WHERE app_id = $1 AND status = 'pending' AND expires_at <= $2 RETURNING member_id) \
             UPDATE members SET holds_seat = FALSE WHERE id IN (SELECT member_id FROM due) \
             AND status = 'invited' AND holds_seat",
        )
        .bind(app_id.as_str())
        .bind(now)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(i64::try_from(released).unwrap_or(i64::MAX))
    }

    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO identities (",
            identity_cols!(),
            ", email_norm) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(i.id.0)
        .bind(i.email.as_str())
        .bind(&i.first_name)
        .bind(&i.last_name)
        .bind(&i.password_hash)
        .bind(i.security_question.map(|q| q.code()))
        .bind(&i.security_answer_hash)
        .bind(&i.terms_version)
        .bind(i.terms_accepted_at)
        .bind(i.created_at)
        .bind(i.lockout.failed_count)
        .bind(i.lockout.window_start)
        .bind(i.lockout.level)
        .bind(i.lockout.locked_until)
        .bind(i.email.normalized())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>> {
        sqlx::query(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_row(&r))
        .transpose()
    }

    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        sqlx::query(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE email_norm = $1"
        ))
        .bind(email_norm)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_row(&r))
        .transpose()
    }

    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>> {
        // Row lock: parallel login attempts of one ID count one after another.
        sqlx::query(concat!(
            "SELECT ",
            identity_cols!(),
            " FROM identities WHERE email_norm = $1 FOR UPDATE"
        ))
        .bind(email_norm)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_row(&r))
        .transpose()
    }

    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()> {
        sqlx::query(
            "UPDATE identities SET failed_count = $2, window_start = $3, lock_level = $4, \
             locked_until = $5 WHERE id = $1",
        )
        .bind(id.0)
        .bind(l.failed_count)
        .bind(l.window_start)
        .bind(l.level)
        .bind(l.locked_until)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_member(&mut self, m: &Member) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO members (",
            member_cols!(),
            ", email_norm) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(m.id.0)
        .bind(m.app_id.as_str())
        .bind(m.identity_id.map(|i| i.0))
        .bind(m.email.as_str())
        .bind(&m.first_name)
        .bind(&m.last_name)
        .bind(m.kind.as_str())
        .bind(m.admin)
        .bind(m.status.as_str())
        .bind(m.holds_seat)
        .bind(m.created_at)
        .bind(m.last_login_at)
        .bind(m.email.normalized())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_member(&mut self, m: &Member) -> StoreResult<()> {
        sqlx::query(
            "UPDATE members SET identity_id = $3, email = $4, email_norm = $5, first_name = $6, \
             last_name = $7, kind = $8, admin = $9, status = $10, holds_seat = $11, \
             last_login_at = $12 WHERE app_id = $1 AND id = $2",
        )
        .bind(m.app_id.as_str())
        .bind(m.id.0)
        .bind(m.identity_id.map(|i| i.0))
        .bind(m.email.as_str())
        .bind(m.email.normalized())
        .bind(&m.first_name)
        .bind(&m.last_name)
        .bind(m.kind.as_str())
        .bind(m.admin)
        .bind(m.status.as_str())
        .bind(m.holds_seat)
        .bind(m.last_login_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_member(&mut self, app_id: &AppId, id: MemberId) -> StoreResult<Option<Member>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND id = $2"
        ))
        .bind(app_id.as_str())
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| member_row(&r))
        .transpose()
    }

    async fn find_member_by_email(
        &mut self,
        app_id: &AppId,
        email_norm: &str,
    ) -> StoreResult<Option<Member>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND email_norm = $2"
        ))
        .bind(app_id.as_str())
        .bind(email_norm)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| member_row(&r))
        .transpose()
    }

    async fn find_member_by_identity(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<Member>> {
        sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND identity_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(identity.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| member_row(&r))
        .transpose()
    }

    async fn count_active_admins(&mut self, app_id: &AppId) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM members WHERE app_id = $1 AND status = 'active' AND admin",
        )
        .bind(app_id.as_str())
        .fetch_one(self.c())
        .await
        .map_err(map_err)
    }

    async fn list_members(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<Vec<Member>> {
        let filter = match q.filter {
            MemberFilter::ActiveInvited => "active_invited",
            MemberFilter::Inactive => "inactive",
            MemberFilter::Partners => "partners",
        };
        let pattern = q.search.as_ref().map(|s| format!("%{}%", like_escape(s)));
        let rows = sqlx::query(concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 \
             AND (($2 = 'active_invited' AND status IN ('invited', 'active')) \
               OR ($2 = 'inactive' AND status = 'inactive') \
               OR ($2 = 'partners' AND kind = 'partner' AND status <> 'removed')) \
             AND ($3 IS NULL OR email_norm LIKE $3 ESCAPE '\\' \
               OR lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) LIKE $3 ESCAPE '\\') \
             AND ($4 IS NULL OR email_norm > $4) \
             ORDER BY email_norm LIMIT $5"
        ))
        .bind(app_id.as_str())
        .bind(filter)
        .bind(pattern)
        .bind(q.after.as_deref())
        .bind(i64::from(q.limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(member_row).collect()
    }

    async fn list_memberships(&mut self, identity: IdentityId) -> StoreResult<Vec<(App, Member)>> {
        let rows = sqlx::query(
            "SELECT a.app_id AS a_app_id, a.name AS a_name, a.seats_purchased AS a_seats_purchased, \
             a.seats_complimentary AS a_seats_complimentary, a.seats_held AS a_seats_held, \
             a.created_at AS a_created_at, m.* FROM members m JOIN apps a ON a.app_id = m.app_id \
             WHERE m.identity_id = $1 AND m.status = 'active' ORDER BY a.name, a.app_id",
        )
        .bind(identity.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((prefixed_app_row(r)?, member_row(r)?)))
            .collect()
    }

    async fn recount_seats_held(&mut self, app_id: &AppId) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE app_id = $1 AND holds_seat")
            .bind(app_id.as_str())
            .fetch_one(self.c())
            .await
            .map_err(map_err)
    }

    async fn insert_invitation(&mut self, i: &Invitation) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO invitations (",
            invitation_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(i.id.0)
        .bind(i.app_id.as_str())
        .bind(i.member_id.0)
        .bind(i.email.as_str())
        .bind(i.kind.as_str())
        .bind(i.admin)
        .bind(&i.token_hash)
        .bind(i.status.as_str())
        .bind(i.inviter_id.map(|x| x.0))
        .bind(&i.inviter_name)
        .bind(i.created_at)
        .bind(i.expires_at)
        .bind(i.ended_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_invitation(
        &mut self,
        app_id: &AppId,
        id: InvitationId,
    ) -> StoreResult<Option<Invitation>> {
        sqlx::query(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM invitations WHERE app_id = $1 AND id = $2"
        ))
        .bind(app_id.as_str())
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| invitation_row(&r))
        .transpose()
    }

    async fn find_invitation_by_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<Invitation>> {
        sqlx::query(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM invitations WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| invitation_row(&r))
        .transpose()
    }

    async fn latest_invitation(&mut self, member: MemberId) -> StoreResult<Option<Invitation>> {
        sqlx::query(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM invitations WHERE member_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(member.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| invitation_row(&r))
        .transpose()
    }

    async fn find_pending_invitation(
        &mut self,
        member: MemberId,
    ) -> StoreResult<Option<Invitation>> {
        sqlx::query(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM invitations WHERE member_id = $1 AND status = 'pending'"
        ))
        .bind(member.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| invitation_row(&r))
        .transpose()
    }

    async fn set_invitation_status(
        &mut self,
        id: InvitationId,
        from: InvitationStatus,
        to: InvitationStatus,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE invitations SET status = $3, ended_at = $4 WHERE id = $1 AND status = $2",
        )
        .bind(id.0)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn list_invitations(
        &mut self,
        app_id: &AppId,
        q: &InvitationQuery,
    ) -> StoreResult<Vec<Invitation>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM invitations WHERE app_id = $1 AND ($2 IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(app_id.as_str())
        .bind(q.before.map(|b| b.0))
        .bind(i64::from(q.limit.clamp(1, 200)))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(invitation_row).collect()
    }

    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, identity_id, app_id, created_at, last_seen_at, \
             expires_at, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id.0)
        .bind(&s.token_hash)
        .bind(s.identity_id.0)
        .bind(s.app_id.as_ref().map(|a| a.as_str()))
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(&s.client_addr)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_session(&mut self, token_hash: &[u8]) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT id, token_hash, identity_id, app_id, created_at, last_seen_at, expires_at, \
             client_addr FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| session_row(&r))
        .transpose()
    }

    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_sessions_in_app(
        &mut self,
        identity: IdentityId,
        app_id: &AppId,
    ) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE identity_id = $1 AND app_id = $2")
                .bind(identity.0)
                .bind(app_id.as_str())
                .execute(self.c())
                .await
                .map_err(map_err)?
                .rows_affected(),
        )
    }

    async fn set_last_login(&mut self, member: MemberId, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE members SET last_login_at = $2 WHERE id = $1")
            .bind(member.0)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<Profile>> {
        sqlx::query(
            "SELECT member_id, phone, time_zone, signature_html, signature_text, logo_mime, logo, \
             setup_done, updated_at FROM profiles WHERE member_id = $1",
        )
        .bind(member.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| profile_row(&r))
        .transpose()
    }

    async fn save_profile(&mut self, p: &Profile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO profiles (member_id, phone, time_zone, signature_html, signature_text, \
             logo_mime, logo, setup_done, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (member_id) DO UPDATE SET phone = $2, time_zone = $3, \
             signature_html = $4, signature_text = $5, logo_mime = $6, logo = $7, \
             setup_done = $8, updated_at = $9",
        )
        .bind(p.member_id.0)
        .bind(&p.phone)
        .bind(&p.time_zone)
        .bind(&p.signature_html)
        .bind(&p.signature_text)
        .bind(p.logo.as_ref().map(|l| l.mime.clone()))
        .bind(p.logo.as_ref().map(|l| l.bytes.clone()))
        .bind(p.setup_done)
        .bind(p.updated_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
            .bind(hash)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn setup_token_unused(&mut self, hash: &[u8]) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(hash)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(n == 1)
    }

    async fn use_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(hash)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn insert_seat_request(&mut self, r: &SeatRequest) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO seat_requests (id, app_id, requested_by, quantity, status, created_at, \
             decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.id.0)
        .bind(r.app_id.as_str())
        .bind(r.requested_by.0)
        .bind(r.quantity)
        .bind(r.status.as_str())
        .bind(r.created_at)
        .bind(r.decided_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_seat_requests(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatRequest>> {
        let rows = sqlx::query(
            "SELECT id, app_id, requested_by, quantity, status, created_at, decided_at \
             FROM seat_requests WHERE app_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(app_id.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(seat_request_row).collect()
    }

    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, app_id, actor_id, actor_label, action, target, \
             client_addr, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.id)
        .bind(e.at)
        .bind(e.app_id.as_ref().map(|a| a.as_str()))
        .bind(e.actor_id.map(|a| a.0))
        .bind(&e.actor_label)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.client_addr)
        .bind(e.details.to_string())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_audit(&mut self, app_id: &AppId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, app_id, actor_id, actor_label, action, target, client_addr, details \
             FROM audit_log WHERE app_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(app_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn enqueue(&mut self, m: &OutboxMessage) -> StoreResult<()> {
        let payload =
            serde_json::to_string(&m.mail).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(concat!(
            "INSERT INTO outbox (",
            outbox_cols!(),
            ", kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(m.id.0)
        .bind(m.created_at)
        .bind(&m.to)
        .bind(payload)
        .bind(&m.secret)
        .bind(m.status.as_str())
        .bind(m.attempts)
        .bind(m.next_attempt_at)
        .bind(&m.last_error)
        .bind(m.sent_at)
        .bind(m.mail.kind_name())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn claim_outbox(
        &mut self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(concat!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
            outbox_cols!()
        ))
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(outbox_row).collect()
    }

    async fn complete_outbox(&mut self, id: MessageId, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $2, secret = NULL, last_error = NULL \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn fail_outbox(
        &mut self,
        id: MessageId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()> {
        let q = match retry_at {
            Some(t) => {
                sqlx::query("UPDATE outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(error)
                    .bind(t)
            }
            None => sqlx::query(
                "UPDATE outbox SET last_error = $2, status = 'failed', secret = NULL WHERE id = $1",
            )
            .bind(id.0)
            .bind(error),
        };
        q.execute(self.c()).await.map_err(map_err)?;
        Ok(())
    }

    async fn list_outbox(&mut self, limit: u32) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(outbox_row).collect()
    }

    async fn get_outbox(&mut self, id: MessageId) -> StoreResult<Option<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| outbox_row(&r))
        .transpose()
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
