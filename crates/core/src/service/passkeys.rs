//! Journey: passkeys (WebAuthn, with webauthn-rs) — register one from the account pages, use it
//! as the second step of a login, or sign in with it and no password at all (a discoverable
//! credential: the browser offers the ID's passkeys; nothing is typed, nothing is revealed about
//! which emails exist).

use super::identity::LoggedIn;
use super::throttle::Throttled;
use super::two_step::Enrolled;
use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::types::*;
use time::Duration;
use webauthn_rs::prelude::*;

/// How long a ceremony (the browser talking to the authenticator) may take.
pub const CEREMONY_TTL: Duration = Duration::minutes(5);

/// The relying party of this installation: its ID is the host of the public URL, its origin
/// the URL. `None` when the URL cannot carry WebAuthn (an IP address, not http(s)).
pub(super) fn relying_party(product: &str, public_url: &str) -> Option<Webauthn> {
    let url = Url::parse(public_url).ok()?;
    let host = url.host_str()?.to_string();
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    WebauthnBuilder::new(&host, &url)
        .ok()?
        .rp_name(product)
        .build()
        .ok()
}

/// A ceremony to hand to the browser: the options for `navigator.credentials` and the token
/// that finishes it.
#[derive(Clone)]
pub struct CeremonyStart {
    pub ceremony: String,
    pub options: serde_json::Value,
}

fn bad_credential() -> Error {
    Error::invalid(
        "credential",
        "The passkey answer could not be verified. Try again.",
    )
}

impl Services {
    fn webauthn(&self) -> Result<&Webauthn> {
        self.webauthn.as_ref().ok_or_else(|| {
            Error::invalid(
                "passkey",
                "Passkeys need the server's base_url to be a host name (https, or http://localhost).",
            )
        })
    }

    async fn begin_ceremony(
        &self,
        ctx: &Ctx,
        identity: Option<IdentityId>,
        purpose: &str,
        state: String,
        options: serde_json::Value,
        token: Option<String>,
    ) -> Result<CeremonyStart> {
        let token = token.unwrap_or_else(new_token);
        let token_hash = hash_token(&format!("{purpose}:{token}"));
        let mut tx = self.begin().await?;
        // starting again (a cancelled browser prompt) replaces the ceremony
        tx.take_ceremony(&token_hash).await?;
        tx.insert_ceremony(&Ceremony {
            token_hash,
            identity_id: identity,
            purpose: purpose.into(),
            state,
            expires_at: ctx.now + CEREMONY_TTL,
        })
        .await?;
        tx.commit().await?;
        Ok(CeremonyStart {
            ceremony: token,
            options,
        })
    }

    async fn end_ceremony(&self, ctx: &Ctx, purpose: &str, token: &str) -> Result<Ceremony> {
        let mut tx = self.begin().await?;
        let c = tx
            .take_ceremony(&hash_token(&format!("{purpose}:{token}")))
            .await?;
        tx.commit().await?;
        c.filter(|c| c.purpose == purpose && ctx.now < c.expires_at)
            .ok_or(Error::ChallengeInvalid)
    }

    /// Start registering a passkey for the caller.
    pub async fn passkey_register_start(&self, ctx: &Ctx, p: &Principal) -> Result<CeremonyStart> {
        self.require_recent_login(ctx, p)?;
        let w = self.webauthn()?;
        let existing = self.read().await?.list_passkeys(p.identity_id).await?;
        let exclude: Vec<CredentialID> = existing
            .iter()
            .filter_map(|k| serde_json::from_str::<Passkey>(&k.credential).ok())
            .map(|k| k.cred_id().clone())
            .collect();
        let (ccr, state) = w
            .start_passkey_registration(
                p.identity_id.0,
                p.email.as_str(),
                &p.display_name(),
                Some(exclude),
            )
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
        let mut options = serde_json::to_value(&ccr)
            .map_err(|e| Error::Internal(format!("webauthn options: {e}")))?;
        // a discoverable credential, so that it can sign in without an email typed first
        if let Some(sel) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(|v| v.as_object_mut())
        {
            sel.insert("residentKey".into(), "required".into());
            sel.insert("requireResidentKey".into(), true.into());
        }
        let state = serde_json::to_string(&state)
            .map_err(|e| Error::Internal(format!("webauthn state: {e}")))?;
        self.begin_ceremony(ctx, Some(p.identity_id), "register", state, options, None)
            .await
    }

    /// Finish registering: the passkey is kept (named), two-step verification is on.
    pub async fn passkey_register_finish(
        &self,
        ctx: &Ctx,
        p: &Principal,
        ceremony: &str,
        name: &str,
        credential: &serde_json::Value,
    ) -> Result<Enrolled> {
        let w = self.webauthn()?;
        let c = self.end_ceremony(ctx, "register", ceremony).await?;
        if c.identity_id != Some(p.identity_id) {
            return Err(Error::ChallengeInvalid);
        }
        let state: PasskeyRegistration = serde_json::from_str(&c.state)
            .map_err(|e| Error::Internal(format!("webauthn state: {e}")))?;
        let reg: RegisterPublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|_| bad_credential())?;
        let passkey = w
            .finish_passkey_registration(&reg, &state)
            .map_err(|_| bad_credential())?;
        let name = name.trim();
        let name = if name.is_empty() { "Passkey" } else { name };
        let stored = StoredPasskey {
            cred_id: passkey.cred_id().to_vec(),
            identity_id: p.identity_id,
            name: name.chars().take(60).collect(),
            credential: serde_json::to_string(&passkey)
                .map_err(|e| Error::Internal(format!("passkey: {e}")))?,
            created_at: ctx.now,
            last_used_at: None,
        };
        let mut tx = self.begin().await?;
        tx.insert_passkey(&stored).await?;
        let out = self.two_step_enabled(&mut *tx, ctx, p, "passkey").await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(out)
    }

    pub async fn my_passkeys(&self, p: &Principal) -> Result<Vec<StoredPasskey>> {
        Ok(self.read().await?.list_passkeys(p.identity_id).await?)
    }

    pub async fn delete_passkey(&self, ctx: &Ctx, p: &Principal, cred_id: &[u8]) -> Result<()> {
        self.require_recent_login(ctx, p)?;
        let mut tx = self.begin().await?;
        if !tx.delete_passkey(p.identity_id, cred_id).await? {
            return Err(Error::NotFound);
        }
        // the last second factor cannot go while an app of the ID requires one
        if !tx.second_factor_status(p.identity_id).await?.enabled() {
            for (app, _) in tx.list_memberships(p.identity_id).await? {
                if tx.app_requires_second_factor(&app.app_id).await? {
                    return Err(Error::invalid(
                        "passkey",
                        format!(
                            "{} ({}) requires two-step verification: add another method first.",
                            app.name, app.app_id
                        ),
                    ));
                }
            }
        }
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "twofactor.passkey_removed",
            None,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Start signing in with a passkey (no email, no password).
    pub async fn passkey_sign_in_start(&self, ctx: &Ctx) -> Result<CeremonyStart> {
        self.throttle(ctx, Throttled::Login).await?;
        let w = self.webauthn()?;
        let (rcr, state) = w
            .start_discoverable_authentication()
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
        let options = serde_json::to_value(&rcr)
            .map_err(|e| Error::Internal(format!("webauthn options: {e}")))?;
        let state = serde_json::to_string(&state)
            .map_err(|e| Error::Internal(format!("webauthn state: {e}")))?;
        self.begin_ceremony(ctx, None, "sign_in", state, options, None)
            .await
    }

    /// Finish signing in with a passkey: a session (optionally bound to `app_id`).
    pub async fn passkey_sign_in_finish(
        &self,
        ctx: &Ctx,
        ceremony: &str,
        credential: &serde_json::Value,
        app_id: Option<&AppId>,
    ) -> Result<LoggedIn> {
        self.throttle(ctx, Throttled::Login).await?;
        let w = self.webauthn()?;
        let c = self.end_ceremony(ctx, "sign_in", ceremony).await?;
        let state: DiscoverableAuthentication = serde_json::from_str(&c.state)
            .map_err(|e| Error::Internal(format!("webauthn state: {e}")))?;
        let auth: PublicKeyCredential =
            serde_json::from_value(credential.clone()).map_err(|_| bad_credential())?;
        let (user, _) = w
            .identify_discoverable_authentication(&auth)
            .map_err(|_| bad_credential())?;
        let identity_id = IdentityId(user);
        let stored = self.read().await?.list_passkeys(identity_id).await?;
        let keys: Vec<(Vec<u8>, Passkey)> = stored
            .iter()
            .filter_map(|k| {
                serde_json::from_str::<Passkey>(&k.credential)
                    .ok()
                    .map(|p| (k.cred_id.clone(), p))
            })
            .collect();
        let discoverable: Vec<DiscoverableKey> =
            keys.iter().map(|(_, k)| DiscoverableKey::from(k)).collect();
        let result = w
            .finish_discoverable_authentication(&auth, state, &discoverable)
            .map_err(|_| bad_credential())?;
        let identity = self
            .read()
            .await?
            .get_identity(identity_id)
            .await?
            .ok_or_else(bad_credential)?;
        if identity.lockout.is_locked(ctx.now) {
            return Err(Error::Locked {
                retry_after_secs: identity
                    .lockout
                    .locked_until
                    .map(|u| super::throttle::ceil_secs(u - ctx.now))
                    .unwrap_or(60),
            });
        }
        let mut tx = self.begin().await?;
        self.record_passkey_use(&mut *tx, ctx, &keys, &result)
            .await?;
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
            .start_session(&mut *tx, ctx, &identity, bound, &["hwk", "user", "mfa"])
            .await?;
        tx.commit().await?;
        Ok(li)
    }

    async fn record_passkey_use(
        &self,
        tx: &mut dyn crate::store::Queries,
        ctx: &Ctx,
        keys: &[(Vec<u8>, Passkey)],
        result: &AuthenticationResult,
    ) -> Result<()> {
        for (id, k) in keys {
            if k.cred_id().as_ref() == result.cred_id().as_ref() {
                let mut k = k.clone();
                k.update_credential(result);
                let json = serde_json::to_string(&k)
                    .map_err(|e| Error::Internal(format!("passkey: {e}")))?;
                tx.update_passkey(id, &json, ctx.now).await?;
            }
        }
        Ok(())
    }

    /// Start the passkey second step of a login (its challenge from the password step).
    pub async fn passkey_second_step_start(
        &self,
        ctx: &Ctx,
        challenge: &str,
    ) -> Result<CeremonyStart> {
        self.throttle(ctx, Throttled::SecondFactor).await?;
        let w = self.webauthn()?;
        let c = self.live_challenge(ctx, challenge).await?;
        let keys: Vec<Passkey> = self
            .read()
            .await?
            .list_passkeys(c.identity_id)
            .await?
            .iter()
            .filter_map(|k| serde_json::from_str(&k.credential).ok())
            .collect();
        if keys.is_empty() {
            return Err(Error::invalid("method", "This ID has no passkey."));
        }
        let (rcr, state) = w
            .start_passkey_authentication(&keys)
            .map_err(|e| Error::Internal(format!("webauthn: {e}")))?;
        let options = serde_json::to_value(&rcr)
            .map_err(|e| Error::Internal(format!("webauthn options: {e}")))?;
        let state = serde_json::to_string(&state)
            .map_err(|e| Error::Internal(format!("webauthn state: {e}")))?;
        // keyed by the login challenge: the second step names only the challenge
        self.begin_ceremony(
            ctx,
            Some(c.identity_id),
            "second_factor",
            state,
            options,
            Some(challenge.to_string()),
        )
        .await
    }

    /// Whether `credential` (the browser's answer, JSON) is a valid assertion for the passkey
    /// ceremony of this login challenge.
    pub(super) async fn check_passkey_step(
        &self,
        ctx: &Ctx,
        c: &LoginChallenge,
        challenge: &str,
        credential: &str,
    ) -> Result<bool> {
        let w = self.webauthn()?;
        let Ok(cer) = self.end_ceremony(ctx, "second_factor", challenge).await else {
            return Ok(false);
        };
        if cer.identity_id != Some(c.identity_id) {
            return Ok(false);
        }
        let state: PasskeyAuthentication = serde_json::from_str(&cer.state)
            .map_err(|e| Error::Internal(format!("webauthn state: {e}")))?;
        let Ok(auth) = serde_json::from_str::<PublicKeyCredential>(credential) else {
            return Ok(false);
        };
        let Ok(result) = w.finish_passkey_authentication(&auth, &state) else {
            return Ok(false);
        };
        let stored = self.read().await?.list_passkeys(c.identity_id).await?;
        let keys: Vec<(Vec<u8>, Passkey)> = stored
            .iter()
            .filter_map(|k| {
                serde_json::from_str::<Passkey>(&k.credential)
                    .ok()
                    .map(|p| (k.cred_id.clone(), p))
            })
            .collect();
        let mut tx = self.begin().await?;
        self.record_passkey_use(&mut *tx, ctx, &keys, &result)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Printed without its secrets.
impl std::fmt::Debug for CeremonyStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeremonyStart")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
