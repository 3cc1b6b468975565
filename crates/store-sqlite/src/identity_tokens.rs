//! Single-use mailbox tokens of an ID. SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{IdentityTokenQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

const COLS: &str = "id, identity_id, purpose, token_hash, code_hash, new_email, created_at, \
                    expires_at, used_at, tries";

#[async_trait]
impl<C: HasConn> IdentityTokenQueries for Handle<C> {
    async fn insert_identity_token(&mut self, t: &IdentityToken) -> StoreResult<()> {
        self.exec(
            "INSERT INTO identity_tokens (id, identity_id, purpose, token_hash, code_hash, \
             new_email, created_at, expires_at, used_at, tries) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                t.id,
                t.identity_id.0,
                t.purpose.as_str(),
                &t.token_hash,
                &t.code_hash,
                t.new_email.as_ref().map(|e| e.as_str()),
                ms(t.created_at),
                ms(t.expires_at),
                t.used_at.map(ms),
                t.tries
            ],
        )?;
        Ok(())
    }

    async fn lock_identity_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<IdentityToken>> {
        self.one(
            &format!("SELECT {COLS} FROM identity_tokens WHERE token_hash = ?1"),
            rusqlite::params![token_hash],
            token_row,
        )
    }

    async fn lock_latest_identity_token(
        &mut self,
        identity: IdentityId,
        purpose: TokenPurpose,
    ) -> StoreResult<Option<IdentityToken>> {
        self.one(
            &format!(
                "SELECT {COLS} FROM identity_tokens WHERE identity_id = ?1 AND purpose = ?2 \
                 ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            rusqlite::params![identity.0, purpose.as_str()],
            token_row,
        )
    }

    async fn update_identity_token(&mut self, t: &IdentityToken) -> StoreResult<()> {
        self.exec(
            "UPDATE identity_tokens SET used_at = ?2, tries = ?3, code_hash = ?4 WHERE id = ?1",
            rusqlite::params![t.id, t.used_at.map(ms), t.tries, &t.code_hash],
        )?;
        Ok(())
    }

    async fn void_identity_tokens(
        &mut self,
        identity: IdentityId,
        purpose: TokenPurpose,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let n = self.exec(
            "UPDATE identity_tokens SET used_at = ?3 \
             WHERE identity_id = ?1 AND purpose = ?2 AND used_at IS NULL",
            rusqlite::params![identity.0, purpose.as_str(), ms(at)],
        )?;
        Ok(n as u64)
    }
}

fn token_row(r: &Row<'_>) -> Result<IdentityToken, StoreError> {
    let purpose: String = get(r, 2)?;
    let new_email: Option<String> = get(r, 5)?;
    Ok(IdentityToken {
        id: uuid(r, 0)?,
        identity_id: IdentityId(uuid(r, 1)?),
        purpose: TokenPurpose::parse(&purpose).ok_or_else(|| bad("purpose", &purpose))?,
        token_hash: get(r, 3)?,
        code_hash: get(r, 4)?,
        new_email: new_email
            .map(|e| Email::parse(&e).map_err(|_| bad("new_email", &e)))
            .transpose()?,
        created_at: time(r, 6)?,
        expires_at: time(r, 7)?,
        used_at: opt_time(r, 8)?,
        tries: get(r, 9)?,
    })
}
