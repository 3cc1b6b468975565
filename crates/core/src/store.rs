//! The storage port. Each backend (SQLite, PostgreSQL) implements it; callers never know which.
//!
//! Write operations run inside a transaction from [`Store::begin`]. The first call of every
//! transaction that changes an app is [`Queries::lock_app`], which serialises writers of that
//! app (a row lock on PostgreSQL; `BEGIN IMMEDIATE` on SQLite already serialises all writers),
//! so seat checks done in core cannot race.

use crate::error::StoreError;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    /// Apply pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// A write transaction. Dropped without `commit` → rolled back. After any error the
    /// transaction is unusable on some backends (PostgreSQL aborts it): drop it.
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
    /// A read-only handle (no transaction) for queries.
    async fn read(&self) -> StoreResult<Box<dyn Queries>>;
}

#[async_trait]
pub trait Tx: Queries {
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

#[async_trait]
pub trait Queries: Send {
    // ---- apps and seats
    async fn insert_app(&mut self, app: &App) -> StoreResult<()>;
    async fn count_apps(&mut self) -> StoreResult<i64>;
    async fn get_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>>;
    /// Like `get_app`, and locks the app's row until the transaction ends.
    async fn lock_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>>;
    /// Write the app's seat totals and held count (after core's seat accounting).
    async fn update_app_seats(&mut self, app: &App) -> StoreResult<()>;
    async fn insert_seat_entry(&mut self, e: &SeatLedgerEntry) -> StoreResult<()>;
    async fn list_seat_entries(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatLedgerEntry>>;
    /// Count pending invitations of `app_id` whose member holds a seat and which expired by `now`.
    async fn count_due_expired(&mut self, app_id: &AppId, now: OffsetDateTime) -> StoreResult<i64>;
    /// Mark pending invitations expired by `now` as Expired and release their members' seats.
    /// Returns the number of seats released (the caller lowers the app's held count).
    async fn expire_due_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;

    // ---- identities
    async fn insert_identity(&mut self, i: &Identity) -> StoreResult<()>;
    async fn get_identity(&mut self, id: IdentityId) -> StoreResult<Option<Identity>>;
    async fn find_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>>;
    /// Like `find_identity_by_email`, and locks the row until the transaction ends.
    async fn lock_identity_by_email(&mut self, email_norm: &str) -> StoreResult<Option<Identity>>;
    async fn update_lockout(&mut self, id: IdentityId, l: &Lockout) -> StoreResult<()>;

    // ---- members
    async fn insert_member(&mut self, m: &Member) -> StoreResult<()>;
    async fn update_member(&mut self, m: &Member) -> StoreResult<()>;
    async fn get_member(&mut self, app_id: &AppId, id: MemberId) -> StoreResult<Option<Member>>;
    async fn find_member_by_email(
        &mut self,
        app_id: &AppId,
        email_norm: &str,
    ) -> StoreResult<Option<Member>>;
    async fn find_member_by_identity(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<Member>>;
    /// Active admins of the app.
    async fn count_active_admins(&mut self, app_id: &AppId) -> StoreResult<i64>;
    async fn list_members(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<Vec<Member>>;
    /// Apps where the ID is an Active member, with that membership.
    async fn list_memberships(&mut self, identity: IdentityId) -> StoreResult<Vec<(App, Member)>>;
    /// Recount held seats from member rows (used by tests and `roster` consistency checks).
    async fn recount_seats_held(&mut self, app_id: &AppId) -> StoreResult<i64>;

    // ---- invitations
    async fn insert_invitation(&mut self, inv: &Invitation) -> StoreResult<()>;
    async fn get_invitation(
        &mut self,
        app_id: &AppId,
        id: InvitationId,
    ) -> StoreResult<Option<Invitation>>;
    async fn find_invitation_by_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<Invitation>>;
    /// The member's newest invitation, whatever its status.
    async fn latest_invitation(&mut self, member: MemberId) -> StoreResult<Option<Invitation>>;
    /// The member's pending invitation, if any.
    async fn find_pending_invitation(
        &mut self,
        member: MemberId,
    ) -> StoreResult<Option<Invitation>>;
    /// Move an invitation from `from` to `to` (guarded: false if it was no longer `from`).
    async fn set_invitation_status(
        &mut self,
        id: InvitationId,
        from: InvitationStatus,
        to: InvitationStatus,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn list_invitations(
        &mut self,
        app_id: &AppId,
        q: &InvitationQuery,
    ) -> StoreResult<Vec<Invitation>>;

    // ---- sessions
    async fn insert_session(&mut self, s: &Session) -> StoreResult<()>;
    async fn find_session(&mut self, token_hash: &[u8]) -> StoreResult<Option<Session>>;
    /// The session and its ID in one go (backends may answer with a single query).
    async fn find_session_identity(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(Session, Identity)>> {
        let Some(s) = self.find_session(token_hash).await? else {
            return Ok(None);
        };
        Ok(self.get_identity(s.identity_id).await?.map(|i| (s, i)))
    }
    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> StoreResult<()>;
    async fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()>;
    /// End the ID's sessions bound to that app. Returns how many ended.
    async fn delete_sessions_in_app(
        &mut self,
        identity: IdentityId,
        app_id: &AppId,
    ) -> StoreResult<u64>;
    async fn set_last_login(&mut self, member: MemberId, at: OffsetDateTime) -> StoreResult<()>;

    // ---- profiles (initial setup)
    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<Profile>>;
    /// Insert or replace the member's profile.
    async fn save_profile(&mut self, p: &Profile) -> StoreResult<()>;

    // ---- seat requests ("ask support for a seat")
    async fn insert_seat_request(&mut self, r: &SeatRequest) -> StoreResult<()>;
    async fn list_seat_requests(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatRequest>>;

    // ---- first-run setup links
    async fn insert_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<()>;
    async fn setup_token_unused(&mut self, hash: &[u8]) -> StoreResult<bool>;
    /// Mark the link used (guarded: false if unknown or already used).
    async fn use_setup_token(&mut self, hash: &[u8], at: OffsetDateTime) -> StoreResult<bool>;

    // ---- audit
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()>;
    async fn list_audit(&mut self, app_id: &AppId, limit: u32) -> StoreResult<Vec<AuditEvent>>;

    // ---- outbox
    async fn enqueue(&mut self, m: &OutboxMessage) -> StoreResult<()>;
    /// Claim up to `limit` messages due at `now`; each is leased until `lease_until` (another
    /// worker takes it over after that). Increments their attempt counts.
    async fn claim_outbox(
        &mut self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Mark sent and erase the message's secret.
    async fn complete_outbox(&mut self, id: MessageId, at: OffsetDateTime) -> StoreResult<()>;
    /// Record a failed attempt: retry at `retry_at`, or give up (`None` → Failed).
    async fn fail_outbox(
        &mut self,
        id: MessageId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()>;
    async fn list_outbox(&mut self, limit: u32) -> StoreResult<Vec<OutboxMessage>>;
    async fn get_outbox(&mut self, id: MessageId) -> StoreResult<Option<OutboxMessage>>;
}
