//! Journey: the second step of a login — a challenge after the right password, checked by an
//! authenticator-app code, an emailed code, a backup code or a passkey; each wrong code counts
//! towards the ID's lockout like a wrong password; "trust this browser for 30 days".

use super::identity::LoggedIn;
use super::throttle::Throttled;
use super::two_step::methods_of_status;
use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::totp;
use crate::types::*;
use time::Duration;

/// How long the second step may wait after the password.
pub const CHALLENGE_TTL: Duration = Duration::minutes(10);
pub const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
/// Wrong email codes one login survives.
pub const EMAIL_CODE_TRIES: i64 = 5;
/// "Trust this browser" lasts this long.
pub const TRUST_TTL: Duration = Duration::days(30);

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

/// The `amr` of a login finished with this second-step method (RFC 8176).
fn amr_of(method: &str) -> [&'static str; 3] {
    match method {
        "passkey" => ["pwd", "hwk", "mfa"],
        _ => ["pwd", "otp", "mfa"],
    }
}

fn six_digits() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
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

impl Services {
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
        crate::token::constant_time_eq(want.as_bytes(), cookie.as_bytes())
            .then(|| token.to_string())
    }

    fn email_code_hash(&self, challenge_hash: &[u8], code: &str) -> Vec<u8> {
        self.settings
            .secret_key
            .mac(&[b"login-code", challenge_hash, code.as_bytes()])
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
            methods: methods_of_status(&status),
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
        Ok(methods_of_status(&status))
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
        self.notice_new_sign_in(&mut *tx, ctx, &identity).await?;
        let li = self
            .start_session(&mut *tx, ctx, &identity, bound, &amr_of(&step.method))
            .await?;
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
                let ok = live
                    && cur
                        .email_code_hash
                        .as_deref()
                        .is_some_and(|h| crate::token::constant_time_eq(h, &want));
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
}
