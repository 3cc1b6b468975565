//! Second factors, login challenges, trusted browsers, the per-app requirement. SQL,
//! PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{SecondFactorQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;

#[async_trait]
impl<C> SecondFactorQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn second_factor_status(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<SecondFactorStatus> {
        let r = sqlx::query(
            "SELECT \
               EXISTS (SELECT 1 FROM totp_factors WHERE identity_id = $1 AND confirmed_at IS NOT NULL) AS totp, \
               COALESCE((SELECT email_second_factor FROM identities WHERE id = $1), FALSE) AS email, \
               (SELECT COUNT(*) FROM backup_codes WHERE identity_id = $1 AND used_at IS NULL) AS left, \
               (SELECT COUNT(*) FROM passkeys WHERE identity_id = $1) AS passkeys",
        )
        .bind(identity.0)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(SecondFactorStatus {
            totp: get(&r, "totp")?,
            email: get(&r, "email")?,
            backup_codes_left: get(&r, "left")?,
            passkeys: get(&r, "passkeys")?,
        })
    }

    async fn lock_totp(&mut self, identity: IdentityId) -> StoreResult<Option<TotpFactor>> {
        sqlx::query(
            "SELECT identity_id, secret_enc, created_at, confirmed_at, last_step \
             FROM totp_factors WHERE identity_id = $1 FOR UPDATE",
        )
        .bind(identity.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| {
            Ok(TotpFactor {
                identity_id: IdentityId(get(&r, "identity_id")?),
                secret_enc: get(&r, "secret_enc")?,
                created_at: time(&r, "created_at")?,
                confirmed_at: opt_time(&r, "confirmed_at")?,
                last_step: get(&r, "last_step")?,
            })
        })
        .transpose()
    }

    async fn put_totp(&mut self, f: &TotpFactor) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO totp_factors (identity_id, secret_enc, created_at, confirmed_at, last_step) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (identity_id) DO UPDATE SET \
             secret_enc = EXCLUDED.secret_enc, created_at = EXCLUDED.created_at, \
             confirmed_at = EXCLUDED.confirmed_at, last_step = EXCLUDED.last_step",
        )
        .bind(f.identity_id.0)
        .bind(&f.secret_enc)
        .bind(f.created_at)
        .bind(f.confirmed_at)
        .bind(f.last_step)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn set_email_second_factor(&mut self, identity: IdentityId, on: bool) -> StoreResult<()> {
        sqlx::query("UPDATE identities SET email_second_factor = $2 WHERE id = $1")
            .bind(identity.0)
            .bind(on)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn replace_backup_codes(
        &mut self,
        identity: IdentityId,
        hashes: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM backup_codes WHERE identity_id = $1")
            .bind(identity.0)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        for h in hashes {
            sqlx::query(
                "INSERT INTO backup_codes (identity_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(identity.0)
            .bind(h)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }

    async fn use_backup_code(
        &mut self,
        identity: IdentityId,
        hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE backup_codes SET used_at = $3 \
             WHERE identity_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(identity.0)
        .bind(hash)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn reset_second_factors(&mut self, identity: IdentityId) -> StoreResult<()> {
        for sql in [
            "DELETE FROM totp_factors WHERE identity_id = $1",
            "DELETE FROM backup_codes WHERE identity_id = $1",
            "DELETE FROM trusted_devices WHERE identity_id = $1",
            "DELETE FROM passkeys WHERE identity_id = $1",
            "UPDATE identities SET email_second_factor = FALSE WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(identity.0)
                .execute(self.c())
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn insert_challenge(&mut self, c: &LoginChallenge) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_challenges (token_hash, identity_id, app_id, created_at, expires_at, \
             email_code_hash, email_code_until, email_code_tries, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.token_hash)
        .bind(c.identity_id.0)
        .bind(c.app_id.as_ref().map(|a| a.as_str()))
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(&c.email_code_hash)
        .bind(c.email_code_until)
        .bind(c.email_code_tries)
        .bind(c.used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn lock_challenge(&mut self, token_hash: &[u8]) -> StoreResult<Option<LoginChallenge>> {
        sqlx::query(
            "SELECT token_hash, identity_id, app_id, created_at, expires_at, email_code_hash, \
             email_code_until, email_code_tries, used_at FROM login_challenges \
             WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| challenge_row(&r))
        .transpose()
    }

    async fn update_challenge(&mut self, c: &LoginChallenge) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_challenges SET email_code_hash = $2, email_code_until = $3, \
             email_code_tries = $4, used_at = $5 WHERE token_hash = $1",
        )
        .bind(&c.token_hash)
        .bind(&c.email_code_hash)
        .bind(c.email_code_until)
        .bind(c.email_code_tries)
        .bind(c.used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_trusted_device(
        &mut self,
        token_hash: &[u8],
        identity: IdentityId,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO trusted_devices (token_hash, identity_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(identity.0)
        .bind(at)
        .bind(until)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn trusted_device(
        &mut self,
        token_hash: &[u8],
        identity: IdentityId,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let r: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM trusted_devices WHERE token_hash = $1 AND identity_id = $2 \
             AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(identity.0)
        .bind(now)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.is_some())
    }

    async fn delete_trusted_devices(&mut self, identity: IdentityId) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM trusted_devices WHERE identity_id = $1")
            .bind(identity.0)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected())
    }

    async fn set_app_requires_second_factor(&mut self, app: &AppId, on: bool) -> StoreResult<()> {
        sqlx::query("UPDATE apps SET require_second_factor = $2 WHERE app_id = $1")
            .bind(app.as_str())
            .bind(on)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn app_requires_second_factor(&mut self, app: &AppId) -> StoreResult<bool> {
        let r: Option<bool> =
            sqlx::query_scalar("SELECT require_second_factor FROM apps WHERE app_id = $1")
                .bind(app.as_str())
                .fetch_optional(self.c())
                .await
                .map_err(map_err)?;
        Ok(r.unwrap_or(false))
    }
}

fn challenge_row(r: &PgRow) -> Result<LoginChallenge, StoreError> {
    Ok(LoginChallenge {
        token_hash: get(r, "token_hash")?,
        identity_id: IdentityId(get(r, "identity_id")?),
        app_id: opt_app_id(r, "app_id")?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
        email_code_hash: get(r, "email_code_hash")?,
        email_code_until: opt_time(r, "email_code_until")?,
        email_code_tries: get(r, "email_code_tries")?,
        used_at: opt_time(r, "used_at")?,
    })
}
