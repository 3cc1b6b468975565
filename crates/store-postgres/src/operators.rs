//! Operators, app search, suspension. SQL, PostgreSQL.

use crate::Handle;
use crate::apps::app_row;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{OperatorQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;

macro_rules! app_cols {
    () => {
        "app_id, name, seats_purchased, seats_complimentary, seats_held, created_at"
    };
}

#[async_trait]
impl<C> OperatorQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn add_operator(
        &mut self,
        identity: IdentityId,
        at: OffsetDateTime,
        added_by: &str,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "INSERT INTO operators (identity_id, added_at, added_by) VALUES ($1, $2, $3) \
             ON CONFLICT (identity_id) DO NOTHING",
        )
        .bind(identity.0)
        .bind(at)
        .bind(added_by)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn remove_operator(&mut self, identity: IdentityId) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM operators WHERE identity_id = $1")
            .bind(identity.0)
            .execute(self.c())
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn is_operator(&mut self, identity: IdentityId) -> StoreResult<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM operators WHERE identity_id = $1")
                .bind(identity.0)
                .fetch_optional(self.c())
                .await
                .map_err(map_err)?
                .is_some(),
        )
    }

    async fn list_operators(&mut self) -> StoreResult<Vec<(Email, OffsetDateTime)>> {
        let rows = sqlx::query(
            "SELECT i.email, o.added_at FROM operators o JOIN identities i ON i.id = o.identity_id \
             ORDER BY o.added_at, i.email",
        )
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((email(r, "email")?, time(r, "added_at")?)))
            .collect()
    }

    async fn search_apps(&mut self, q: &str, limit: u32) -> StoreResult<Vec<App>> {
        let like = format!("%{}%", crate::member_list::like_escape(&q.to_lowercase()));
        let rows = sqlx::query(concat!(
            "SELECT ",
            app_cols!(),
            " FROM apps WHERE lower(app_id) = lower($1) \
             OR lower(name) LIKE $2 ORDER BY name, app_id LIMIT $3"
        ))
        .bind(q)
        .bind(like)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(app_row).collect()
    }

    async fn list_apps(&mut self, limit: u32) -> StoreResult<Vec<App>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            app_cols!(),
            " FROM apps ORDER BY name, app_id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(app_row).collect()
    }

    async fn set_app_suspended(
        &mut self,
        app: &AppId,
        at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let n = sqlx::query("UPDATE apps SET suspended_at = $2 WHERE app_id = $1")
            .bind(app.as_str())
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn app_suspended_at(&mut self, app: &AppId) -> StoreResult<Option<OffsetDateTime>> {
        let row = sqlx::query("SELECT suspended_at FROM apps WHERE app_id = $1")
            .bind(app.as_str())
            .fetch_optional(self.c())
            .await
            .map_err(map_err)?;
        match row {
            Some(r) => opt_time(&r, "suspended_at"),
            None => Ok(None),
        }
    }

    async fn insert_operator_invite(&mut self, i: &OperatorInvite) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO operator_invites (token_hash, email, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&i.token_hash)
        .bind(i.email.as_str())
        .bind(i.created_at)
        .bind(i.expires_at)
        .bind(i.used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_operator_invite(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<OperatorInvite>> {
        let row = sqlx::query(
            "SELECT token_hash, email, created_at, expires_at, used_at FROM operator_invites \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(OperatorInvite {
                token_hash: get(&r, "token_hash")?,
                email: email(&r, "email")?,
                created_at: time(&r, "created_at")?,
                expires_at: time(&r, "expires_at")?,
                used_at: opt_time(&r, "used_at")?,
            })),
        }
    }

    async fn use_operator_invite(
        &mut self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE operator_invites SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(token_hash)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn void_operator_invites(&mut self, email: &str, at: OffsetDateTime) -> StoreResult<u64> {
        let n = sqlx::query(
            "UPDATE operator_invites SET used_at = $2 WHERE lower(email) = lower($1) AND used_at IS NULL",
        )
        .bind(email)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n)
    }
}
