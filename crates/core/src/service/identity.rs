//! Journey: identity — log in and out, who holds a session, the caller's own ID and apps, and
//! the membership checks every app-scoped step starts with.

use super::throttle::Throttled;
use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::lockout::Attempt;
use crate::model::*;
use crate::store::Queries;
use crate::token::{hash_token, new_token};
use crate::types::*;
use time::{Duration, OffsetDateTime};

/// How long a login waits for a free verification slot of its ID in all (five verifications on
/// a loaded machine finish well within it), and at most between two looks at the row.
const BUSY_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(9);
const BUSY_WAIT_MS: u64 = 30;

/// Hex SHA-256 of a text (keys that must not hold the text itself, e.g. an email).
pub(super) fn hex_digest(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A reserved login attempt that is released if the request is dropped before its outcome is
/// recorded (a client that disconnects mid-verification must not hold one of the ID's slots).
pub(super) struct Reservation {
    store: Option<std::sync::Arc<dyn crate::store::Store>>,
    email_norm: String,
}

impl Reservation {
    pub(super) fn new(store: std::sync::Arc<dyn crate::store::Store>, email_norm: &str) -> Self {
        Reservation {
            store: Some(store),
            email_norm: email_norm.to_string(),
        }
    }

    /// The outcome was recorded: nothing to release.
    pub(super) fn disarm(mut self) {
        self.store = None;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let email = std::mem::take(&mut self.email_norm);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let Ok(mut tx) = store.begin().await else {
                    return;
                };
                if let Ok(Some(mut i)) = tx.lock_identity_by_email(&email).await {
                    i.lockout.record_partial_success();
                    if tx.update_lockout(i.id, &i.lockout).await.is_ok() {
                        let _ = tx.commit().await;
                    }
                }
            });
        }
    }
}

/// A new session: the token goes to the client once; only its hash is stored.
#[derive(Clone)]
pub struct LoggedIn {
    pub token: String,
    pub identity_id: IdentityId,
    pub app_id: Option<AppId>,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Me {
    pub identity: Identity,
    pub apps: Vec<(App, Member)>,
}

impl Services {
    /// The principal's Active membership of the app; anything else is NotFound (no probing).
    pub async fn require_member(&self, p: &Principal, app_id: &AppId) -> Result<Member> {
        let mut r = self.read().await?;
        Self::member_in(&mut *r, p, app_id).await
    }

    pub async fn require_admin(&self, p: &Principal, app_id: &AppId) -> Result<Member> {
        let m = self.require_member(p, app_id).await?;
        if m.admin { Ok(m) } else { Err(Error::NotFound) }
    }

    /// Verify a password under the lockout rules, recording the outcome. Unknown IDs cost a
    /// dummy verification and get the same answers as a wrong password, a lock included (their
    /// failures are counted per address in the throttle table).
    pub(super) async fn check_password(
        &self,
        ctx: &Ctx,
        email_norm: &str,
        password: &str,
    ) -> Result<Identity> {
        let Some(identity) = self.reserve_attempt(ctx, email_norm, password).await? else {
            return self.unknown_id_attempt(ctx, email_norm, password).await;
        };
        let guard = Reservation::new(self.store.clone(), email_norm);
        // verify off the runtime, no transaction held
        let ok = self
            .hasher
            .verify(password.to_string(), Some(identity.password_hash.clone()))
            .await;
        let ok = match ok {
            Ok(ok) => ok,
            Err(e) => {
                self.settle_attempt(ctx, email_norm, false, "error").await?;
                guard.disarm();
                return Err(e);
            }
        };
        // with a second step to come, a right password completes nothing: the failures stay
        let second_step = ok
            && self
                .read()
                .await?
                .second_factor_status(identity.id)
                .await?
                .enabled();
        let settled = if second_step {
            self.settle_partial(email_norm).await
        } else {
            self.settle_attempt(ctx, email_norm, ok, "wrong_password")
                .await
        };
        guard.disarm();
        settled?.ok_or(Error::InvalidCredentials)
    }

    /// Release a reserved attempt whose password was right while a second step must follow.
    async fn settle_partial(&self, email_norm: &str) -> Result<Option<Identity>> {
        let mut tx = self.begin().await?;
        let Some(mut current) = tx.lock_identity_by_email(email_norm).await? else {
            return Ok(None);
        };
        current.lockout.record_partial_success();
        tx.update_lockout(current.id, &current.lockout).await?;
        tx.commit().await?;
        self.attempt_settled.notify_waiters();
        Ok(Some(current))
    }

    /// Reserve a login attempt (a password or a second step) of the ID with this email,
    /// serialised on its row; waits while every slot is in flight (each verification takes tens
    /// of milliseconds). `None` for an unknown email. A locked ID is 429 `id_locked` (after the
    /// same work as a verification of `secret`).
    pub(super) async fn reserve_attempt(
        &self,
        ctx: &Ctx,
        email_norm: &str,
        secret: &str,
    ) -> Result<Option<Identity>> {
        let waiting_since = std::time::Instant::now();
        loop {
            let mut settled = std::pin::pin!(self.attempt_settled.notified());
            settled.as_mut().enable();
            let mut tx = self.begin().await?;
            let Some(mut identity) = tx.lock_identity_by_email(email_norm).await? else {
                return Ok(None);
            };
            match identity.lockout.begin_attempt(ctx.now) {
                Attempt::Go => {
                    tx.update_lockout(identity.id, &identity.lockout).await?;
                    tx.commit().await?;
                    return Ok(Some(identity));
                }
                Attempt::Locked(until) => {
                    tx.update_lockout(identity.id, &identity.lockout).await?;
                    let actor = Actor::Identity(&identity);
                    return Err(self.refuse_locked(tx, ctx, actor, until, secret).await);
                }
                Attempt::Busy => {
                    drop(tx);
                    self.wait_for_a_slot(waiting_since, settled).await?;
                }
            }
        }
    }

    /// Every slot is in flight: wait until an attempt on this node settles (or a moment, for
    /// those settled by other nodes); 429 `too_many_attempts` once the login has waited too long in
    /// all.
    /// `settled` was made (and enabled) before the row was read, so an attempt that settles
    /// in between is not missed.
    async fn wait_for_a_slot(
        &self,
        waiting_since: std::time::Instant,
        settled: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    ) -> Result<()> {
        if waiting_since.elapsed() > BUSY_WAIT_LIMIT {
            return Err(Error::Busy);
        }
        let _ = tokio::time::timeout(std::time::Duration::from_millis(BUSY_WAIT_MS), settled).await;
        Ok(())
    }

    /// A locked ID (or a locked unknown email): the refusal is audited, costs the same work as
    /// a verification of `secret`, and answers 429 `id_locked` with the time left.
    async fn refuse_locked(
        &self,
        mut tx: Box<dyn crate::store::Tx>,
        ctx: &Ctx,
        actor: Actor<'_>,
        until: OffsetDateTime,
        secret: &str,
    ) -> Error {
        let refused = async move {
            let reason = serde_json::json!({"reason": "locked"});
            self.audit(&mut *tx, ctx, None, actor, "login.failed", None, reason)
                .await?;
            tx.commit().await?;
            self.hasher.verify(secret.to_string(), None).await?;
            Ok::<(), Error>(())
        };
        match refused.await {
            Err(e) => e,
            Ok(()) => Error::Locked {
                retry_after_secs: super::throttle::ceil_secs(until - ctx.now),
            },
        }
    }

    /// Record the outcome of a reserved attempt on the ID's current row. A failure is audited
    /// (`reason`), may lock the ID (then its owner is emailed a reset link) and gives `None`.
    pub(super) async fn settle_attempt(
        &self,
        ctx: &Ctx,
        email_norm: &str,
        ok: bool,
        reason: &str,
    ) -> Result<Option<Identity>> {
        let mut tx = self.begin().await?;
        let Some(mut current) = tx.lock_identity_by_email(email_norm).await? else {
            return Ok(None);
        };
        if ok {
            current.lockout.record_success();
            tx.update_lockout(current.id, &current.lockout).await?;
            tx.commit().await?;
            self.attempt_settled.notify_waiters();
            return Ok(Some(current));
        }
        let locked_now = current.lockout.record_failure(ctx.now);
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Identity(&current),
            "login.failed",
            None,
            serde_json::json!({"reason": reason, "locked": locked_now}),
        )
        .await?;
        tx.update_lockout(current.id, &current.lockout).await?;
        if locked_now {
            // the owner hears of it at once, with a way back in that no guess can block
            self.issue_reset(&mut *tx, ctx, &current, true).await?;
            self.audit(
                &mut *tx,
                ctx,
                None,
                Actor::Identity(&current),
                "id.locked",
                None,
                serde_json::json!({"until": current.lockout.locked_until}),
            )
            .await?;
        }
        tx.commit().await?;
        self.attempt_settled.notify_waiters();
        if locked_now {
            self.mail_kick.notify_one();
        }
        Ok(None)
    }

    /// A login attempt for an email with no ID: the same lockout rules, work and answers as for
    /// a real ID (a phantom lockout per email hash), so that nothing tells the two apart.
    async fn unknown_id_attempt(
        &self,
        ctx: &Ctx,
        email_norm: &str,
        password: &str,
    ) -> Result<Identity> {
        let key = format!("unknown-id:{}", hex_digest(email_norm));
        // what was typed is kept only if it is an address (people type passwords into the
        // email field)
        let label = if Email::parse(email_norm).is_ok() {
            email_norm
        } else {
            "(not an email address)"
        };
        // 1. reserve, as for a real ID (waiting for a slot the same way)
        let waiting_since = std::time::Instant::now();
        loop {
            let mut settled = std::pin::pin!(self.attempt_settled.notified());
            settled.as_mut().enable();
            let mut tx = self.begin().await?;
            let mut l = tx.lock_phantom_lockout(&key).await?;
            match l.begin_attempt(ctx.now) {
                Attempt::Go => {
                    tx.save_phantom_lockout(&key, &l).await?;
                    tx.commit().await?;
                    break;
                }
                Attempt::Locked(until) => {
                    tx.save_phantom_lockout(&key, &l).await?;
                    let actor = Actor::Anonymous(label);
                    return Err(self.refuse_locked(tx, ctx, actor, until, password).await);
                }
                Attempt::Busy => {
                    drop(tx);
                    self.wait_for_a_slot(waiting_since, settled).await?;
                }
            }
        }
        // 2. the same verification work
        let _ = self.hasher.verify(password.to_string(), None).await?;
        // 3. a failure, recorded as for a real ID
        let mut tx = self.begin().await?;
        let mut l = tx.lock_phantom_lockout(&key).await?;
        l.record_failure(ctx.now);
        tx.save_phantom_lockout(&key, &l).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Anonymous(label),
            "login.failed",
            None,
            serde_json::json!({"reason": "unknown_id"}),
        )
        .await?;
        tx.commit().await?;
        self.attempt_settled.notify_waiters();
        Err(Error::InvalidCredentials)
    }

    pub(super) async fn start_session(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        identity: &Identity,
        app_id: Option<AppId>,
        amr: &[&str],
    ) -> Result<LoggedIn> {
        let token = new_token();
        let session = Session {
            id: SessionId::new(),
            token_hash: hash_token(&token),
            identity_id: identity.id,
            app_id: app_id.clone(),
            created_at: ctx.now,
            last_seen_at: ctx.now,
            expires_at: ctx.now + self.settings.session_absolute,
            client_addr: ctx.client_addr.clone(),
            user_agent: ctx.user_agent.clone(),
            amr: amr.iter().map(|a| a.to_string()).collect(),
        };
        tx.insert_session(&session).await?;
        self.audit(
            tx,
            ctx,
            app_id.as_ref(),
            Actor::Identity(identity),
            "login.succeeded",
            None,
            serde_json::json!({"session": session.id, "amr": amr}),
        )
        .await?;
        Ok(LoggedIn {
            token,
            identity_id: identity.id,
            app_id,
            expires_at: session.expires_at,
        })
    }

    /// Log in with email and password; optionally straight into one app (the session is then
    /// bound to it and ends if the member is deactivated there).
    pub async fn login(
        &self,
        ctx: &Ctx,
        email: &str,
        password: &str,
        app_id: Option<&AppId>,
    ) -> Result<LoggedIn> {
        self.login_from(ctx, email, password, app_id, None).await
    }

    /// Log in from a browser that may be trusted (`device`: its "trust this browser" token):
    /// an ID with two-step verification gets 401 `second_factor_required` with a challenge
    /// unless the browser is trusted.
    pub async fn login_from(
        &self,
        ctx: &Ctx,
        email: &str,
        password: &str,
        app_id: Option<&AppId>,
        device: Option<&str>,
    ) -> Result<LoggedIn> {
        self.throttle(ctx, Throttled::Login).await?;
        let email_norm = match Email::parse(email) {
            Ok(e) => e.normalized().to_string(),
            Err(_) => email.trim().to_lowercase(),
        };
        if email_norm.is_empty() || email_norm.len() > Email::MAX_LEN || password.len() > 1024 {
            let _ = self.hasher.verify(password.to_string(), None).await?;
            return Err(Error::InvalidCredentials);
        }
        let identity = self.check_password(ctx, &email_norm, password).await?;
        self.second_step_needed(ctx, &identity, app_id, device)
            .await?;
        let mut tx = self.begin().await?;
        let mut bound = None;
        if let Some(app_id) = app_id
            && let Some(m) = tx.find_member_by_identity(app_id, identity.id).await?
            && m.status == MemberStatus::Active
        {
            tx.set_last_login(m.id, ctx.now).await?;
            bound = Some(app_id.clone());
        }
        self.notice_new_sign_in(&mut *tx, ctx, &identity).await?;
        let li = self
            .start_session(&mut *tx, ctx, &identity, bound, &["pwd"])
            .await?;
        tx.commit().await?;
        Ok(li)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.delete_session(&hash_token(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who holds this session token (checking idle and absolute timeouts).
    pub async fn authenticate(&self, ctx: &Ctx, token: &str) -> Result<Principal> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let hash = hash_token(token);
        let mut r = self.read().await?;
        let (s, identity) = r
            .find_session_identity(&hash)
            .await?
            .ok_or(Error::Unauthenticated)?;
        drop(r);
        if ctx.now >= s.expires_at || ctx.now - s.last_seen_at > self.settings.session_idle {
            let _ = self.logout(token).await;
            return Err(Error::Unauthenticated);
        }
        // refresh the idle clock at most once a minute: reads stay reads
        if ctx.now - s.last_seen_at > Duration::minutes(1) {
            let mut tx = self.begin().await?;
            tx.touch_session(s.id, ctx.now).await?;
            tx.commit().await?;
        }
        let current_terms = self.current_terms_version().await?;
        let terms_pending = (identity.terms_version.as_deref() != Some(current_terms.as_str()))
            .then_some(current_terms);
        let p = Principal {
            terms_pending,
            session_started: s.created_at,
            identity_id: identity.id,
            email: identity.email,
            first_name: identity.first_name,
            last_name: identity.last_name,
            session_id: s.id,
            session_app: s.app_id,
            key: None,
            amr: s.amr,
        };
        crate::ops::note_actor(&p);
        Ok(p)
    }

    pub async fn me(&self, p: &Principal) -> Result<Me> {
        let mut r = self.read().await?;
        let identity = r
            .get_identity(p.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let apps = r.list_memberships(p.identity_id).await?;
        Ok(Me { identity, apps })
    }
}

/// Printed without its secrets.
impl std::fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedIn")
            .field("token", &"(redacted)")
            .field("identity_id", &self.identity_id)
            .field("app_id", &self.app_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
