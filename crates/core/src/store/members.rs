//! Members: an ID's (or an invitee's) place in one app.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;

#[async_trait]
pub trait MemberQueries: Send {
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
    /// The ID's member row in the app with the app's suspension and second-factor rule: what
    /// every request of a member checks, in one statement.
    async fn member_access(
        &mut self,
        app_id: &AppId,
        identity: IdentityId,
    ) -> StoreResult<Option<MemberAccess>>;
    /// Active admins of the app.
    async fn count_active_admins(&mut self, app_id: &AppId) -> StoreResult<i64>;
    /// The Active admins themselves (who are told when a member leaves), by email.
    async fn list_active_admins(&mut self, app_id: &AppId) -> StoreResult<Vec<Member>>;
    /// One page of the app's members in `email_norm` order: `q.filter`, then `q.search` (lower
    /// case; 3+ characters: a substring of the normalised email or of
    /// `lower(first_name || ' ' || last_name)`; 1–2 characters: the start of the normalised email,
    /// of `lower(first_name)` or of `lower(last_name)`), after the cursor `q.after`. Each filter/cursor/search shape is its own static statement
    /// served by an index (see docs/decisions.md, "Member search").
    async fn list_members(&mut self, app_id: &AppId, q: &MemberQuery) -> StoreResult<Vec<Member>>;
    /// The database's plan for the statement `list_members` runs with these arguments
    /// (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL), one line per plan node.
    /// For tests and diagnostics.
    async fn explain_list_members(
        &mut self,
        app_id: &AppId,
        q: &MemberQuery,
    ) -> StoreResult<String>;
    /// Apps where the ID is an Active member, with that membership.
    async fn list_memberships(&mut self, identity: IdentityId) -> StoreResult<Vec<(App, Member)>>;
    /// Recount held seats from member rows (used by tests and `roster` consistency checks).
    async fn recount_seats_held(&mut self, app_id: &AppId) -> StoreResult<i64>;
}
