//! Login sessions (and the member's last-login time). SQL and row mapping, SQLite.

use crate::identities::identity_at;
use crate::oidc::{join_words, split_words};
use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{SessionQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> SessionQueries for Handle<C> {
    async fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sessions (id, token_hash, identity_id, app_id, created_at, last_seen_at, \
             expires_at, client_addr, user_agent, amr) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                s.id.0,
                &s.token_hash,
                s.identity_id.0,
                s.app_id.as_ref().map(|a| a.as_str()),
                ms(s.created_at),
                ms(s.last_seen_at),
                ms(s.expires_at),
                &s.client_addr,
                &s.user_agent,
                join_words(&s.amr)
            ],
        )?;
        Ok(())
    }

    async fn find_session(&mut self, token_hash: &[u8]) -> StoreResult<Option<Session>> {
        self.one(
            "SELECT id, token_hash, identity_id, app_id, created_at, last_seen_at, expires_at, \
             client_addr, user_agent, amr FROM sessions WHERE token_hash = ?1",
            rusqlite::params![token_hash],
            session_row,
        )
    }

    async fn find_session_identity(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(Session, Identity)>> {
        self.one(
            "SELECT s.id, s.token_hash, s.identity_id, s.app_id, s.created_at, s.last_seen_at, \
             s.expires_at, s.client_addr, s.user_agent, s.amr, i.id, i.email, i.first_name, \
             i.last_name, i.password_hash, i.security_question, i.security_answer_hash, \
             i.terms_version, i.terms_accepted_at, i.created_at, i.failed_count, i.window_start, \
             i.lock_level, i.locked_until, i.in_flight, i.in_flight_at \
             FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = ?1",
            rusqlite::params![token_hash],
            |r| Ok((session_row(r)?, identity_at(r, 10)?)),
        )
    }

    async fn touch_session(&mut self, id: SessionId, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
            rusqlite::params![id.0, ms(at)],
        )?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &[u8]) -> StoreResult<()> {
        self.exec(
            "DELETE FROM sessions WHERE token_hash = ?1",
            rusqlite::params![token_hash],
        )?;
        Ok(())
    }

    async fn delete_sessions_in_app(
        &mut self,
        identity: IdentityId,
        app_id: &AppId,
    ) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM sessions WHERE identity_id = ?1 AND app_id = ?2",
            rusqlite::params![identity.0, app_id.as_str()],
        )?;
        Ok(n as u64)
    }

    async fn list_sessions(&mut self, identity: IdentityId) -> StoreResult<Vec<Session>> {
        self.all(
            "SELECT id, token_hash, identity_id, app_id, created_at, last_seen_at, expires_at, \
             client_addr, user_agent, amr FROM sessions WHERE identity_id = ?1 \
             ORDER BY last_seen_at DESC, id",
            rusqlite::params![identity.0],
            session_row,
        )
    }

    async fn delete_session_of(
        &mut self,
        identity: IdentityId,
        id: SessionId,
    ) -> StoreResult<bool> {
        Ok(self.exec(
            "DELETE FROM sessions WHERE identity_id = ?1 AND id = ?2",
            rusqlite::params![identity.0, id.0],
        )? == 1)
    }

    async fn delete_sessions_except(
        &mut self,
        identity: IdentityId,
        keep: SessionId,
    ) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM sessions WHERE identity_id = ?1 AND id <> ?2",
            rusqlite::params![identity.0, keep.0],
        )?;
        Ok(n as u64)
    }

    async fn set_last_login(&mut self, member: MemberId, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE members SET last_login_at = ?2 WHERE id = ?1",
            rusqlite::params![member.0, ms(at)],
        )?;
        Ok(())
    }
}

pub(crate) fn session_row(r: &Row<'_>) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId(uuid(r, 0)?),
        token_hash: get(r, 1)?,
        identity_id: IdentityId(uuid(r, 2)?),
        app_id: opt_app_id(r, 3)?,
        created_at: time(r, 4)?,
        last_seen_at: time(r, 5)?,
        expires_at: time(r, 6)?,
        client_addr: get(r, 7)?,
        user_agent: get(r, 8)?,
        amr: split_words(&get::<String>(r, 9)?),
    })
}
