//! Single-use mailbox tokens of an ID. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{IdentityTokenQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;

macro_rules! cols {
    () => {
        "id, identity_id, purpose, token_hash, code_hash, new_email, created_at, expires_at, \
         used_at, tries"
    };
}

#[async_trait]
impl<C> IdentityTokenQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_identity_token(&mut self, t: &IdentityToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO identity_tokens (id, identity_id, purpose, token_hash, code_hash, \
             new_email, created_at, expires_at, used_at, tries) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(t.id)
        .bind(t.identity_id.0)
        .bind(t.purpose.as_str())
        .bind(&t.token_hash)
        .bind(&t.code_hash)
        .bind(t.new_email.as_ref().map(|e| e.as_str()))
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.used_at)
        .bind(t.tries)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn lock_identity_token(
        &mut self,
        token_hash: &[u8],
    ) -> StoreResult<Option<IdentityToken>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM identity_tokens WHERE token_hash = $1 FOR UPDATE"
        ))
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| token_row(&r))
        .transpose()
    }

    async fn lock_latest_identity_token(
        &mut self,
        identity: IdentityId,
        purpose: TokenPurpose,
    ) -> StoreResult<Option<IdentityToken>> {
        sqlx::query(concat!(
            "SELECT ",
            cols!(),
            " FROM identity_tokens WHERE identity_id = $1 AND purpose = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE"
        ))
        .bind(identity.0)
        .bind(purpose.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| token_row(&r))
        .transpose()
    }

    async fn update_identity_token(&mut self, t: &IdentityToken) -> StoreResult<()> {
        sqlx::query(
            "UPDATE identity_tokens SET used_at = $2, tries = $3, code_hash = $4 WHERE id = $1",
        )
        .bind(t.id)
        .bind(t.used_at)
        .bind(t.tries)
        .bind(&t.code_hash)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn void_identity_tokens(
        &mut self,
        identity: IdentityId,
        purpose: TokenPurpose,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE identity_tokens SET used_at = $3 \
             WHERE identity_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .bind(identity.0)
        .bind(purpose.as_str())
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
    }
}

fn token_row(r: &PgRow) -> Result<IdentityToken, StoreError> {
    let purpose: String = get(r, "purpose")?;
    let new_email: Option<String> = get(r, "new_email")?;
    Ok(IdentityToken {
        id: get(r, "id")?,
        identity_id: IdentityId(get(r, "identity_id")?),
        purpose: TokenPurpose::parse(&purpose).ok_or_else(|| bad("purpose", &purpose))?,
        token_hash: get(r, "token_hash")?,
        code_hash: get(r, "code_hash")?,
        new_email: new_email
            .map(|e| Email::parse(&e).map_err(|_| bad("new_email", &e)))
            .transpose()?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
        used_at: opt_time(r, "used_at")?,
        tries: get(r, "tries")?,
    })
}
