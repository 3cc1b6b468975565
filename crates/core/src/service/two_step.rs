//! Journey: two-step verification — an authenticator app (TOTP), email codes and backup codes;
//! the second step of a login (it counts towards the lockout like a password); "trust this
//! browser for 30 days"; an app's requirement that its members use it; an operator's reset.

use super::identity::LoggedIn;
use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::Queries;
use crate::totp;
use crate::types::*;
use time::Duration;

pub const BACKUP_CODE_COUNT: usize = 10;
/// Second factors are added or removed only this soon after a login: a session left open (or
/// stolen) cannot quietly add an attacker's authenticator.
pub const RECENT_LOGIN: Duration = Duration::minutes(15);

/// What an authenticator app needs to be set up.
#[derive(Clone)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
}

/// Two-step verification was turned on: the new session (privilege changed), and the backup
/// codes when they were made now (shown once).
#[derive(Clone)]
pub struct Enrolled {
    pub session: LoggedIn,
    pub backup_codes: Option<Vec<String>>,
}

/// A backup code: 10 characters from an alphabet without look-alikes, shown as `xxxxx-xxxxx`.
fn new_backup_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let s: String = (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// A backup code as typed, normalised (case, dashes and spaces do not matter).
fn backup_norm(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Services {
    /// How a backup code is stored: keyed with the server's secret, per ID.
    pub(super) fn backup_hash(&self, identity: IdentityId, code: &str) -> Vec<u8> {
        self.settings.secret_key.mac(&[
            b"backup-code",
            identity.0.as_bytes(),
            backup_norm(code).as_bytes(),
        ])
    }

    pub async fn two_step_status(&self, p: &Principal) -> Result<SecondFactorStatus> {
        Ok(self
            .read()
            .await?
            .second_factor_status(p.identity_id)
            .await?)
    }

    /// 403 `reauthentication_required` unless the caller logged in within [`RECENT_LOGIN`].
    pub(super) fn require_recent_login(&self, ctx: &Ctx, p: &Principal) -> Result<()> {
        if ctx.now - p.session_started > RECENT_LOGIN {
            return Err(Error::ReauthenticationRequired);
        }
        Ok(())
    }

    /// Start setting up an authenticator app: a new secret (active after a first valid code).
    pub async fn start_totp(&self, ctx: &Ctx, p: &Principal) -> Result<TotpEnrolment> {
        self.require_recent_login(ctx, p)?;
        let mut tx = self.begin().await?;
        if tx
            .lock_totp(p.identity_id)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some())
        {
            return Err(Error::invalid(
                "totp",
                "An authenticator app is already set up. Turn two-step verification off first to replace it.",
            ));
        }
        let secret = totp::new_secret();
        tx.put_totp(&TotpFactor {
            identity_id: p.identity_id,
            secret_enc: self.settings.secret_key.seal(&secret)?,
            created_at: ctx.now,
            confirmed_at: None,
            last_step: 0,
        })
        .await?;
        tx.commit().await?;
        Ok(TotpEnrolment {
            secret_base32: totp::base32(&secret),
            otpauth_url: totp::otpauth_url(&self.settings.product_name, p.email.as_str(), &secret),
        })
    }

    /// Finish setting up the authenticator app with its first code.
    pub async fn confirm_totp(&self, ctx: &Ctx, p: &Principal, code: &str) -> Result<Enrolled> {
        let mut tx = self.begin().await?;
        let mut f = tx
            .lock_totp(p.identity_id)
            .await?
            .filter(|f| f.confirmed_at.is_none())
            .ok_or_else(|| {
                Error::invalid(
                    "code",
                    "Start the set-up again: no authenticator app is waiting for its first code.",
                )
            })?;
        let secret = self.settings.secret_key.open(&f.secret_enc)?;
        let step = totp::verify(&secret, code, ctx.now, f.last_step).ok_or_else(|| {
            Error::invalid(
                "code",
                "That code is not right. Enter the 6 digits the app shows now.",
            )
        })?;
        f.confirmed_at = Some(ctx.now);
        f.last_step = step;
        tx.put_totp(&f).await?;
        let out = self.two_step_enabled(&mut *tx, ctx, p, "totp").await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(out)
    }

    /// Turn on email codes as the second step (current password required).
    pub async fn enable_email_codes(
        &self,
        ctx: &Ctx,
        p: &Principal,
        current_password: &str,
    ) -> Result<Enrolled> {
        self.confirm_current_password(ctx, p, current_password)
            .await?;
        let mut tx = self.begin().await?;
        tx.set_email_second_factor(p.identity_id, true).await?;
        let out = self.two_step_enabled(&mut *tx, ctx, p, "email").await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(out)
    }

    /// A method was added: backup codes if the ID has none, a new session token (every other
    /// session ends: they were opened with one step), the owner told, audited.
    pub(super) async fn two_step_enabled(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        p: &Principal,
        method: &str,
    ) -> Result<Enrolled> {
        let status = tx.second_factor_status(p.identity_id).await?;
        let backup_codes = if status.backup_codes_left == 0 {
            Some(self.store_backup_codes(tx, ctx, p).await?)
        } else {
            None
        };
        let identity = tx
            .get_identity(p.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        tx.delete_sessions_except(p.identity_id, SessionId::new())
            .await?;
        let session = self
            .start_session(
                tx,
                ctx,
                &identity,
                p.session_app.clone(),
                &["pwd", "otp", "mfa"],
            )
            .await?;
        self.notify_owner(
            &mut *tx,
            ctx,
            &identity,
            SecurityEvent::SecondFactorEnabled,
            Some(method.to_string()),
        )
        .await?;
        self.audit(
            tx,
            ctx,
            None,
            Actor::Id(p),
            "twofactor.enabled",
            None,
            serde_json::json!({"method": method}),
        )
        .await?;
        Ok(Enrolled {
            session,
            backup_codes,
        })
    }

    async fn store_backup_codes(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        p: &Principal,
    ) -> Result<Vec<String>> {
        let codes: Vec<String> = (0..BACKUP_CODE_COUNT).map(|_| new_backup_code()).collect();
        let hashes: Vec<Vec<u8>> = codes
            .iter()
            .map(|c| self.backup_hash(p.identity_id, c))
            .collect();
        tx.replace_backup_codes(p.identity_id, &hashes, ctx.now)
            .await?;
        Ok(codes)
    }

    /// New backup codes (the old set stops working), shown once.
    pub async fn regenerate_backup_codes(&self, ctx: &Ctx, p: &Principal) -> Result<Vec<String>> {
        self.require_recent_login(ctx, p)?;
        let mut tx = self.begin().await?;
        if !tx.second_factor_status(p.identity_id).await?.enabled() {
            return Err(Error::invalid(
                "backup_codes",
                "Turn on two-step verification first.",
            ));
        }
        let codes = self.store_backup_codes(&mut *tx, ctx, p).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "twofactor.backup_codes_regenerated",
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turn two-step verification off (current password required); not while an app of the ID
    /// requires it.
    pub async fn disable_two_step(
        &self,
        ctx: &Ctx,
        p: &Principal,
        current_password: &str,
    ) -> Result<()> {
        let identity = self
            .confirm_current_password(ctx, p, current_password)
            .await?;
        let mut tx = self.begin().await?;
        for (app, _) in tx.list_memberships(p.identity_id).await? {
            if tx.app_requires_second_factor(&app.app_id).await? {
                return Err(Error::invalid(
                    "two_step",
                    format!(
                        "{} ({}) requires two-step verification of its members.",
                        app.name, app.app_id
                    ),
                ));
            }
        }
        tx.reset_second_factors(p.identity_id).await?;
        self.notify_owner(
            &mut *tx,
            ctx,
            &identity,
            SecurityEvent::SecondFactorDisabled,
            None,
        )
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "twofactor.disabled",
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(())
    }

    /// Operator: remove every second factor of the ID with this email (audited; the owner is
    /// told by email).
    pub async fn operator_reset_two_step(&self, ctx: &Ctx, email: &str) -> Result<Identity> {
        self.reset_two_step_as(ctx, Actor::Operator, email).await
    }

    /// Reset an ID's second factors, audited as `actor` (the CLI or support in the console).
    pub(super) async fn reset_two_step_as(
        &self,
        ctx: &Ctx,
        actor: Actor<'_>,
        email: &str,
    ) -> Result<Identity> {
        let email = Email::parse(email)?;
        let mut tx = self.begin().await?;
        let identity = tx
            .find_identity_by_email(email.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        tx.reset_second_factors(identity.id).await?;
        // whoever had the phone loses the applications' sign-ins too
        self.end_identity_grants(&mut *tx, ctx, identity.id).await?;
        self.notify_owner(
            &mut *tx,
            ctx,
            &identity,
            SecurityEvent::SecondFactorsReset,
            None,
        )
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            actor,
            "twofactor.reset",
            Some(identity.email.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(identity)
    }

    /// Admin: require two-step verification of the app's members. The admin must use it first.
    pub async fn set_app_requires_two_step(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        on: bool,
    ) -> Result<()> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        if on && !tx.second_factor_status(p.identity_id).await?.enabled() {
            return Err(Error::invalid(
                "require_two_step",
                "Set up two-step verification for your own ID first.",
            ));
        }
        tx.set_app_requires_second_factor(app_id, on).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "app.two_step_required",
            None,
            serde_json::json!({"required": on}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn app_requires_two_step(&self, app_id: &AppId) -> Result<bool> {
        Ok(self
            .read()
            .await?
            .app_requires_second_factor(app_id)
            .await?)
    }
}

/// Printed without its secrets.
impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment(redacted)")
    }
}

/// Printed without its secrets.
impl std::fmt::Debug for Enrolled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolled")
            .field("session", &self.session)
            .field("backup_codes", &self.backup_codes.as_ref().map(|c| c.len()))
            .finish()
    }
}

pub(super) fn methods_of_status(status: &SecondFactorStatus) -> Vec<&'static str> {
    let mut methods = Vec::new();
    if status.totp {
        methods.push("totp");
    }
    if status.email {
        methods.push("email");
    }
    if status.passkeys > 0 {
        methods.push("passkey");
    }
    if status.backup_codes_left > 0 {
        methods.push("backup_code");
    }
    methods
}
