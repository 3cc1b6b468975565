//! Second factors, login challenges, trusted browsers, the per-app requirement. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{SecondFactorQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> SecondFactorQueries for Handle<C> {
    async fn second_factor_status(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<SecondFactorStatus> {
        let row = self.one(
            "SELECT \
               EXISTS (SELECT 1 FROM totp_factors WHERE identity_id = ?1 AND confirmed_at IS NOT NULL), \
               COALESCE((SELECT email_second_factor FROM identities WHERE id = ?1), 0), \
               (SELECT COUNT(*) FROM backup_codes WHERE identity_id = ?1 AND used_at IS NULL), \
               (SELECT COUNT(*) FROM passkeys WHERE identity_id = ?1)",
            rusqlite::params![identity.0],
            |r| {
                Ok(SecondFactorStatus {
                    totp: get::<i64>(r, 0)? != 0,
                    email: get::<i64>(r, 1)? != 0,
                    backup_codes_left: get(r, 2)?,
                    passkeys: get(r, 3)?,
                })
            },
        )?;
        Ok(row.unwrap_or_default())
    }

    async fn lock_totp(&mut self, identity: IdentityId) -> StoreResult<Option<TotpFactor>> {
        self.one(
            "SELECT identity_id, secret_enc, created_at, confirmed_at, last_step \
             FROM totp_factors WHERE identity_id = ?1",
            rusqlite::params![identity.0],
            |r| {
                Ok(TotpFactor {
                    identity_id: IdentityId(uuid(r, 0)?),
                    secret_enc: get(r, 1)?,
                    created_at: time(r, 2)?,
                    confirmed_at: opt_time(r, 3)?,
                    last_step: get(r, 4)?,
                })
            },
        )
    }

    async fn put_totp(&mut self, f: &TotpFactor) -> StoreResult<()> {
        self.exec(
            "INSERT INTO totp_factors (identity_id, secret_enc, created_at, confirmed_at, last_step) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (identity_id) DO UPDATE SET \
             secret_enc = excluded.secret_enc, created_at = excluded.created_at, \
             confirmed_at = excluded.confirmed_at, last_step = excluded.last_step",
            rusqlite::params![
                f.identity_id.0,
                &f.secret_enc,
                ms(f.created_at),
                f.confirmed_at.map(ms),
                f.last_step
            ],
        )?;
        Ok(())
    }

    async fn set_email_second_factor(&mut self, identity: IdentityId, on: bool) -> StoreResult<()> {
        self.exec(
            "UPDATE identities SET email_second_factor = ?2 WHERE id = ?1",
            rusqlite::params![identity.0, i64::from(on)],
        )?;
        Ok(())
    }

    async fn replace_backup_codes(
        &mut self,
        identity: IdentityId,
        hashes: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "DELETE FROM backup_codes WHERE identity_id = ?1",
            rusqlite::params![identity.0],
        )?;
        for h in hashes {
            self.exec(
                "INSERT INTO backup_codes (identity_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![identity.0, h, ms(at)],
            )?;
        }
        Ok(())
    }

    async fn use_backup_code(
        &mut self,
        identity: IdentityId,
        hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE backup_codes SET used_at = ?3 \
             WHERE identity_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
            rusqlite::params![identity.0, hash, ms(at)],
        )?;
        Ok(n == 1)
    }

    async fn reset_second_factors(&mut self, identity: IdentityId) -> StoreResult<()> {
        for sql in [
            "DELETE FROM totp_factors WHERE identity_id = ?1",
            "DELETE FROM backup_codes WHERE identity_id = ?1",
            "DELETE FROM trusted_devices WHERE identity_id = ?1",
            "DELETE FROM passkeys WHERE identity_id = ?1",
            "UPDATE identities SET email_second_factor = 0 WHERE id = ?1",
        ] {
            self.exec(sql, rusqlite::params![identity.0])?;
        }
        Ok(())
    }

    async fn insert_challenge(&mut self, c: &LoginChallenge) -> StoreResult<()> {
        self.exec(
            "INSERT INTO login_challenges (token_hash, identity_id, app_id, created_at, expires_at, \
             email_code_hash, email_code_until, email_code_tries, used_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                &c.token_hash,
                c.identity_id.0,
                c.app_id.as_ref().map(|a| a.as_str()),
                ms(c.created_at),
                ms(c.expires_at),
                &c.email_code_hash,
                c.email_code_until.map(ms),
                c.email_code_tries,
                c.used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn lock_challenge(&mut self, token_hash: &[u8]) -> StoreResult<Option<LoginChallenge>> {
        self.one(
            "SELECT token_hash, identity_id, app_id, created_at, expires_at, email_code_hash, \
             email_code_until, email_code_tries, used_at FROM login_challenges WHERE token_hash = ?1",
            rusqlite::params![token_hash],
            challenge_row,
        )
    }

    async fn update_challenge(&mut self, c: &LoginChallenge) -> StoreResult<()> {
        self.exec(
            "UPDATE login_challenges SET email_code_hash = ?2, email_code_until = ?3, \
             email_code_tries = ?4, used_at = ?5 WHERE token_hash = ?1",
            rusqlite::params![
                &c.token_hash,
                &c.email_code_hash,
                c.email_code_until.map(ms),
                c.email_code_tries,
                c.used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn insert_trusted_device(
        &mut self,
        token_hash: &[u8],
        identity: IdentityId,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO trusted_devices (token_hash, identity_id, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![token_hash, identity.0, ms(at), ms(until)],
        )?;
        Ok(())
    }

    async fn trusted_device(
        &mut self,
        token_hash: &[u8],
        identity: IdentityId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        Ok(self
            .one(
                "SELECT 1 FROM trusted_devices WHERE token_hash = ?1 AND identity_id = ?2 \
                 AND expires_at > ?3",
                rusqlite::params![token_hash, identity.0, ms(now)],
                |r| get::<i64>(r, 0),
            )?
            .is_some())
    }

    async fn delete_trusted_devices(&mut self, identity: IdentityId) -> StoreResult<u64> {
        let n = self.exec(
            "DELETE FROM trusted_devices WHERE identity_id = ?1",
            rusqlite::params![identity.0],
        )?;
        Ok(n as u64)
    }

    async fn set_app_requires_second_factor(&mut self, app: &AppId, on: bool) -> StoreResult<()> {
        self.exec(
            "UPDATE apps SET require_second_factor = ?2 WHERE app_id = ?1",
            rusqlite::params![app.as_str(), i64::from(on)],
        )?;
        Ok(())
    }

    async fn app_requires_second_factor(&mut self, app: &AppId) -> StoreResult<bool> {
        Ok(self
            .one(
                "SELECT require_second_factor FROM apps WHERE app_id = ?1",
                rusqlite::params![app.as_str()],
                |r| get::<i64>(r, 0),
            )?
            .is_some_and(|v| v != 0))
    }
}

fn challenge_row(r: &Row<'_>) -> Result<LoginChallenge, StoreError> {
    Ok(LoginChallenge {
        token_hash: get(r, 0)?,
        identity_id: IdentityId(uuid(r, 1)?),
        app_id: opt_app_id(r, 2)?,
        created_at: time(r, 3)?,
        expires_at: time(r, 4)?,
        email_code_hash: get(r, 5)?,
        email_code_until: opt_time(r, 6)?,
        email_code_tries: get(r, 7)?,
        used_at: opt_time(r, 8)?,
    })
}
