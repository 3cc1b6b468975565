//! Invitations. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{InvitationQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! invitation_cols {
    () => {
        "id, app_id, member_id, email, kind, admin, token_hash, status, inviter_id, inviter_name, \
         created_at, expires_at, ended_at"
    };
}

#[async_trait]
impl<C> InvitationQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
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
            " FROM invitations WHERE token_hash = $1 \
             OR id = (SELECT invitation_id FROM invitation_reminders WHERE token_hash = $1)"
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

    async fn count_pending_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM invitations \
             WHERE app_id = $1 AND status = 'pending' AND expires_at > $2",
        )
        .bind(app_id.as_str())
        .bind(now)
        .fetch_one(self.c())
        .await
        .map_err(map_err)
    }
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
