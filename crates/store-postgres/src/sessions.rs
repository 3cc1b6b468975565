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

    /// One round trip: the session (its columns prefixed `s_`) joined to its ID.
    async fn find_session_identity(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(Session, Identity)>> {
        sqlx::query(concat!(
            "SELECT s.id AS s_id, s.token_hash AS s_token_hash, s.identity_id AS s_identity_id, \
             s.app_id AS s_app_id, s.created_at AS s_created_at, \
             s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, \
             s.client_addr AS s_client_addr, s.user_agent AS s_user_agent, s.amr AS s_amr, ",
            crate::identities::identity_cols_of!("i."),
            " FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| {
            Ok((
                session_cols(&r, "s_")?,
                crate::identities::identity_row(&r)?,
            ))
        })
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
    session_cols(r, "")
}

/// A session from columns named with `prefix` (a join gives them one).
fn session_cols(r: &PgRow, prefix: &str) -> Result<Session, StoreError> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Session {
        id: SessionId(get(r, &c("id"))?),
        token_hash: get(r, &c("token_hash"))?,
        identity_id: IdentityId(get(r, &c("identity_id"))?),
        app_id: opt_app_id(r, &c("app_id"))?,
        created_at: time(r, &c("created_at"))?,
        last_seen_at: time(r, &c("last_seen_at"))?,
        expires_at: time(r, &c("expires_at"))?,
        client_addr: get(r, &c("client_addr"))?,
        user_agent: get(r, &c("user_agent"))?,
        amr: split_words(&get::<String>(r, &c("amr"))?),
    })
}
