//! The OpenID Connect provider's records: clients, signing keys, grants, codes, refresh tokens,
//! consents and back-channel logouts. SQL and row mapping, PostgreSQL.
//!
//! Lists of URIs are stored as JSON arrays of strings; scopes and amr values joined by single
//! spaces.

use crate::Handle;
use crate::oidc_rows::*;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{OidcQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! client_columns {
    () => {
        "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, first_party, \
         back_channel_logout_uri, id_token_alg, created_at"
    };
}

macro_rules! grant_columns {
    () => {
        "id, client_id, identity_id, app_id, member_id, scopes, nonce, auth_time, amr, \
         created_at, revoked_at, last_used_at"
    };
}

macro_rules! code_columns {
    () => {
        "code_hash, grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at"
    };
}

macro_rules! refresh_columns {
    () => {
        "token_hash, grant_id, created_at, expires_at, used_at"
    };
}

macro_rules! logout_columns {
    () => {
        "id, client_id, uri, sub, sid, created_at, attempts, next_attempt_at, delivered_at, \
         last_error"
    };
}

/// `prune_oidc`'s statements, in order (codes and tokens before the grants they belong to).
const PRUNE: [&str; 5] = [
    "DELETE FROM oauth_codes WHERE expires_at < $1 \
     OR grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at < $1)",
    "DELETE FROM oauth_refresh_tokens WHERE expires_at < $1 \
     OR grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at < $1)",
    // a sign-in without offline_access is over once its access tokens are (minutes)
    "DELETE FROM oauth_grants WHERE revoked_at IS NULL AND created_at < $1 \
     AND scopes NOT LIKE '%offline_access%' \
     AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id) \
     AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens t WHERE t.grant_id = oauth_grants.id)",
    "DELETE FROM oauth_grants WHERE revoked_at < $1",
    "DELETE FROM oidc_backchannel_logouts WHERE delivered_at < $1",
];

#[async_trait]
impl<C> OidcQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_oidc_client(&mut self, c: &OidcClient) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO oidc_clients (",
            client_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(uris_json(&c.redirect_uris)?)
        .bind(uris_json(&c.post_logout_redirect_uris)?)
        .bind(c.first_party)
        .bind(&c.back_channel_logout_uri)
        .bind(c.id_token_alg.as_str())
        .bind(c.created_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_oidc_client(&mut self, client_id: &str) -> StoreResult<Option<OidcClient>> {
        sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM oidc_clients WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(client_row)
        .transpose()
    }

    async fn list_oidc_clients(&mut self) -> StoreResult<Vec<OidcClient>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM oidc_clients ORDER BY created_at, client_id"
        ))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(client_row).collect()
    }

    async fn insert_signing_key(&mut self, k: &SigningKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_signing_keys (kid, alg, private_sealed, public_jwk, created_at, \
             activates_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.kid)
        .bind(k.alg.as_str())
        .bind(&k.private_sealed)
        .bind(&k.public_jwk)
        .bind(k.created_at)
        .bind(k.activates_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_signing_keys(&mut self) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_sealed, public_jwk, created_at, activates_at \
             FROM oidc_signing_keys ORDER BY activates_at DESC, created_at DESC, kid",
        )
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(key_row).collect()
    }

    async fn prune_oidc(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut n = 0;
        for sql in PRUNE {
            n += sqlx::query(sql)
                .bind(before)
                .execute(self.c())
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(n)
    }

    async fn delete_signing_key(&mut self, kid: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM oidc_signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_grant(&mut self, g: &OauthGrant) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO oauth_grants (",
            grant_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(g.id)
        .bind(&g.client_id)
        .bind(g.identity_id.0)
        .bind(g.app_id.as_str())
        .bind(g.member_id.0)
        .bind(join_words(&g.scopes))
        .bind(&g.nonce)
        .bind(g.auth_time)
        .bind(join_words(&g.amr))
        .bind(g.created_at)
        .bind(g.revoked_at)
        .bind(g.last_used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn get_grant(&mut self, id: Uuid) -> StoreResult<Option<OauthGrant>> {
        sqlx::query(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM oauth_grants WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(grant_row)
        .transpose()
    }

    async fn revoke_grant(&mut self, id: Uuid, at: OffsetDateTime) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn touch_grant(&mut self, id: Uuid, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE oauth_grants SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn revoke_member_grants(
        &mut self,
        app: &AppId,
        member: MemberId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>> {
        let rows = sqlx::query(concat!(
            "UPDATE oauth_grants SET revoked_at = $3 \
             WHERE app_id = $1 AND member_id = $2 AND revoked_at IS NULL RETURNING ",
            grant_columns!()
        ))
        .bind(app.as_str())
        .bind(member.0)
        .bind(at)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        sorted(&rows)
    }

    async fn revoke_identity_grants(
        &mut self,
        identity: IdentityId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>> {
        let rows = sqlx::query(concat!(
            "UPDATE oauth_grants SET revoked_at = $2 \
             WHERE identity_id = $1 AND revoked_at IS NULL RETURNING ",
            grant_columns!()
        ))
        .bind(identity.0)
        .bind(at)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        sorted(&rows)
    }

    async fn revoke_client_grants(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>> {
        let rows = sqlx::query(concat!(
            "UPDATE oauth_grants SET revoked_at = $4 WHERE identity_id = $1 \
             AND client_id = $2 AND app_id = $3 AND revoked_at IS NULL RETURNING ",
            grant_columns!()
        ))
        .bind(identity.0)
        .bind(client_id)
        .bind(app.as_str())
        .bind(at)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        sorted(&rows)
    }

    async fn insert_auth_code(&mut self, c: &AuthCode) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO oauth_codes (",
            code_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&c.code_hash)
        .bind(c.grant_id)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(c.expires_at)
        .bind(c.used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn use_auth_code(
        &mut self,
        code_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<AuthCode>> {
        // the row lock makes a concurrent use wait, then see this one's used_at
        let before = sqlx::query(concat!(
            "SELECT ",
            code_columns!(),
            " FROM oauth_codes WHERE code_hash = $1 FOR UPDATE"
        ))
        .bind(code_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(code_row)
        .transpose()?;
        if matches!(&before, Some(c) if c.used_at.is_none()) {
            sqlx::query(
                "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
            )
            .bind(code_hash)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        }
        Ok(before)
    }

    async fn insert_refresh_token(&mut self, t: &RefreshToken) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO oauth_refresh_tokens (",
            refresh_columns!(),
            ") VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&t.token_hash)
        .bind(t.grant_id)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn use_refresh_token(
        &mut self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<RefreshToken>> {
        // the row lock makes a concurrent use wait, then see this one's used_at
        let before = sqlx::query(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM oauth_refresh_tokens WHERE token_hash = $1 FOR UPDATE"
        ))
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(refresh_row)
        .transpose()?;
        if matches!(&before, Some(t) if t.used_at.is_none()) {
            sqlx::query(
                "UPDATE oauth_refresh_tokens SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(token_hash)
            .bind(at)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        }
        Ok(before)
    }

    async fn find_refresh_token(&mut self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
        sqlx::query(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM oauth_refresh_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(refresh_row)
        .transpose()
    }

    async fn upsert_consent(&mut self, c: &OidcConsent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_consents (identity_id, client_id, app_id, scopes, created_at, \
             last_used_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (identity_id, client_id, app_id) DO UPDATE SET \
             scopes = EXCLUDED.scopes, last_used_at = EXCLUDED.last_used_at",
        )
        .bind(c.identity_id.0)
        .bind(&c.client_id)
        .bind(c.app_id.as_str())
        .bind(join_words(&c.scopes))
        .bind(c.created_at)
        .bind(c.last_used_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_consent(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
    ) -> StoreResult<Option<OidcConsent>> {
        sqlx::query(
            "SELECT identity_id, client_id, app_id, scopes, created_at, last_used_at \
             FROM oidc_consents WHERE identity_id = $1 AND client_id = $2 AND app_id = $3",
        )
        .bind(identity.0)
        .bind(client_id)
        .bind(app.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(consent_row)
        .transpose()
    }

    async fn delete_consent(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "DELETE FROM oidc_consents WHERE identity_id = $1 AND client_id = $2 AND app_id = $3",
        )
        .bind(identity.0)
        .bind(client_id)
        .bind(app.as_str())
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn list_connected_apps(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<Vec<ConnectedApp>> {
        let rows = sqlx::query(
            // last used: the consent's last authorization, or the last tokens issued from one
            // of its live sign-ins (a refresh), whichever is later
            "SELECT c.identity_id, c.client_id, c.app_id, c.scopes, c.created_at, \
             GREATEST(c.last_used_at, (SELECT MAX(g.last_used_at) FROM oauth_grants g \
             WHERE g.identity_id = c.identity_id AND g.revoked_at IS NULL \
             AND g.client_id = c.client_id AND g.app_id = c.app_id)) AS last_used_at, \
             cl.name AS client_name, a.name AS app_name FROM oidc_consents c \
             JOIN oidc_clients cl ON cl.client_id = c.client_id \
             JOIN apps a ON a.app_id = c.app_id WHERE c.identity_id = $1 \
             ORDER BY 6 DESC, c.client_id, c.app_id",
        )
        .bind(identity.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(ConnectedApp {
                    consent: consent_row(r)?,
                    client_name: get(r, "client_name")?,
                    app_name: get(r, "app_name")?,
                })
            })
            .collect()
    }

    async fn insert_backchannel_logout(&mut self, l: &BackchannelLogout) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO oidc_backchannel_logouts (",
            logout_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(l.id)
        .bind(&l.client_id)
        .bind(&l.uri)
        .bind(&l.sub)
        .bind(l.sid)
        .bind(l.created_at)
        .bind(l.attempts)
        .bind(l.next_attempt_at)
        .bind(l.delivered_at)
        .bind(&l.last_error)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn claim_backchannel_logouts(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<BackchannelLogout>> {
        // no two workers get the same row (SKIP LOCKED), nor one whose lease still runs
        let rows = sqlx::query(
            "WITH c AS (SELECT id FROM oidc_backchannel_logouts \
             WHERE delivered_at IS NULL AND next_attempt_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until < $2) \
             ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE oidc_backchannel_logouts l SET claimed_by = $1, claimed_until = $3 \
             FROM c WHERE l.id = c.id RETURNING l.id, l.client_id, l.uri, l.sub, l.sid, \
             l.created_at, l.attempts, l.next_attempt_at, l.delivered_at, l.last_error",
        )
        .bind(owner)
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        let mut claimed = rows
            .iter()
            .map(logout_row)
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|l| (l.next_attempt_at, l.id));
        Ok(claimed)
    }

    async fn record_backchannel_attempt(
        &mut self,
        id: Uuid,
        at: OffsetDateTime,
        error: Option<&str>,
        next_attempt_at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE oidc_backchannel_logouts SET attempts = attempts + 1, \
             delivered_at = CASE WHEN $3::text IS NULL THEN $2 ELSE delivered_at END, \
             last_error = $3, \
             next_attempt_at = CASE WHEN $3::text IS NULL THEN next_attempt_at ELSE $4 END, \
             claimed_by = NULL, claimed_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(at)
        .bind(error)
        .bind(next_attempt_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_backchannel_logouts(
        &mut self,
        client_id: &str,
    ) -> StoreResult<Vec<BackchannelLogout>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            logout_columns!(),
            " FROM oidc_backchannel_logouts WHERE client_id = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(client_id)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(logout_row).collect()
    }
}
