//! Passkeys and WebAuthn ceremonies. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{PasskeyQueries, StoreResult};
use roster_core::types::*;
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> PasskeyQueries for Handle<C> {
    async fn insert_passkey(&mut self, p: &StoredPasskey) -> StoreResult<()> {
        self.exec(
            "INSERT INTO passkeys (cred_id, identity_id, name, credential, created_at, last_used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                &p.cred_id,
                p.identity_id.0,
                &p.name,
                &p.credential,
                ms(p.created_at),
                p.last_used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn list_passkeys(&mut self, identity: IdentityId) -> StoreResult<Vec<StoredPasskey>> {
        self.all(
            "SELECT cred_id, identity_id, name, credential, created_at, last_used_at \
             FROM passkeys WHERE identity_id = ?1 ORDER BY created_at",
            rusqlite::params![identity.0],
            |r| {
                Ok(StoredPasskey {
                    cred_id: get(r, 0)?,
                    identity_id: IdentityId(uuid(r, 1)?),
                    name: get(r, 2)?,
                    credential: get(r, 3)?,
                    created_at: time(r, 4)?,
                    last_used_at: opt_time(r, 5)?,
                })
            },
        )
    }

    async fn update_passkey(
        &mut self,
        cred_id: &[u8],
        credential: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE passkeys SET credential = ?2, last_used_at = ?3 WHERE cred_id = ?1",
            rusqlite::params![cred_id, credential, ms(used_at)],
        )?;
        Ok(())
    }

    async fn delete_passkey(&mut self, identity: IdentityId, cred_id: &[u8]) -> StoreResult<bool> {
        let n = self.exec(
            "DELETE FROM passkeys WHERE identity_id = ?1 AND cred_id = ?2",
            rusqlite::params![identity.0, cred_id],
        )?;
        Ok(n == 1)
    }

    async fn insert_ceremony(&mut self, c: &Ceremony) -> StoreResult<()> {
        self.exec(
            "INSERT INTO webauthn_ceremonies (token_hash, identity_id, purpose, state, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                &c.token_hash,
                c.identity_id.map(|i| i.0),
                &c.purpose,
                &c.state,
                ms(c.expires_at)
            ],
        )?;
        Ok(())
    }

    async fn prune_expired_ceremonies(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let a = self.exec(
            "DELETE FROM webauthn_ceremonies WHERE expires_at < ?1",
            rusqlite::params![ms(before)],
        )?;
        let b = self.exec(
            "DELETE FROM login_challenges WHERE expires_at < ?1",
            rusqlite::params![ms(before)],
        )?;
        Ok((a + b) as u64)
    }

    async fn take_ceremony(&mut self, token_hash: &[u8]) -> StoreResult<Option<Ceremony>> {
        self.one(
            "DELETE FROM webauthn_ceremonies WHERE token_hash = ?1 \
             RETURNING token_hash, identity_id, purpose, state, expires_at",
            rusqlite::params![token_hash],
            |r| {
                Ok(Ceremony {
                    token_hash: get(r, 0)?,
                    identity_id: opt_uuid(r, 1)?.map(IdentityId),
                    purpose: get(r, 2)?,
                    state: get(r, 3)?,
                    expires_at: time(r, 4)?,
                })
            },
        )
    }
}
