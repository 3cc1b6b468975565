//! Row mapping of the OpenID Connect records (see `oidc`). PostgreSQL.

use crate::rows::*;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::StoreResult;
use roster_core::types::*;
use sqlx::postgres::PgRow;

pub(crate) fn join_words(words: &[String]) -> String {
    words.join(" ")
}

pub(crate) fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

pub(crate) fn uris_json(uris: &[String]) -> StoreResult<String> {
    serde_json::to_string(uris).map_err(|e| StoreError::Other(format!("cannot encode URIs: {e}")))
}

pub(crate) fn uris(r: &PgRow, col: &str) -> StoreResult<Vec<String>> {
    let s: String = get(r, col)?;
    serde_json::from_str(&s).map_err(|_| bad("URI list", &s))
}

pub(crate) fn alg(r: &PgRow, col: &str) -> StoreResult<SigningAlg> {
    let s: String = get(r, col)?;
    SigningAlg::parse(&s).ok_or_else(|| bad("signing alg", &s))
}

pub(crate) fn words(r: &PgRow, col: &str) -> StoreResult<Vec<String>> {
    Ok(split_words(&get::<String>(r, col)?))
}

pub(crate) fn client_row(r: &PgRow) -> StoreResult<OidcClient> {
    Ok(OidcClient {
        client_id: get(r, "client_id")?,
        name: get(r, "name")?,
        secret_hash: get(r, "secret_hash")?,
        redirect_uris: uris(r, "redirect_uris")?,
        post_logout_redirect_uris: uris(r, "post_logout_redirect_uris")?,
        first_party: get(r, "first_party")?,
        back_channel_logout_uri: get(r, "back_channel_logout_uri")?,
        id_token_alg: alg(r, "id_token_alg")?,
        created_at: time(r, "created_at")?,
    })
}

pub(crate) fn key_row(r: &PgRow) -> StoreResult<SigningKey> {
    Ok(SigningKey {
        kid: get(r, "kid")?,
        alg: alg(r, "alg")?,
        private_sealed: get(r, "private_sealed")?,
        public_jwk: get(r, "public_jwk")?,
        created_at: time(r, "created_at")?,
        activates_at: time(r, "activates_at")?,
    })
}

pub(crate) fn grant_row(r: &PgRow) -> StoreResult<OauthGrant> {
    Ok(OauthGrant {
        id: get(r, "id")?,
        client_id: get(r, "client_id")?,
        identity_id: IdentityId(get(r, "identity_id")?),
        app_id: app_id(r, "app_id")?,
        member_id: MemberId(get(r, "member_id")?),
        scopes: words(r, "scopes")?,
        nonce: get(r, "nonce")?,
        auth_time: time(r, "auth_time")?,
        amr: words(r, "amr")?,
        created_at: time(r, "created_at")?,
        revoked_at: opt_time(r, "revoked_at")?,
        last_used_at: opt_time(r, "last_used_at")?,
    })
}

pub(crate) fn code_row(r: &PgRow) -> StoreResult<AuthCode> {
    Ok(AuthCode {
        code_hash: get(r, "code_hash")?,
        grant_id: get(r, "grant_id")?,
        client_id: get(r, "client_id")?,
        redirect_uri: get(r, "redirect_uri")?,
        code_challenge: get(r, "code_challenge")?,
        expires_at: time(r, "expires_at")?,
        used_at: opt_time(r, "used_at")?,
    })
}

pub(crate) fn refresh_row(r: &PgRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: get(r, "token_hash")?,
        grant_id: get(r, "grant_id")?,
        created_at: time(r, "created_at")?,
        expires_at: time(r, "expires_at")?,
        used_at: opt_time(r, "used_at")?,
    })
}

pub(crate) fn consent_row(r: &PgRow) -> StoreResult<OidcConsent> {
    Ok(OidcConsent {
        identity_id: IdentityId(get(r, "identity_id")?),
        client_id: get(r, "client_id")?,
        app_id: app_id(r, "app_id")?,
        scopes: words(r, "scopes")?,
        created_at: time(r, "created_at")?,
        last_used_at: time(r, "last_used_at")?,
    })
}

pub(crate) fn logout_row(r: &PgRow) -> StoreResult<BackchannelLogout> {
    Ok(BackchannelLogout {
        id: get(r, "id")?,
        client_id: get(r, "client_id")?,
        uri: get(r, "uri")?,
        sub: get(r, "sub")?,
        sid: get(r, "sid")?,
        created_at: time(r, "created_at")?,
        attempts: get(r, "attempts")?,
        next_attempt_at: time(r, "next_attempt_at")?,
        delivered_at: opt_time(r, "delivered_at")?,
        last_error: get(r, "last_error")?,
    })
}

/// Grants just revoked, in a stable order (RETURNING gives none).
pub(crate) fn sorted(rows: &[PgRow]) -> StoreResult<Vec<OauthGrant>> {
    let mut grants = rows
        .iter()
        .map(grant_row)
        .collect::<StoreResult<Vec<_>>>()?;
    grants.sort_by_key(|g| (g.created_at, g.id));
    Ok(grants)
}
