//! The OpenID Connect provider's records: clients, signing keys, grants, codes, refresh tokens,
//! consents and back-channel logouts. SQL and row mapping, SQLite.
//!
//! Lists of URIs are stored as JSON arrays of strings; scopes and amr values joined by single
//! spaces.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{OidcQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

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

/// Scopes, amr values: joined by single spaces.
pub(crate) fn join_words(words: &[String]) -> String {
    words.join(" ")
}

pub(crate) fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn uris_json(uris: &[String]) -> StoreResult<String> {
    serde_json::to_string(uris).map_err(|e| StoreError::Other(format!("cannot encode URIs: {e}")))
}

fn uris(r: &Row<'_>, col: usize) -> StoreResult<Vec<String>> {
    let s: String = get(r, col)?;
    serde_json::from_str(&s).map_err(|_| bad("URI list", &s))
}

fn alg(r: &Row<'_>, col: usize) -> StoreResult<SigningAlg> {
    let s: String = get(r, col)?;
    SigningAlg::parse(&s).ok_or_else(|| bad("signing alg", &s))
}

fn client_row(r: &Row<'_>) -> StoreResult<OidcClient> {
    Ok(OidcClient {
        client_id: get(r, 0)?,
        name: get(r, 1)?,
        secret_hash: get(r, 2)?,
        redirect_uris: uris(r, 3)?,
        post_logout_redirect_uris: uris(r, 4)?,
        first_party: get(r, 5)?,
        back_channel_logout_uri: get(r, 6)?,
        id_token_alg: alg(r, 7)?,
        created_at: time(r, 8)?,
    })
}

fn key_row(r: &Row<'_>) -> StoreResult<SigningKey> {
    Ok(SigningKey {
        kid: get(r, 0)?,
        alg: alg(r, 1)?,
        private_sealed: get(r, 2)?,
        public_jwk: get(r, 3)?,
        created_at: time(r, 4)?,
        activates_at: time(r, 5)?,
    })
}

fn grant_row(r: &Row<'_>) -> StoreResult<OauthGrant> {
    Ok(OauthGrant {
        id: uuid(r, 0)?,
        client_id: get(r, 1)?,
        identity_id: IdentityId(uuid(r, 2)?),
        app_id: app_id(r, 3)?,
        member_id: MemberId(uuid(r, 4)?),
        scopes: split_words(&get::<String>(r, 5)?),
        nonce: get(r, 6)?,
        auth_time: time(r, 7)?,
        amr: split_words(&get::<String>(r, 8)?),
        created_at: time(r, 9)?,
        revoked_at: opt_time(r, 10)?,
        last_used_at: opt_time(r, 11)?,
    })
}

fn code_row(r: &Row<'_>) -> StoreResult<AuthCode> {
    Ok(AuthCode {
        code_hash: get(r, 0)?,
        grant_id: uuid(r, 1)?,
        client_id: get(r, 2)?,
        redirect_uri: get(r, 3)?,
        code_challenge: get(r, 4)?,
        expires_at: time(r, 5)?,
        used_at: opt_time(r, 6)?,
    })
}

fn refresh_row(r: &Row<'_>) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: get(r, 0)?,
        grant_id: uuid(r, 1)?,
        created_at: time(r, 2)?,
        expires_at: time(r, 3)?,
        used_at: opt_time(r, 4)?,
    })
}

fn consent_row(r: &Row<'_>) -> StoreResult<OidcConsent> {
    Ok(OidcConsent {
        identity_id: IdentityId(uuid(r, 0)?),
        client_id: get(r, 1)?,
        app_id: app_id(r, 2)?,
        scopes: split_words(&get::<String>(r, 3)?),
        created_at: time(r, 4)?,
        last_used_at: time(r, 5)?,
    })
}

fn logout_row(r: &Row<'_>) -> StoreResult<BackchannelLogout> {
    Ok(BackchannelLogout {
        id: uuid(r, 0)?,
        client_id: get(r, 1)?,
        uri: get(r, 2)?,
        sub: get(r, 3)?,
        sid: uuid(r, 4)?,
        created_at: time(r, 5)?,
        attempts: get(r, 6)?,
        next_attempt_at: time(r, 7)?,
        delivered_at: opt_time(r, 8)?,
        last_error: get(r, 9)?,
    })
}

/// Grants just revoked, in a stable order (RETURNING gives none).
fn sorted(mut grants: Vec<OauthGrant>) -> Vec<OauthGrant> {
    grants.sort_by_key(|g| (g.created_at, g.id));
    grants
}

/// `prune_oidc`'s statements, in order (codes and tokens before the grants they belong to).
const PRUNE: [&str; 5] = [
    "DELETE FROM oauth_codes WHERE expires_at < ?1 \
     OR grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at < ?1)",
    "DELETE FROM oauth_refresh_tokens WHERE expires_at < ?1 \
     OR grant_id IN (SELECT id FROM oauth_grants WHERE revoked_at < ?1)",
    // a sign-in without offline_access is over once its access tokens are (minutes)
    "DELETE FROM oauth_grants WHERE revoked_at IS NULL AND created_at < ?1 \
     AND scopes NOT LIKE '%offline_access%' \
     AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id) \
     AND NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens t WHERE t.grant_id = oauth_grants.id)",
    "DELETE FROM oauth_grants WHERE revoked_at < ?1",
    "DELETE FROM oidc_backchannel_logouts WHERE delivered_at < ?1",
];

#[async_trait]
impl<C: HasConn> OidcQueries for Handle<C> {
    async fn insert_oidc_client(&mut self, c: &OidcClient) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO oidc_clients (",
                client_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ),
            rusqlite::params![
                &c.client_id,
                &c.name,
                &c.secret_hash,
                uris_json(&c.redirect_uris)?,
                uris_json(&c.post_logout_redirect_uris)?,
                c.first_party,
                &c.back_channel_logout_uri,
                c.id_token_alg.as_str(),
                ms(c.created_at)
            ],
        )?;
        Ok(())
    }

    async fn get_oidc_client(&mut self, client_id: &str) -> StoreResult<Option<OidcClient>> {
        self.one(
            concat!(
                "SELECT ",
                client_columns!(),
                " FROM oidc_clients WHERE client_id = ?1"
            ),
            rusqlite::params![client_id],
            client_row,
        )
    }

    async fn list_oidc_clients(&mut self) -> StoreResult<Vec<OidcClient>> {
        self.all(
            concat!(
                "SELECT ",
                client_columns!(),
                " FROM oidc_clients ORDER BY created_at, client_id"
            ),
            [],
            client_row,
        )
    }

    async fn insert_signing_key(&mut self, k: &SigningKey) -> StoreResult<()> {
        self.exec(
            "INSERT INTO oidc_signing_keys (kid, alg, private_sealed, public_jwk, created_at, \
             activates_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                &k.kid,
                k.alg.as_str(),
                &k.private_sealed,
                &k.public_jwk,
                ms(k.created_at),
                ms(k.activates_at)
            ],
        )?;
        Ok(())
    }

    async fn list_signing_keys(&mut self) -> StoreResult<Vec<SigningKey>> {
        self.all(
            "SELECT kid, alg, private_sealed, public_jwk, created_at, activates_at \
             FROM oidc_signing_keys ORDER BY activates_at DESC, created_at DESC, kid",
            [],
            key_row,
        )
    }

    async fn prune_oidc(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut n = 0;
        for sql in PRUNE {
            n += self.exec(sql, rusqlite::params![ms(before)])? as u64;
        }
        Ok(n)
    }

    async fn delete_signing_key(&mut self, kid: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM oidc_signing_keys WHERE kid = ?1",
            rusqlite::params![kid],
        )?;
        Ok(())
    }

    async fn insert_grant(&mut self, g: &OauthGrant) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO oauth_grants (",
                grant_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            rusqlite::params![
                g.id,
                &g.client_id,
                g.identity_id.0,
                g.app_id.as_str(),
                g.member_id.0,
                join_words(&g.scopes),
                &g.nonce,
                ms(g.auth_time),
                join_words(&g.amr),
                ms(g.created_at),
                g.revoked_at.map(ms),
                g.last_used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn get_grant(&mut self, id: uuid::Uuid) -> StoreResult<Option<OauthGrant>> {
        self.one(
            concat!(
                "SELECT ",
                grant_columns!(),
                " FROM oauth_grants WHERE id = ?1"
            ),
            rusqlite::params![id],
            grant_row,
        )
    }

    async fn revoke_grant(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE oauth_grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            rusqlite::params![id, ms(at)],
        )?;
        Ok(n == 1)
    }

    async fn touch_grant(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE oauth_grants SET last_used_at = ?2 WHERE id = ?1",
            rusqlite::params![id, ms(at)],
        )?;
        Ok(())
    }

    async fn revoke_member_grants(
        &mut self,
        app: &AppId,
        member: MemberId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>> {
        let revoked = self.all(
            concat!(
                "UPDATE oauth_grants SET revoked_at = ?3 \
                 WHERE app_id = ?1 AND member_id = ?2 AND revoked_at IS NULL RETURNING ",
                grant_columns!()
            ),
            rusqlite::params![app.as_str(), member.0, ms(at)],
            grant_row,
        )?;
        Ok(sorted(revoked))
    }

    async fn revoke_identity_grants(
        &mut self,
        identity: IdentityId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>> {
        let revoked = self.all(
            concat!(
                "UPDATE oauth_grants SET revoked_at = ?2 \
                 WHERE identity_id = ?1 AND revoked_at IS NULL RETURNING ",
                grant_columns!()
            ),
            rusqlite::params![identity.0, ms(at)],
            grant_row,
        )?;
        Ok(sorted(revoked))
    }

    async fn revoke_client_grants(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>> {
        let revoked = self.all(
            concat!(
                "UPDATE oauth_grants SET revoked_at = ?4 WHERE identity_id = ?1 \
                 AND client_id = ?2 AND app_id = ?3 AND revoked_at IS NULL RETURNING ",
                grant_columns!()
            ),
            rusqlite::params![identity.0, client_id, app.as_str(), ms(at)],
            grant_row,
        )?;
        Ok(sorted(revoked))
    }

    async fn insert_auth_code(&mut self, c: &AuthCode) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO oauth_codes (",
                code_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ),
            rusqlite::params![
                &c.code_hash,
                c.grant_id,
                &c.client_id,
                &c.redirect_uri,
                &c.code_challenge,
                ms(c.expires_at),
                c.used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn use_auth_code(
        &mut self,
        code_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<AuthCode>> {
        // inside the write transaction (BEGIN IMMEDIATE): nobody else reads in between
        let before = self.one(
            concat!(
                "SELECT ",
                code_columns!(),
                " FROM oauth_codes WHERE code_hash = ?1"
            ),
            rusqlite::params![code_hash],
            code_row,
        )?;
        if matches!(&before, Some(c) if c.used_at.is_none()) {
            self.exec(
                "UPDATE oauth_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL",
                rusqlite::params![code_hash, ms(at)],
            )?;
        }
        Ok(before)
    }

    async fn insert_refresh_token(&mut self, t: &RefreshToken) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO oauth_refresh_tokens (",
                refresh_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5)"
            ),
            rusqlite::params![
                &t.token_hash,
                t.grant_id,
                ms(t.created_at),
                ms(t.expires_at),
                t.used_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn use_refresh_token(
        &mut self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<RefreshToken>> {
        let before = self.find_refresh_token(token_hash).await?;
        if matches!(&before, Some(t) if t.used_at.is_none()) {
            self.exec(
                "UPDATE oauth_refresh_tokens SET used_at = ?2 \
                 WHERE token_hash = ?1 AND used_at IS NULL",
                rusqlite::params![token_hash, ms(at)],
            )?;
        }
        Ok(before)
    }

    async fn find_refresh_token(&mut self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
        self.one(
            concat!(
                "SELECT ",
                refresh_columns!(),
                " FROM oauth_refresh_tokens WHERE token_hash = ?1"
            ),
            rusqlite::params![token_hash],
            refresh_row,
        )
    }

    async fn upsert_consent(&mut self, c: &OidcConsent) -> StoreResult<()> {
        self.exec(
            "INSERT INTO oidc_consents (identity_id, client_id, app_id, scopes, created_at, \
             last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (identity_id, client_id, app_id) DO UPDATE SET \
             scopes = excluded.scopes, last_used_at = excluded.last_used_at",
            rusqlite::params![
                c.identity_id.0,
                &c.client_id,
                c.app_id.as_str(),
                join_words(&c.scopes),
                ms(c.created_at),
                ms(c.last_used_at)
            ],
        )?;
        Ok(())
    }

    async fn find_consent(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
    ) -> StoreResult<Option<OidcConsent>> {
        self.one(
            "SELECT identity_id, client_id, app_id, scopes, created_at, last_used_at \
             FROM oidc_consents WHERE identity_id = ?1 AND client_id = ?2 AND app_id = ?3",
            rusqlite::params![identity.0, client_id, app.as_str()],
            consent_row,
        )
    }

    async fn delete_consent(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "DELETE FROM oidc_consents WHERE identity_id = ?1 AND client_id = ?2 AND app_id = ?3",
            rusqlite::params![identity.0, client_id, app.as_str()],
        )?;
        Ok(n == 1)
    }

    async fn list_connected_apps(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<Vec<ConnectedApp>> {
        self.all(
            // last used: the consent's last authorization, or the last tokens issued from one
            // of its live sign-ins (a refresh), whichever is later
            "SELECT c.identity_id, c.client_id, c.app_id, c.scopes, c.created_at, \
             MAX(c.last_used_at, COALESCE((SELECT MAX(g.last_used_at) FROM oauth_grants g \
             WHERE g.identity_id = c.identity_id AND g.revoked_at IS NULL \
             AND g.client_id = c.client_id AND g.app_id = c.app_id), c.last_used_at)) AS used, \
             cl.name, a.name FROM oidc_consents c \
             JOIN oidc_clients cl ON cl.client_id = c.client_id \
             JOIN apps a ON a.app_id = c.app_id WHERE c.identity_id = ?1 \
             ORDER BY used DESC, c.client_id, c.app_id",
            rusqlite::params![identity.0],
            |r| {
                Ok(ConnectedApp {
                    consent: consent_row(r)?,
                    client_name: get(r, 6)?,
                    app_name: get(r, 7)?,
                })
            },
        )
    }

    async fn insert_backchannel_logout(&mut self, l: &BackchannelLogout) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO oidc_backchannel_logouts (",
                logout_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            rusqlite::params![
                l.id,
                &l.client_id,
                &l.uri,
                &l.sub,
                l.sid,
                ms(l.created_at),
                l.attempts,
                ms(l.next_attempt_at),
                l.delivered_at.map(ms),
                &l.last_error
            ],
        )?;
        Ok(())
    }

    async fn claim_backchannel_logouts(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<BackchannelLogout>> {
        // one statement in the write transaction (BEGIN IMMEDIATE): no two workers get a row
        let mut claimed = self.all(
            concat!(
                "UPDATE oidc_backchannel_logouts SET claimed_by = ?1, claimed_until = ?3 \
                 WHERE id IN (SELECT id FROM oidc_backchannel_logouts \
                 WHERE delivered_at IS NULL AND next_attempt_at <= ?2 \
                 AND (claimed_until IS NULL OR claimed_until < ?2) \
                 ORDER BY next_attempt_at, id LIMIT ?4) RETURNING ",
                logout_columns!()
            ),
            rusqlite::params![owner, ms(now), ms(lease_until), limit],
            logout_row,
        )?;
        claimed.sort_by_key(|l| (l.next_attempt_at, l.id));
        Ok(claimed)
    }

    async fn record_backchannel_attempt(
        &mut self,
        id: uuid::Uuid,
        at: OffsetDateTime,
        error: Option<&str>,
        next_attempt_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "UPDATE oidc_backchannel_logouts SET attempts = attempts + 1, \
             delivered_at = CASE WHEN ?3 IS NULL THEN ?2 ELSE delivered_at END, \
             last_error = ?3, \
             next_attempt_at = CASE WHEN ?3 IS NULL THEN next_attempt_at ELSE ?4 END, \
             claimed_by = NULL, claimed_until = NULL WHERE id = ?1",
            rusqlite::params![id, ms(at), error, ms(next_attempt_at)],
        )?;
        Ok(())
    }

    async fn list_backchannel_logouts(
        &mut self,
        client_id: &str,
    ) -> StoreResult<Vec<BackchannelLogout>> {
        self.all(
            concat!(
                "SELECT ",
                logout_columns!(),
                " FROM oidc_backchannel_logouts WHERE client_id = ?1 \
                 ORDER BY created_at DESC, id DESC"
            ),
            rusqlite::params![client_id],
            logout_row,
        )
    }
}
