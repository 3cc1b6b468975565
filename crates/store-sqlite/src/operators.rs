//! Operators, app search, suspension. SQL, SQLite.

use crate::apps::app_row;
use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{OperatorQueries, StoreResult};
use roster_core::types::*;
use time::OffsetDateTime;

macro_rules! app_cols {
    () => {
        "app_id, name, seats_purchased, seats_complimentary, seats_held, created_at"
    };
}

#[async_trait]
impl<C: HasConn> OperatorQueries for Handle<C> {
    async fn add_operator(
        &mut self,
        identity: IdentityId,
        at: OffsetDateTime,
        added_by: &str,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "INSERT INTO operators (identity_id, added_at, added_by) VALUES (?1, ?2, ?3) \
             ON CONFLICT (identity_id) DO NOTHING",
            rusqlite::params![identity.0, ms(at), added_by],
        )?;
        Ok(n == 1)
    }

    async fn remove_operator(&mut self, identity: IdentityId) -> StoreResult<bool> {
        let n = self.exec(
            "DELETE FROM operators WHERE identity_id = ?1",
            rusqlite::params![identity.0],
        )?;
        Ok(n == 1)
    }

    async fn is_operator(&mut self, identity: IdentityId) -> StoreResult<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM operators WHERE identity_id = ?1",
                rusqlite::params![identity.0],
                |_| Ok(()),
            )?
            .is_some())
    }

    async fn list_operators(&mut self) -> StoreResult<Vec<(Email, OffsetDateTime)>> {
        self.all(
            "SELECT i.email, o.added_at FROM operators o JOIN identities i ON i.id = o.identity_id \
             ORDER BY o.added_at, i.email",
            [],
            |r| Ok((email(r, 0)?, time(r, 1)?)),
        )
    }

    async fn search_apps(&mut self, q: &str, limit: u32) -> StoreResult<Vec<App>> {
        let like = format!(
            "%{}%",
            q.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        self.all(
            concat!(
                "SELECT ",
                app_cols!(),
                " FROM apps WHERE app_id = ?1 COLLATE NOCASE \
                 OR lower(name) LIKE ?2 ESCAPE '\\' ORDER BY name, app_id LIMIT ?3"
            ),
            rusqlite::params![q, like, limit],
            app_row,
        )
    }

    async fn list_apps(&mut self, limit: u32) -> StoreResult<Vec<App>> {
        self.all(
            concat!(
                "SELECT ",
                app_cols!(),
                " FROM apps ORDER BY name, app_id LIMIT ?1"
            ),
            rusqlite::params![limit],
            app_row,
        )
    }

    async fn set_app_suspended(
        &mut self,
        app: &AppId,
        at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE apps SET suspended_at = ?2 WHERE app_id = ?1",
            rusqlite::params![app.as_str(), at.map(ms)],
        )?;
        Ok(n == 1)
    }

    async fn app_suspended_at(&mut self, app: &AppId) -> StoreResult<Option<OffsetDateTime>> {
        Ok(self
            .one(
                "SELECT suspended_at FROM apps WHERE app_id = ?1",
                rusqlite::params![app.as_str()],
                |r| opt_time(r, 0),
            )?
            .flatten())
    }

    async fn insert_operator_invite(&mut self, i: &OperatorInvite) -> StoreResult<()> {
        self.exec(
            "INSERT INTO operator_invites (token_hash, email, created_at, expires_at, used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                &i.token_hash,
                i.email.as_str(),
                ms(i.created_at),
                ms(i.expires_at),
                i.used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn find_operator_invite(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<OperatorInvite>> {
        self.one(
            "SELECT token_hash, email, created_at, expires_at, used_at FROM operator_invites \
             WHERE token_hash = ?1",
            rusqlite::params![token_hash],
            |r| {
                Ok(OperatorInvite {
                    token_hash: get(r, 0)?,
                    email: email(r, 1)?,
                    created_at: time(r, 2)?,
                    expires_at: time(r, 3)?,
                    used_at: opt_time(r, 4)?,
                })
            },
        )
    }

    async fn use_operator_invite(
        &mut self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE operator_invites SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
            rusqlite::params![token_hash, ms(at)],
        )?;
        Ok(n == 1)
    }

    async fn void_operator_invites(&mut self, email: &str, at: OffsetDateTime) -> StoreResult<u64> {
        let n = self.exec(
            "UPDATE operator_invites SET used_at = ?2 WHERE lower(email) = lower(?1) AND used_at IS NULL",
            rusqlite::params![email, ms(at)],
        )?;
        Ok(n as u64)
    }
}
