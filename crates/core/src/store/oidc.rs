//! The OpenID Connect provider's records: clients, signing keys, grants with their codes and
//! refresh tokens, consents, and back-channel logouts (an outbox of their own).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait OidcQueries: Send {
    async fn insert_oidc_client(&mut self, c: &OidcClient) -> StoreResult<()>;
    async fn get_oidc_client(&mut self, client_id: &str) -> StoreResult<Option<OidcClient>>;
    /// Every client, oldest first.
    async fn list_oidc_clients(&mut self) -> StoreResult<Vec<OidcClient>>;

    async fn insert_signing_key(&mut self, k: &SigningKey) -> StoreResult<()>;
    /// Every signing key, newest `activates_at` first.
    async fn list_signing_keys(&mut self) -> StoreResult<Vec<SigningKey>>;
    async fn delete_signing_key(&mut self, kid: &str) -> StoreResult<()>;

    async fn insert_grant(&mut self, g: &OauthGrant) -> StoreResult<()>;
    async fn get_grant(&mut self, id: uuid::Uuid) -> StoreResult<Option<OauthGrant>>;
    /// Revoke one grant; false if it was already revoked (or does not exist).
    async fn revoke_grant(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> StoreResult<bool>;
    async fn touch_grant(&mut self, id: uuid::Uuid, at: OffsetDateTime) -> StoreResult<()>;
    /// Revoke every live grant of a member of an app; returns the grants just revoked.
    async fn revoke_member_grants(
        &mut self,
        app: &AppId,
        member: MemberId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>>;
    /// Revoke every live grant of an ID (in any app); returns the grants just revoked.
    async fn revoke_identity_grants(
        &mut self,
        identity: IdentityId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>>;
    /// Revoke the live grants of an ID for one client in one app; returns them.
    async fn revoke_client_grants(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<OauthGrant>>;

    async fn insert_auth_code(&mut self, c: &AuthCode) -> StoreResult<()>;
    /// Mark a code used (if it is not yet) and return it as it was before: `used_at` set means
    /// this is a second use.
    async fn use_auth_code(
        &mut self,
        code_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<AuthCode>>;

    async fn insert_refresh_token(&mut self, t: &RefreshToken) -> StoreResult<()>;
    /// Mark a refresh token used (if it is not yet) and return it as it was before.
    async fn use_refresh_token(
        &mut self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<Option<RefreshToken>>;
    /// The refresh token with this hash, as it is (revocation, RFC 7009).
    async fn find_refresh_token(&mut self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>>;

    /// Insert, or replace the scopes and `last_used_at` of, the consent of (ID, client, app).
    async fn upsert_consent(&mut self, c: &OidcConsent) -> StoreResult<()>;
    async fn find_consent(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
    ) -> StoreResult<Option<OidcConsent>>;
    async fn delete_consent(
        &mut self,
        identity: IdentityId,
        client_id: &str,
        app: &AppId,
    ) -> StoreResult<bool>;
    /// The ID's consents with client and app names, most recently used first; a consent's
    /// `last_used_at` is the later of its last authorization and the last tokens issued from
    /// one of its live grants.
    async fn list_connected_apps(&mut self, identity: IdentityId)
    -> StoreResult<Vec<ConnectedApp>>;

    async fn insert_backchannel_logout(&mut self, l: &BackchannelLogout) -> StoreResult<()>;
    /// Claim up to `limit` undelivered logouts due at `now` for `owner` until `lease_until`
    /// (no two workers, on any node, get the same one).
    async fn claim_backchannel_logouts(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<BackchannelLogout>>;
    /// Record an attempt: delivered (`error` None) or to retry at `next_attempt_at`.
    async fn record_backchannel_attempt(
        &mut self,
        id: uuid::Uuid,
        at: OffsetDateTime,
        error: Option<&str>,
        next_attempt_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Housekeeping: forget codes and refresh tokens that expired before `before`, grants
    /// revoked before it (with their codes and tokens), and logouts delivered before it.
    /// Returns how many rows went.
    async fn prune_oidc(&mut self, before: OffsetDateTime) -> StoreResult<u64>;
    /// Every logout of a client, newest first (operator view, tests).
    async fn list_backchannel_logouts(
        &mut self,
        client_id: &str,
    ) -> StoreResult<Vec<BackchannelLogout>>;
}
