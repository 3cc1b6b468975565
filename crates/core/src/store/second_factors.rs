//! Second factors of an ID (authenticator app, email codes, backup codes), login challenges,
//! trusted browsers, and the per-app requirement.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait SecondFactorQueries: Send {
    async fn second_factor_status(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<SecondFactorStatus>;
    /// The ID's authenticator app (confirmed or not), its row locked.
    async fn lock_totp(&mut self, identity: IdentityId) -> StoreResult<Option<TotpFactor>>;
    /// Insert or replace the ID's authenticator app.
    async fn put_totp(&mut self, f: &TotpFactor) -> StoreResult<()>;
    async fn set_email_second_factor(&mut self, identity: IdentityId, on: bool) -> StoreResult<()>;
    /// Replace the ID's backup codes (the old set stops working).
    async fn replace_backup_codes(
        &mut self,
        identity: IdentityId,
        hashes: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Use a backup code: true if it existed and was unused (it is used now).
    async fn use_backup_code(
        &mut self,
        identity: IdentityId,
        hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Remove every second factor and trusted browser of the ID.
    async fn reset_second_factors(&mut self, identity: IdentityId) -> StoreResult<()>;

    async fn insert_challenge(&mut self, c: &LoginChallenge) -> StoreResult<()>;
    async fn lock_challenge(&mut self, token_hash: &[u8]) -> StoreResult<Option<LoginChallenge>>;
    /// Save the email code fields and `used_at`.
    async fn update_challenge(&mut self, c: &LoginChallenge) -> StoreResult<()>;

    async fn insert_trusted_device(
        &mut self,
        token_hash: &[u8],
        identity: IdentityId,
        at: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Whether this browser token is trusted for the ID now.
    async fn trusted_device(
        &mut self,
        token_hash: &[u8],
        identity: IdentityId,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    async fn delete_trusted_devices(&mut self, identity: IdentityId) -> StoreResult<u64>;

    async fn set_app_requires_second_factor(&mut self, app: &AppId, on: bool) -> StoreResult<()>;
    async fn app_requires_second_factor(&mut self, app: &AppId) -> StoreResult<bool>;
}
