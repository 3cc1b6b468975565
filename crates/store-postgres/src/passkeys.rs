//! Passkeys and WebAuthn ceremonies. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{PasskeyQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl<C> PasskeyQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_passkey(&mut self, p: &StoredPasskey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO passkeys (cred_id, identity_id, name, credential, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.cred_id)
        .bind(p.identity_id.0)
        .bind(&p.name)
        .bind(&p.credential)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_passkeys(&mut self, identity: IdentityId) -> StoreResult<Vec<StoredPasskey>> {
        let rows = sqlx::query(
            "SELECT cred_id, identity_id, name, credential, created_at, last_used_at \
             FROM passkeys WHERE identity_id = $1 ORDER BY created_at",
        )
        .bind(identity.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(StoredPasskey {
                    cred_id: get(r, "cred_id")?,
                    identity_id: IdentityId(get(r, "identity_id")?),
                    name: get(r, "name")?,
                    credential: get(r, "credential")?,
                    created_at: time(r, "created_at")?,
                    last_used_at: opt_time(r, "last_used_at")?,
                })
            })
            .collect()
    }

    async fn update_passkey(
        &mut self,
        cred_id: &[u8],
        credential: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE cred_id = $1")
            .bind(cred_id)
            .bind(credential)
            .bind(used_at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_passkey(&mut self, identity: IdentityId, cred_id: &[u8]) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM passkeys WHERE identity_id = $1 AND cred_id = $2")
            .bind(identity.0)
            .bind(cred_id)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn insert_ceremony(&mut self, c: &Ceremony) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (token_hash, identity_id, purpose, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.token_hash)
        .bind(c.identity_id.map(|i| i.0))
        .bind(&c.purpose)
        .bind(&c.state)
        .bind(c.expires_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn prune_expired_ceremonies(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let a = sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
            .bind(before)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        let b = sqlx::query("DELETE FROM login_challenges WHERE expires_at < $1")
            .bind(before)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(a.rows_affected() + b.rows_affected())
    }

    async fn take_ceremony(&mut self, token_hash: &[u8]) -> StoreResult<Option<Ceremony>> {
        sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE token_hash = $1 \
             RETURNING token_hash, identity_id, purpose, state, expires_at",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| {
            Ok(Ceremony {
                token_hash: get(&r, "token_hash")?,
                identity_id: get::<Option<Uuid>>(&r, "identity_id")?.map(IdentityId),
                purpose: get(&r, "purpose")?,
                state: get(&r, "state")?,
                expires_at: time(&r, "expires_at")?,
            })
        })
        .transpose()
    }
}
