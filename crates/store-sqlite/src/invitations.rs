//! Invitations. SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{InvitationQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

macro_rules! invitation_cols {
    () => {
        "id, app_id, member_id, email, kind, admin, token_hash, status, inviter_id, inviter_name, \
         created_at, expires_at, ended_at"
    };
}

#[async_trait]
impl<C: HasConn> InvitationQueries for Handle<C> {
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
                " FROM invitations WHERE token_hash = ?1 \
             OR id = (SELECT invitation_id FROM invitation_reminders WHERE token_hash = ?1)"
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
             ORDER BY id DESC LIMIT +?3"
            ),
            rusqlite::params![
                app_id.as_str(),
                q.before.map(|b| b.0),
                i64::from(q.limit.clamp(1, 200))
            ],
            invitation_row,
        )
    }

    async fn count_pending_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        self.scalar(
            "SELECT COUNT(*) FROM invitations \
             WHERE app_id = ?1 AND status = 'pending' AND expires_at > ?2",
            rusqlite::params![app_id.as_str(), ms(now)],
        )
    }
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
