//! Journey: password — forgot password (a single-use link and an 8-digit code by email), reset
//! it (the emailed token always required; the security answer as an extra check), and change it
//! while logged in. A new password follows the policy and is none of the ID's last 4; every
//! other session ends; the owner is told by email.

use super::identity::LoggedIn;
use super::throttle::Throttled;
use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::password::Password;
use crate::store::Queries;
use crate::token::{hash_token, new_token};
use crate::types::*;
use time::Duration;

/// How long a reset link and its code work.
pub const RESET_TTL: Duration = Duration::minutes(30);
/// A new password may not be one of this many most recent passwords of the ID.
pub const PASSWORD_HISTORY: usize = 4;
/// Answers to the security question a reset link allows (and wrong codes its code survives).
const RESET_TRIES: i64 = 5;

/// A password reset: the emailed `token`, or the ID's `email` with the emailed 8-digit `code`.
#[derive(Clone, Default)]
pub struct ResetRequest {
    pub token: Option<String>,
    pub email: Option<String>,
    pub code: Option<String>,
    pub password: String,
    pub security_answer: Option<String>,
}

/// Eight decimal digits from the CSPRNG.
fn new_code() -> String {
    use rand::Rng;
    format!("{:08}", rand::rng().random_range(0..100_000_000u32))
}

impl Services {
    /// How a reset code is stored: keyed with the server's secret, salted with its reset's id.
    fn code_hash(&self, token_id: &uuid::Uuid, code: &str) -> Vec<u8> {
        self.settings
            .secret_key
            .mac(&[b"reset-code", token_id.as_bytes(), code.as_bytes()])
    }
    /// Queue a reset email for the ID. Earlier links keep working until they expire (a stranger
    /// asking again must not kill the owner's link); a completed reset voids them all.
    pub(super) async fn issue_reset(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        identity: &Identity,
        locked: bool,
    ) -> Result<()> {
        let token = new_token();
        let code = new_code();
        let id = uuid::Uuid::now_v7();
        let t = IdentityToken {
            id,
            identity_id: identity.id,
            purpose: TokenPurpose::PasswordReset,
            token_hash: hash_token(&token),
            code_hash: Some(self.code_hash(&id, &code)),
            new_email: None,
            created_at: ctx.now,
            expires_at: ctx.now + RESET_TTL,
            used_at: None,
            tries: 0,
        };
        tx.insert_identity_token(&t).await?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &identity.email,
            Mail::PasswordReset {
                first_name: identity.first_name.clone(),
                expires_at: t.expires_at,
                locked,
            },
            Some(format!("{token} {code}")),
        ))
        .await?;
        if !locked {
            self.audit(
                tx,
                ctx,
                None,
                Actor::Identity(identity),
                "password.reset_requested",
                None,
                serde_json::json!({}),
            )
            .await?;
        }
        Ok(())
    }

    /// Forgot password: the same answer whether or not an ID has this email; if one has, it
    /// gets a reset email.
    pub async fn forgot_password(&self, ctx: &Ctx, email: &str) -> Result<()> {
        self.throttle(ctx, Throttled::ForgotPassword).await?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let mut tx = self.begin().await?;
        if let Some(identity) = tx.find_identity_by_email(email.normalized()).await? {
            self.issue_reset(&mut *tx, ctx, &identity, false).await?;
            tx.commit().await?;
            self.mail_kick.notify_one();
        }
        Ok(())
    }

    /// The usable reset token a request names (by token, or by email and code). A wrong code
    /// counts against the newest reset's code; 5 void the code (its link keeps working: strangers
    /// guessing codes cannot take the owner's way back in).
    async fn reset_token_of(&self, ctx: &Ctx, req: &ResetRequest) -> Result<IdentityToken> {
        let mut tx = self.begin().await?;
        if let Some(token) = req.token.as_deref().filter(|t| !t.trim().is_empty()) {
            return tx
                .lock_identity_token(&hash_token(token.trim()))
                .await?
                .filter(|t| t.purpose == TokenPurpose::PasswordReset && t.usable(ctx.now))
                .ok_or(Error::LinkInvalid);
        }
        let code: String = req
            .code
            .as_deref()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "code",
                "Enter the 8-digit code from the email.",
            ));
        }
        let email = Email::parse(req.email.as_deref().unwrap_or(""))?;
        let identity = tx.find_identity_by_email(email.normalized()).await?;
        let Some(identity) = identity else {
            return Err(Error::CodeInvalid);
        };
        let mut t = tx
            .lock_latest_identity_token(identity.id, TokenPurpose::PasswordReset)
            .await?
            .filter(|t| t.usable(ctx.now) && t.code_hash.is_some())
            .ok_or(Error::CodeInvalid)?;
        let right = t
            .code_hash
            .as_deref()
            .is_some_and(|h| crate::token::constant_time_eq(h, &self.code_hash(&t.id, &code)));
        if !right {
            // wrong codes are counted apart from the link's tries (the security answer's):
            // strangers guessing codes can void the code, never the emailed link
            let (wrong, _) = tx
                .hit_throttle(&format!("reset-code:{}", t.id), ctx.now, RESET_TTL)
                .await?;
            if wrong >= RESET_TRIES {
                t.code_hash = None;
                tx.update_identity_token(&t).await?;
            }
            tx.commit().await?;
            return Err(Error::CodeInvalid);
        }
        Ok(t)
    }

    /// The security question a reset link will ask, if its ID has one (only the holder of a
    /// usable link learns it). 410 `link_invalid` for an unusable link.
    pub async fn reset_link_question(
        &self,
        ctx: &Ctx,
        token: &str,
    ) -> Result<Option<SecurityQuestion>> {
        let mut r = self.read().await?;
        let t = r
            .lock_identity_token(&hash_token(token.trim()))
            .await?
            .filter(|t| t.purpose == TokenPurpose::PasswordReset && t.usable(ctx.now))
            .ok_or(Error::LinkInvalid)?;
        Ok(r.get_identity(t.identity_id)
            .await?
            .and_then(|i| i.security_question))
    }

    /// A new password for `identity`: the policy, and none of its last [`PASSWORD_HISTORY`]
    /// passwords. Returns its hash.
    async fn new_password_hash(&self, identity: &Identity, raw: &str) -> Result<String> {
        let password: Password = self.policy.check(raw, identity.email.local_part())?;
        let mut previous = vec![identity.password_hash.clone()];
        let history = self
            .read()
            .await?
            .password_history(identity.id, (PASSWORD_HISTORY - 1) as u32)
            .await?;
        previous.extend(history);
        for old in previous {
            if self
                .hasher
                .verify(password.expose().to_string(), Some(old))
                .await?
            {
                return Err(Error::PasswordReused(PASSWORD_HISTORY));
            }
        }
        self.hasher.hash(password.expose().to_string()).await
    }

    /// Reset the password with an emailed token (or code). Also clears a lock; ends every
    /// session of the ID; tells the owner.
    pub async fn reset_password(&self, ctx: &Ctx, req: &ResetRequest) -> Result<()> {
        self.throttle(ctx, Throttled::ResetPassword).await?;
        let t = self.reset_token_of(ctx, req).await?;
        let identity = self
            .read()
            .await?
            .get_identity(t.identity_id)
            .await?
            .ok_or(Error::LinkInvalid)?;
        if let Some(answer_hash) = &identity.security_answer_hash {
            let given = req.security_answer.as_deref().unwrap_or("");
            if given.trim().is_empty() {
                let q = identity
                    .security_question
                    .map(|q| format!(" {}", q.text()))
                    .unwrap_or_default();
                return Err(Error::invalid(
                    "security_answer",
                    format!("Answer your security question:{q}"),
                ));
            }
            let answer = normalize_security_answer(given)?;
            // count the try before checking it: parallel guesses cannot exceed the limit
            {
                let mut tx = self.begin().await?;
                let mut cur = tx
                    .lock_identity_token(&t.token_hash)
                    .await?
                    .filter(|c| c.usable(ctx.now))
                    .ok_or(Error::LinkInvalid)?;
                cur.tries += 1;
                let spent = cur.tries > RESET_TRIES;
                if spent {
                    cur.used_at = Some(ctx.now);
                }
                tx.update_identity_token(&cur).await?;
                tx.commit().await?;
                if spent {
                    return Err(Error::LinkInvalid);
                }
            }
            if !self
                .hasher
                .verify(answer, Some(answer_hash.clone()))
                .await?
            {
                let mut tx = self.begin().await?;
                self.audit(
                    &mut *tx,
                    ctx,
                    None,
                    Actor::Identity(&identity),
                    "password.reset_failed",
                    None,
                    serde_json::json!({"reason": "security_answer"}),
                )
                .await?;
                tx.commit().await?;
                return Err(Error::SecurityAnswerWrong);
            }
        }
        let new_hash = self.new_password_hash(&identity, &req.password).await?;

        let mut tx = self.begin().await?;
        // single use: the token must still be unused now that the row is ours
        let mut cur = tx
            .lock_identity_token(&t.token_hash)
            .await?
            .filter(|c| c.usable(ctx.now))
            .ok_or(Error::LinkInvalid)?;
        cur.used_at = Some(ctx.now);
        tx.update_identity_token(&cur).await?;
        tx.void_identity_tokens(identity.id, TokenPurpose::PasswordReset, ctx.now)
            .await?;
        // whoever forced the reset loses what they may have started: a pending login-email
        // change, and browsers trusted to skip the second step
        tx.void_identity_tokens(identity.id, TokenPurpose::EmailChange, ctx.now)
            .await?;
        tx.delete_trusted_devices(identity.id).await?;
        tx.set_password(identity.id, &new_hash, ctx.now).await?;
        if let Some(mut locked) = tx
            .lock_identity_by_email(identity.email.normalized())
            .await?
        {
            locked.lockout.unlock();
            tx.update_lockout(locked.id, &locked.lockout).await?;
        }
        // a fresh id matches no session: every session of the ID ends
        tx.delete_sessions_except(identity.id, SessionId::new())
            .await?;
        // and every application it signed in to hears of it
        self.end_identity_grants(&mut *tx, ctx, identity.id).await?;
        // an ID made by SCIM provisioning gets its first password: no "was reset" notice
        let first_password = tx.claim_identity(identity.id).await?;
        if !first_password {
            self.notify_owner(&mut *tx, ctx, &identity, SecurityEvent::PasswordReset, None)
                .await?;
        }
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Identity(&identity),
            if first_password {
                "id.claimed"
            } else {
                "password.reset"
            },
            None,
            serde_json::json!({"by": if req.token.is_some() { "link" } else { "code" }}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(())
    }

    /// Check the caller's current password (under the lockout rules); a wrong one is a field
    /// error, not a 401 that would look like a lost session.
    pub(super) async fn confirm_current_password(
        &self,
        ctx: &Ctx,
        p: &Principal,
        current: &str,
    ) -> Result<Identity> {
        if current.is_empty() || current.len() > 1024 {
            return Err(Error::invalid(
                "current_password",
                "Enter your current password.",
            ));
        }
        match self
            .check_password(ctx, p.email.normalized(), current)
            .await
        {
            Ok(i) => Ok(i),
            Err(Error::InvalidCredentials) => Err(Error::invalid(
                "current_password",
                "The current password is wrong.",
            )),
            Err(e) => Err(e),
        }
    }

    /// Change the password: the current one required. Every other session ends and this one
    /// is replaced by a new token (returned).
    pub async fn change_password(
        &self,
        ctx: &Ctx,
        p: &Principal,
        current: &str,
        new: &str,
    ) -> Result<LoggedIn> {
        let identity = self.confirm_current_password(ctx, p, current).await?;
        let new_hash = self.new_password_hash(&identity, new).await?;
        let mut tx = self.begin().await?;
        tx.set_password(identity.id, &new_hash, ctx.now).await?;
        tx.void_identity_tokens(identity.id, TokenPurpose::PasswordReset, ctx.now)
            .await?;
        tx.void_identity_tokens(identity.id, TokenPurpose::EmailChange, ctx.now)
            .await?;
        tx.delete_sessions_except(identity.id, SessionId::new())
            .await?;
        let li = self
            .start_session(&mut *tx, ctx, &identity, p.session_app.clone(), &["pwd"])
            .await?;
        self.notify_owner(
            &mut *tx,
            ctx,
            &identity,
            SecurityEvent::PasswordChanged,
            None,
        )
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "password.changed",
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(li)
    }
}

/// Printed without its secrets.
impl std::fmt::Debug for ResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}
