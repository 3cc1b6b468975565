//! Journey: two-step verification — an authenticator app (TOTP), email codes and backup codes;
//! the second step of a login (it counts towards the lockout like a password); "trust this
//! browser for 30 days"; an app's requirement that its members use it; an operator's reset.

use super::identity::LoggedIn;
use super::throttle::Throttled;
use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::Queries;
use crate::token::{hash_token, new_token};
use crate::totp;
use crate::types::*;
use time::Duration;

pub const CHALLENGE_TTL: Duration = Duration::minutes(10);
pub const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
pub const EMAIL_CODE_TRIES: i64 = 5;
pub const TRUST_TTL: Duration = Duration::days(30);
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

/// The second step of a login.
#[derive(Clone)]
pub struct SecondStep {
    pub challenge: String,
    /// `totp`, `email` or `backup_code`.
    pub method: String,
    pub code: String,
    /// Remember this browser for 30 days.
    pub trust_browser: bool,
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

fn six_digits() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

impl Services {
    /// How a backup code is stored: keyed with the server's secret, per ID.
    fn backup_hash(&self, identity: IdentityId, code: &str) -> Vec<u8> {
        self.settings.secret_key.mac(&[
            b"backup-code",
            identity.0.as_bytes(),
            backup_norm(code).as_bytes(),
        ])
    }

    /// The "trust this browser" cookie: a random token (kept hashed, so revocable) signed with
    /// the server's secret, `TOKEN.SIGNATURE`. A forged or altered cookie is dropped before any
    /// database lookup.
    fn seal_device_cookie(&self, token: &str) -> String {
        use base64::Engine;
        let sig = self.settings.secret_key.mac(&[b"device", token.as_bytes()]);
        format!(
            "{token}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        )
    }

    fn open_device_cookie(&self, cookie: &str) -> Option<String> {
        if cookie.len() > 200 {
            return None;
        }
        let (token, _) = cookie.split_once('.')?;
        let want = self.seal_device_cookie(token);
        let same = want.len() == cookie.len()
            && want
                .bytes()
                .zip(cookie.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| token.to_string())
    }

    fn email_code_hash(&self, challenge_hash: &[u8], code: &str) -> Vec<u8> {
        self.settings
            .secret_key
            .mac(&[b"login-code", challenge_hash, code.as_bytes()])
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
            .start_session(tx, ctx, &identity, p.session_app.clone())
            .await?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &identity.email,
            Mail::SecurityNotice {
                first_name: identity.first_name.clone(),
                event: SecurityEvent::SecondFactorEnabled,
                detail: Some(method.to_string()),
            },
            None,
        ))
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
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &identity.email,
            Mail::SecurityNotice {
                first_name: identity.first_name.clone(),
                event: SecurityEvent::SecondFactorDisabled,
                detail: None,
            },
            None,
        ))
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
        let email = Email::parse(email)?;
        let mut tx = self.begin().await?;
        let identity = tx
            .find_identity_by_email(email.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        tx.reset_second_factors(identity.id).await?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &identity.email,
            Mail::SecurityNotice {
                first_name: identity.first_name.clone(),
                event: SecurityEvent::SecondFactorsReset,
                detail: None,
            },
            None,
        ))
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Operator,
            "twofactor.reset",
            Some(identity.email.to_string()),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(identity)
    }

    /// After a right password: either this browser is trusted, or a challenge for the second
    /// step (401 `second_factor_required`). `Ok(())` when no second step is needed.
    pub(super) async fn second_step_needed(
        &self,
        ctx: &Ctx,
        identity: &Identity,
        app_id: Option<&AppId>,
        device: Option<&str>,
    ) -> Result<()> {
        let mut r = self.read().await?;
        let status = r.second_factor_status(identity.id).await?;
        if !status.enabled() {
            return Ok(());
        }
        if let Some(d) = device.and_then(|d| self.open_device_cookie(d))
            && r.trusted_device(&hash_token(&d), identity.id, ctx.now)
                .await?
        {
            return Ok(());
        }
        drop(r);
        let token = new_token();
        let mut tx = self.begin().await?;
        tx.insert_challenge(&LoginChallenge {
            token_hash: hash_token(&token),
            identity_id: identity.id,
            app_id: app_id.cloned(),
            created_at: ctx.now,
            expires_at: ctx.now + CHALLENGE_TTL,
            email_code_hash: None,
            email_code_until: None,
            email_code_tries: 0,
            used_at: None,
        })
        .await?;
        tx.commit().await?;
        Err(Error::SecondFactorRequired {
            challenge: token,
            methods: methods_of(&status),
        })
    }

    /// The second-step methods a live login challenge can use (to show its form again).
    pub async fn challenge_methods(&self, ctx: &Ctx, challenge: &str) -> Result<Vec<&'static str>> {
        let c = self.live_challenge(ctx, challenge).await?;
        let status = self
            .read()
            .await?
            .second_factor_status(c.identity_id)
            .await?;
        Ok(methods_of(&status))
    }

    pub(super) async fn live_challenge(
        &self,
        ctx: &Ctx,
        challenge: &str,
    ) -> Result<LoginChallenge> {
        if challenge.is_empty() || challenge.len() > 128 {
            return Err(Error::ChallengeInvalid);
        }
        self.read()
            .await?
            .lock_challenge(&hash_token(challenge))
            .await?
            .filter(|c| c.used_at.is_none() && ctx.now < c.expires_at)
            .ok_or(Error::ChallengeInvalid)
    }

    /// Email a 6-digit code for this login (when the ID uses email codes).
    pub async fn send_login_code(&self, ctx: &Ctx, challenge: &str) -> Result<()> {
        self.throttle(ctx, Throttled::SecondFactor).await?;
        let c = self.live_challenge(ctx, challenge).await?;
        let mut tx = self.begin().await?;
        if !tx.second_factor_status(c.identity_id).await?.email {
            return Err(Error::invalid(
                "method",
                "This ID does not use email codes.",
            ));
        }
        let identity = tx
            .get_identity(c.identity_id)
            .await?
            .ok_or(Error::ChallengeInvalid)?;
        let mut c = tx
            .lock_challenge(&c.token_hash)
            .await?
            .ok_or(Error::ChallengeInvalid)?;
        // the tries belong to the login, not to one code: asking again gives no new guesses
        if c.email_code_tries >= EMAIL_CODE_TRIES {
            return Err(Error::ChallengeInvalid);
        }
        let code = six_digits();
        c.email_code_hash = Some(self.email_code_hash(&c.token_hash, &code));
        c.email_code_until = Some(ctx.now + EMAIL_CODE_TTL);
        tx.update_challenge(&c).await?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &identity.email,
            Mail::LoginCode {
                first_name: identity.first_name.clone(),
            },
            Some(code),
        ))
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(())
    }

    /// The second step of a login. A wrong code counts towards the ID's lockout like a wrong
    /// password. Returns the session and, when asked to trust this browser, its device token.
    pub async fn finish_second_step(
        &self,
        ctx: &Ctx,
        step: &SecondStep,
    ) -> Result<(LoggedIn, Option<String>)> {
        self.throttle(ctx, Throttled::SecondFactor).await?;
        let c = self.live_challenge(ctx, &step.challenge).await?;
        let identity = self
            .read()
            .await?
            .get_identity(c.identity_id)
            .await?
            .ok_or(Error::ChallengeInvalid)?;
        let email_norm = identity.email.normalized().to_string();
        if self
            .reserve_attempt(ctx, &email_norm, &step.code)
            .await?
            .is_none()
        {
            return Err(Error::ChallengeInvalid);
        }
        let ok = match self.check_second_factor(ctx, &c, step).await {
            Ok(ok) => ok,
            Err(e) => {
                self.settle_attempt(ctx, &email_norm, false, "error")
                    .await?;
                return Err(e);
            }
        };
        let Some(identity) = self
            .settle_attempt(ctx, &email_norm, ok, "second_factor")
            .await?
        else {
            return Err(Error::CodeInvalid);
        };
        let mut tx = self.begin().await?;
        let mut c = tx
            .lock_challenge(&c.token_hash)
            .await?
            .filter(|c| c.used_at.is_none())
            .ok_or(Error::ChallengeInvalid)?;
        c.used_at = Some(ctx.now);
        tx.update_challenge(&c).await?;
        let mut bound = None;
        if let Some(app_id) = &c.app_id
            && let Some(m) = tx.find_member_by_identity(app_id, identity.id).await?
            && m.status == MemberStatus::Active
        {
            tx.set_last_login(m.id, ctx.now).await?;
            bound = Some(app_id.clone());
        }
        let li = self.start_session(&mut *tx, ctx, &identity, bound).await?;
        let device = if step.trust_browser {
            let d = new_token();
            tx.insert_trusted_device(&hash_token(&d), identity.id, ctx.now, ctx.now + TRUST_TTL)
                .await?;
            Some(self.seal_device_cookie(&d))
        } else {
            None
        };
        tx.commit().await?;
        Ok((li, device))
    }

    /// Whether the code of `step` is right for its method (recording what a right code uses up).
    async fn check_second_factor(
        &self,
        ctx: &Ctx,
        c: &LoginChallenge,
        step: &SecondStep,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = match step.method.as_str() {
            "totp" => {
                let Some(mut f) = tx
                    .lock_totp(c.identity_id)
                    .await?
                    .filter(|f| f.confirmed_at.is_some())
                else {
                    return Ok(false);
                };
                let secret = self.settings.secret_key.open(&f.secret_enc)?;
                match totp::verify(&secret, &step.code, ctx.now, f.last_step) {
                    Some(s) => {
                        f.last_step = s;
                        tx.put_totp(&f).await?;
                        true
                    }
                    None => false,
                }
            }
            "passkey" => {
                drop(tx);
                return self
                    .check_passkey_step(ctx, c, &step.challenge, &step.code)
                    .await;
            }
            "backup_code" => {
                tx.use_backup_code(
                    c.identity_id,
                    &self.backup_hash(c.identity_id, &step.code),
                    ctx.now,
                )
                .await?
            }
            "email" => {
                let Some(mut cur) = tx.lock_challenge(&c.token_hash).await? else {
                    return Ok(false);
                };
                let code: String = step.code.chars().filter(char::is_ascii_digit).collect();
                let want = self.email_code_hash(&cur.token_hash, &code);
                let live = cur.email_code_until.is_some_and(|u| ctx.now < u)
                    && cur.email_code_tries < EMAIL_CODE_TRIES;
                let ok = live && cur.email_code_hash.as_deref() == Some(want.as_slice());
                if ok {
                    cur.email_code_hash = None;
                } else {
                    cur.email_code_tries += 1;
                }
                tx.update_challenge(&cur).await?;
                ok
            }
            _ => {
                return Err(Error::invalid(
                    "method",
                    "One of totp, email, passkey or backup_code.",
                ));
            }
        };
        tx.commit().await?;
        Ok(ok)
    }

    /// Forget every trusted browser of the ID. Returns how many.
    pub async fn forget_trusted_browsers(&self, ctx: &Ctx, p: &Principal) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx.delete_trusted_devices(p.identity_id).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "twofactor.browsers_forgotten",
            None,
            serde_json::json!({"count": n}),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
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

fn methods_of(status: &SecondFactorStatus) -> Vec<&'static str> {
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

/// Printed without its secrets.
impl std::fmt::Debug for SecondStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondStep")
            .field("method", &self.method)
            .field("trust_browser", &self.trust_browser)
            .finish_non_exhaustive()
    }
}
