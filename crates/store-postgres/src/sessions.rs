//! Login sessions (and the member's last-login time). SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::oidc_rows::{join_words, split_words};
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{SessionQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;

#[async_trait]
impl<C> SessionQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, identity_id, app_id, created_at, last_seen_at, \
             expires_at, client_addr, user_agent, amr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(s.id.0)
        .bind(&s.token_hash)
        .bind(s.identity_id.0)
        .bind(s.app_id.as_ref().map(|a| a.as_str()))
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.expires_at)
        .bind(&s.client_addr)
        .bind(&s.user_agent)
        .bind(join_words(&s.amr))
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_session(&mut self, token_hash: &[u8]) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT id, token_hash, identity_id, app_id, created_at, last_seen_at, expires_at, \
             client_addr, user_agent, amr FROM sessions WHERE token_hash = $1",
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

    async fn list_sessions(&mut self, identity: IdentityId) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(
            "SELECT id, token_hash, identity_id, app_id, created_at, last_seen_at, expires_at, \
             client_addr, user_agent, amr FROM sessions WHERE identity_id = $1 \
             ORDER BY last_seen_at DESC, id",
        )
        .bind(identity.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(session_row).collect()
    }

    async fn delete_session_of(
        &mut self,
        identity: IdentityId,
        id: SessionId,
    ) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM sessions WHERE identity_id = $1 AND id = $2")
            .bind(identity.0)
            .bind(id.0)
            .execute(self.c())
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn delete_sessions_except(
        &mut self,
        identity: IdentityId,
        keep: SessionId,
    ) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE identity_id = $1 AND id <> $2")
                .bind(identity.0)
                .bind(keep.0)
                .execute(self.c())
                .await
                .map_err(map_err)?
                .rows_affected(),
        )
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
        user_agent: get(r, "user_agent")?,
        amr: split_words(&get::<String>(r, "amr")?),
    })
}
