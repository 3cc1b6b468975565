//! The services: one method per journey step. Each write is one transaction that also writes its
//! audit row and its outbox message, so either everything happens or nothing does.
//!
//! One module per journey, each adding its steps to [`Services`]: `apps`, `seats`,
//! `invitations`, `accept`, `identity`, `members`, `profile`, `account` (sessions, leave an
//! app), `api_keys`, `password` (forgot, reset, change), `login_email`, `terms`, `audit`, `throttle`, and the OpenID Connect provider
//! (`oidc`: clients, authorize, consent; `oidc_tokens`; `oidc_access`; `oidc_keys`;
//! `oidc_logout`), and the operator console (`operator`). This module holds what they
//! share: the settings, the request context, the principal, and the transaction and audit
//! helpers.

use crate::error::{Error, FieldError, Result};
use crate::model::*;
use crate::password::{HashCost, Hasher, PasswordPolicy, PasswordPreset};
use crate::store::{Queries, Store, Tx};
use crate::types::*;
use serde::Serialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

mod accept;
mod account;
mod api_keys;
mod apps;
mod audit;
mod bulk;
mod idempotency;
mod identity;
mod invitations;
mod login_email;
mod members;
mod notifications;
mod oidc;
mod oidc_access;
mod oidc_keys;
mod oidc_logout;
mod oidc_tokens;
mod operator;
mod passkeys;
mod password;
mod profile;
mod scim;
mod scim_provision;
mod seats;
mod second_step;
mod terms;
mod throttle;
mod two_step;
mod webhooks;

pub use accept::NewIdentityForm;
pub use account::SessionInfo;
pub use api_keys::{IssuedApiKey, KEY_PREFIX, KeyGrant, NewApiKey, key_app};
pub use apps::{AdminHome, AppHome, CreateApp};
pub use bulk::BULK_MAX_ROWS;
pub use idempotency::{IDEMPOTENCY_TTL, valid_idempotency_key};
pub use identity::{LoggedIn, Me};
pub use invitations::{InvitationInfo, InviteRequest, IssuedInvitation};
pub use members::{MemberUpdate, StatusChange};
pub use notifications::{NotificationSettings, Unsubscription};
pub use oidc::{
    AppChoice, AuthorizeError, AuthorizeRequest, NewClient, OidcSettings, RegisteredClient,
    SCOPES_SUPPORTED, ValidAuthorize,
};
pub use oidc_keys::{KEY_PUBLISH_LEAD, KEY_RETENTION};
pub use oidc_logout::LogoutPlan;
pub use oidc_tokens::{ClientAuth, OauthError, TokenRequest, TokenResponse};
pub use operator::{IdSupportView, OperatorAccess, OperatorAppView, OperatorInvited, SeatAnswer};
pub use passkeys::CeremonyStart;
pub use password::{PASSWORD_HISTORY, RESET_TTL, ResetRequest};
pub use profile::{
    MAX_LOGO_BYTES, ProfileDetails, ProfileView, SetupPlan, sniff_image, time_zones,
};
pub use scim::{
    ScimGroup, ScimUser, ScimUserInput, display_name as scim_display_name, scim_active,
};
pub use seats::LedgerLine;
pub use second_step::{SecondStep, TRUST_TTL};
pub use terms::TermsView;
pub use throttle::{ThrottleLimits, Throttled};
pub use two_step::{Enrolled, TotpEnrolment};
pub use webhooks::{
    CreatedWebhook, WEBHOOK_MAX_ATTEMPTS, check_webhook_url, is_public_ip, webhook_retry_delay,
};

/// Whether the security question is asked when an ID is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionMode {
    #[default]
    Required,
    Optional,
    Off,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub product_name: String,
    pub invitation_ttl: Duration,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub terms_version: String,
    pub password_preset: PasswordPreset,
    pub security_question: QuestionMode,
    pub hash_cost: HashCost,
    pub throttle: ThrottleLimits,
    /// Seals secrets kept at rest (authenticator-app secrets).
    pub secret_key: crate::sealed::SecretKey,
    /// The public base URL (the WebAuthn relying party: its host and origin).
    pub public_url: String,
    /// How long an admin notification waits for more of its kind to group into one message.
    pub notify_group_window: Duration,
    /// Webhook endpoints may be on private networks and plain http (development, tests).
    pub webhooks_allow_private: bool,
    /// Token lifetimes and key rotation of the OpenID Connect provider.
    pub oidc: OidcSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            product_name: "Roster".into(),
            invitation_ttl: Duration::days(7),
            session_idle: Duration::hours(12),
            session_absolute: Duration::days(14),
            terms_version: "2026-11-01".into(),
            password_preset: PasswordPreset::Seed,
            security_question: QuestionMode::Required,
            hash_cost: HashCost::default(),
            throttle: ThrottleLimits::default(),
            secret_key: crate::sealed::SecretKey::random(),
            public_url: "http://localhost:8080".into(),
            notify_group_window: Duration::seconds(30),
            webhooks_allow_private: false,
            oidc: OidcSettings::default(),
        }
    }
}

/// Per-request facts passed in by the caller: the time and who is asking from where.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now: OffsetDateTime,
    pub client_addr: Option<String>,
    /// The request's User-Agent (at most 256 characters), recorded on new sessions.
    pub user_agent: Option<String>,
}

impl Ctx {
    pub fn at(now: OffsetDateTime) -> Self {
        Ctx {
            now,
            client_addr: None,
            user_agent: None,
        }
    }
}

/// The authenticated ID behind a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub identity_id: IdentityId,
    pub email: Email,
    pub first_name: String,
    pub last_name: Option<String>,
    pub session_id: SessionId,
    pub session_app: Option<AppId>,
    /// The terms version this ID must agree to before going on, if it has not yet.
    pub terms_pending: Option<String>,
    /// When this session's login happened (some changes need a recent one); for an API key,
    /// when the key was made.
    pub session_started: OffsetDateTime,
    /// The API key the request came with (`None`: a session). A service key's principal has no
    /// person behind it: its `identity_id` is nil and [`Principal::person`] is `None`.
    pub key: Option<KeyGrant>,
    /// How the session's login was made (`amr`); empty for an API key or access token.
    pub amr: Vec<String>,
}

impl Principal {
    pub fn display_name(&self) -> String {
        match &self.last_name {
            Some(l) => format!("{} {}", self.first_name, l),
            None => self.first_name.clone(),
        }
    }
}

/// Who did something, for the audit log.
enum Actor<'a> {
    Id(&'a Principal),
    /// An operator acting in the console: shown to the app as "Roster support".
    Support(&'a Principal),
    Identity(&'a Identity),
    /// The operator's CLI: shown as "Roster support" too, without an actor ID.
    Operator,
    Anonymous(&'a str),
}

pub struct Services {
    store: Arc<dyn Store>,
    hasher: Hasher,
    policy: PasswordPolicy,
    settings: Settings,
    mail_kick: Arc<Notify>,
    /// Notified when webhook deliveries are queued.
    webhook_kick: Arc<Notify>,
    /// Notified when a reserved login attempt settles: waiting attempts retry at once.
    attempt_settled: Notify,
    /// The WebAuthn relying party (`None` when the public URL cannot carry passkeys).
    webauthn: Option<webauthn_rs::Webauthn>,
    /// The current terms version and when it was read (see `terms`).
    terms_cache: std::sync::Mutex<Option<(String, std::time::Instant)>>,
    /// Parsed OpenID Connect signing keys.
    signers: oidc_keys::SignerCache,
    verifiers: oidc_keys::VerifierCache,
}

fn invalid(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// What a search box sent, as text to search for: control characters dropped (never part of a
/// name, an App ID or an address — and a NUL would end SQLite's FTS query and be refused by
/// PostgreSQL), trimmed; `None` when nothing is left.
fn search_text(raw: &str) -> Option<String> {
    let s: String = raw.chars().filter(|c| !c.is_control()).collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Collect field errors from several parses, so the caller hears of all of them at once.
fn collect<T>(errors: &mut Vec<FieldError>, r: Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid(mut e)) => {
            errors.append(&mut e);
            None
        }
        Err(_) => None,
    }
}

impl Services {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self> {
        Ok(Services {
            webauthn: passkeys::relying_party(&settings.product_name, &settings.public_url),
            store,
            hasher: Hasher::new(settings.hash_cost)?,
            policy: PasswordPolicy::from_preset(settings.password_preset),
            settings,
            mail_kick: Arc::new(Notify::new()),
            webhook_kick: Arc::new(Notify::new()),
            attempt_settled: Notify::new(),
            terms_cache: std::sync::Mutex::new(None),
            signers: oidc_keys::SignerCache::default(),
            verifiers: oidc_keys::VerifierCache::default(),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Notified after every commit that queued mail; the outbox worker waits on it.
    pub fn mail_kick(&self) -> Arc<Notify> {
        self.mail_kick.clone()
    }

    /// A 256-bit key for `purpose` (e.g. "flash"), the same on every node: made at random the
    /// first time and kept in the database.
    pub async fn server_key(&self, purpose: &str) -> Result<[u8; 32]> {
        use rand::RngCore;
        let mut candidate = [0u8; 32];
        rand::rng().fill_bytes(&mut candidate);
        let mut tx = self.begin().await?;
        let stored = tx.get_or_insert_secret(purpose, &candidate).await?;
        tx.commit().await?;
        stored
            .try_into()
            .map_err(|_| Error::Internal(format!("server secret {purpose:?} is not 32 bytes")))
    }

    async fn begin(&self) -> Result<Box<dyn Tx>> {
        Ok(self.store.begin().await?)
    }

    async fn read(&self) -> Result<Box<dyn Queries>> {
        Ok(self.store.read().await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: Option<&AppId>,
        actor: Actor<'_>,
        action: &str,
        target: Option<String>,
        details: serde_json::Value,
    ) -> Result<()> {
        let (actor_id, actor_label) = match actor {
            Actor::Id(p) => match &p.key {
                Some(k) if k.kind == ApiKeyKind::Service => {
                    (None, format!("service key “{}”", k.name))
                }
                Some(k) => (
                    Some(p.identity_id),
                    format!("{} (API key “{}”)", p.email, k.name),
                ),
                None => (Some(p.identity_id), p.email.to_string()),
            },
            Actor::Support(p) => (Some(p.identity_id), "Roster support".to_string()),
            Actor::Identity(i) => (Some(i.id), i.email.to_string()),
            // the CLI: no ID, but to the app it is support all the same
            Actor::Operator => (None, "Roster support".to_string()),
            Actor::Anonymous(label) => (None, label.to_string()),
        };
        crate::ops::on_audit(action, actor_id, &details);
        tx.insert_audit(&AuditEvent {
            id: uuid::Uuid::now_v7(),
            at: ctx.now,
            app_id: app.cloned(),
            actor_id,
            actor_label,
            action: action.to_string(),
            target,
            client_addr: ctx.client_addr.clone(),
            user_agent: ctx.user_agent.clone(),
            details,
        })
        .await?;
        Ok(())
    }

    /// Queue a security notice to the owner of `identity` (password changed, email changing,
    /// second steps on or off, ...): each has a "reset my password" way out.
    async fn notify_owner(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        identity: &Identity,
        event: SecurityEvent,
        detail: Option<String>,
    ) -> Result<()> {
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &identity.email,
            Mail::SecurityNotice {
                first_name: identity.first_name.clone(),
                event,
                detail,
            },
            None,
        ))
        .await?;
        Ok(())
    }

    /// Before a completed login: tell the owner when it comes from a browser or program
    /// (User-Agent) that none of the ID's logins of the last 180 days came from. A login without
    /// a User-Agent tells nothing (scripts); the first login of an ID is its acceptance.
    async fn notice_new_sign_in(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        identity: &Identity,
    ) -> Result<()> {
        let Some(ua) = ctx.user_agent.as_deref() else {
            return Ok(());
        };
        let (any, seen) = tx
            .login_history(identity.id, ua, ctx.now - time::Duration::days(180))
            .await?;
        if !any || seen {
            return Ok(());
        }
        let from = ctx.client_addr.as_deref().unwrap_or("an unknown address");
        self.notify_owner(
            tx,
            ctx,
            identity,
            SecurityEvent::NewSignIn,
            Some(format!("{ua} ({from})")),
        )
        .await
    }

    /// The principal's Active membership of the app, read through `q`; anything else is
    /// NotFound. An app that requires two-step verification is 403
    /// `second_factor_enrolment_required` to members who have not set it up.
    async fn member_in(q: &mut dyn Queries, p: &Principal, app_id: &AppId) -> Result<Member> {
        if let Some(k) = &p.key {
            if &k.app_id != app_id {
                return Err(Error::NotFound);
            }
            if k.kind == ApiKeyKind::Service {
                q.get_app(app_id).await?.ok_or(Error::NotFound)?;
                Self::check_not_suspended(q, app_id).await?;
                return Ok(Self::service_member(p, app_id));
            }
        }
        let access = match q.member_access(app_id, p.identity_id).await? {
            Some(a) if a.member.status == MemberStatus::Active => a,
            _ => return Err(Error::NotFound),
        };
        if access.app_suspended {
            return Err(Error::AppSuspended);
        }
        let m = access.member;
        if access.app_requires_second_factor
            && !q.second_factor_status(p.identity_id).await?.enabled()
        {
            return Err(Error::SecondFactorEnrolmentRequired {
                app_id: app_id.to_string(),
            });
        }
        Ok(m)
    }

    /// Seat accounting for a member about to be Invited or Active.
    fn hold_seat_if_needed(&self, app: &mut App, member: &mut Member) -> Result<()> {
        let should = Member::should_hold_seat(member.kind, member.status);
        if should && !member.holds_seat {
            app.check_seat_free()?;
            app.seats_held += 1;
            member.holds_seat = true;
        } else if !should && member.holds_seat {
            app.seats_held -= 1;
            member.holds_seat = false;
        }
        Ok(())
    }
}
