//! Journey: API keys — a member makes personal keys that act as them in one app; an admin makes
//! service keys that act as the app's "service" principal with admin rights. Keys are shown
//! once, stored hashed, scoped (read / write / admin / scim), expire and are revoked; every
//! creation, use from a new address and revocation is audited.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::types::*;
use time::{Duration, OffsetDateTime};

/// The start of every key: recognisable in logs, leaks and secret scanners.
pub const KEY_PREFIX: &str = "rk_live_";

/// The key a request authenticated with (`Principal::key`).
#[derive(Debug, Clone)]
pub struct KeyGrant {
    pub key_id: uuid::Uuid,
    pub app_id: AppId,
    pub kind: ApiKeyKind,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// For an OpenID Connect access token: its scopes (it may reach only the routes they name).
    pub oidc_scopes: Option<Vec<String>>,
}

impl KeyGrant {
    pub fn has(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// What to make.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub kind: ApiKeyKind,
    /// `None`: read and write.
    pub scopes: Option<Vec<ApiScope>>,
    pub expires_at: Option<OffsetDateTime>,
}

/// A new key and its secret, shown this once.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

impl Principal {
    /// The ID acting, `None` for a service key (no person).
    pub fn person(&self) -> Option<IdentityId> {
        match &self.key {
            Some(k) if k.kind == ApiKeyKind::Service => None,
            _ => Some(self.identity_id),
        }
    }

    /// Whether the request came with an API key (or token) carrying `scope`; sessions carry all.
    pub fn allows(&self, scope: ApiScope) -> bool {
        self.key.as_ref().is_none_or(|k| k.has(scope))
    }

    /// Managing API keys and admins: a session, or a key with the `admin` scope (or `scim`:
    /// an identity provider moves people in and out of the Admins group).
    pub(super) fn require_admin_scope(&self) -> Result<()> {
        if self.allows(ApiScope::Admin) || self.key.as_ref().is_some_and(|k| k.has(ApiScope::Scim))
        {
            Ok(())
        } else {
            Err(Error::InsufficientScope("admin"))
        }
    }
}

impl Principal {
    /// Managing API keys: a session, or a key with the `admin` scope (never `scim` alone).
    fn require_key_scope(&self) -> Result<()> {
        if self.allows(ApiScope::Admin) {
            Ok(())
        } else {
            Err(Error::InsufficientScope("admin"))
        }
    }
}

/// The app a key names (`rk_live_<app>_<secret>`), if it has the shape of a key.
pub fn key_app(raw: &str) -> Option<AppId> {
    let rest = raw.strip_prefix(KEY_PREFIX)?;
    let (app, secret) = rest.split_once('_')?;
    if secret.len() < 40 {
        return None;
    }
    AppId::parse(app).ok()
}

/// Uses closer together than this from the same address are not written down again.
const USE_RECORD_INTERVAL: Duration = Duration::minutes(1);

impl Services {
    /// Make a key. Personal: any active member, for themselves. Service: admins only.
    pub async fn create_api_key(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        req: NewApiKey,
    ) -> Result<IssuedApiKey> {
        p.require_key_scope()?;
        let me = self.require_member(p, app_id).await?;
        let member_id = match req.kind {
            ApiKeyKind::Service if !me.admin => return Err(Error::NotFound),
            ApiKeyKind::Service => None,
            ApiKeyKind::Personal if p.person().is_none() => {
                return Err(Error::invalid(
                    "kind",
                    "A service key cannot make personal keys; use a session of the member.",
                ));
            }
            ApiKeyKind::Personal => Some(me.id),
        };
        let name = req.name.trim().to_string();
        let mut errors = Vec::new();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(crate::FieldError {
                field: "name",
                message: "Give the key a name of 1 to 100 characters.".into(),
            });
        }
        if req.expires_at.is_some_and(|e| e <= ctx.now) {
            errors.push(crate::FieldError {
                field: "expires_at",
                message: "The expiry must be in the future.".into(),
            });
        }
        let mut scopes = req
            .scopes
            .unwrap_or_else(|| vec![ApiScope::Read, ApiScope::Write]);
        scopes.push(ApiScope::Read);
        scopes.sort();
        scopes.dedup();
        if req.kind == ApiKeyKind::Personal && scopes.contains(&ApiScope::Scim) {
            errors.push(crate::FieldError {
                field: "scopes",
                message: "Only service keys can have the scim scope.".into(),
            });
        }
        // a key cannot make a key with more than it has itself
        if let Some(k) = &p.key
            && scopes.iter().any(|s| !k.has(*s))
        {
            return Err(Error::InsufficientScope("admin"));
        }
        super::invalid(errors)?;

        let secret = format!("{KEY_PREFIX}{app_id}_{}", new_token());
        let prefix: String = secret
            .chars()
            .take(KEY_PREFIX.len() + app_id.as_str().len() + 5)
            .collect();
        let key = ApiKey {
            id: uuid::Uuid::now_v7(),
            app_id: app_id.clone(),
            kind: req.kind,
            member_id,
            name,
            prefix,
            key_hash: hash_token(&secret),
            scopes,
            created_by: p.person(),
            created_at: ctx.now,
            expires_at: req.expires_at,
            revoked_at: None,
            last_used_at: None,
            last_used_addr: None,
        };
        let mut tx = self.begin().await?;
        tx.insert_api_key(&key).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "api_key.created",
            Some(key.id.to_string()),
            serde_json::json!({
                "name": key.name,
                "kind": key.kind.as_str(),
                "scopes": ApiScope::join(&key.scopes),
                "expires_at": key.expires_at.map(|e| e.unix_timestamp()),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedApiKey { key, secret })
    }

    /// Keys of one kind: service keys (admins), or the caller's own personal keys. Newest
    /// first, revoked ones too; `before` is the last key of the previous page.
    pub async fn list_api_keys(
        &self,
        p: &Principal,
        app_id: &AppId,
        kind: ApiKeyKind,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<ApiKey>> {
        let me = self.require_member(p, app_id).await?;
        let member = match kind {
            ApiKeyKind::Service if !me.admin => return Err(Error::NotFound),
            ApiKeyKind::Service => None,
            ApiKeyKind::Personal if p.person().is_none() => return Ok(Vec::new()),
            ApiKeyKind::Personal => Some(me.id),
        };
        let mut r = self.read().await?;
        let before = match before {
            Some(id) => match r.get_api_key(app_id, id).await? {
                Some(k) => Some((k.created_at, k.id)),
                None => {
                    return Err(Error::invalid(
                        "cursor",
                        "The cursor is not valid; start from the first page.",
                    ));
                }
            },
            None => None,
        };
        Ok(
            r.list_api_keys(app_id, kind, member, before, limit.clamp(1, 200))
                .await?,
        )
    }

    /// Revoke a key: its owner, or an admin of the app. Revoked keys stop working at once.
    pub async fn revoke_api_key(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: uuid::Uuid,
    ) -> Result<ApiKey> {
        p.require_key_scope()?;
        let me = self.require_member(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut key = tx.get_api_key(app_id, id).await?.ok_or(Error::NotFound)?;
        let own = key.member_id.is_some() && key.member_id == Some(me.id);
        if !own && !me.admin {
            return Err(Error::NotFound);
        }
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        tx.revoke_api_key(app_id, id, ctx.now).await?;
        key.revoked_at = Some(ctx.now);
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "api_key.revoked",
            Some(key.id.to_string()),
            serde_json::json!({"name": key.name, "kind": key.kind.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Who an API key acts as. Unknown, revoked and expired keys, and personal keys whose
    /// member is no longer Active, are all 401.
    pub async fn authenticate_key(&self, ctx: &Ctx, raw: &str) -> Result<Principal> {
        if raw.len() > 200 || key_app(raw).is_none() {
            return Err(Error::Unauthenticated);
        }
        let mut r = self.read().await?;
        let key = r
            .find_api_key_by_hash(&hash_token(raw))
            .await?
            .filter(|k| k.live(ctx.now))
            .ok_or(Error::Unauthenticated)?;
        let grant = KeyGrant {
            key_id: key.id,
            app_id: key.app_id.clone(),
            kind: key.kind,
            name: key.name.clone(),
            scopes: key.scopes.clone(),
            oidc_scopes: None,
        };
        let principal = match key.member_id {
            Some(member_id) => {
                let member = r
                    .get_member(&key.app_id, member_id)
                    .await?
                    .filter(|m| m.status == MemberStatus::Active)
                    .ok_or(Error::Unauthenticated)?;
                let identity_id = member.identity_id.ok_or(Error::Unauthenticated)?;
                let identity = r
                    .get_identity(identity_id)
                    .await?
                    .ok_or(Error::Unauthenticated)?;
                Principal {
                    identity_id,
                    email: identity.email,
                    first_name: identity.first_name,
                    last_name: identity.last_name,
                    session_id: SessionId(uuid::Uuid::nil()),
                    session_app: Some(key.app_id.clone()),
                    terms_pending: None,
                    session_started: key.created_at,
                    key: Some(grant),
                    amr: Vec::new(),
                }
            }
            None => Principal {
                identity_id: IdentityId(uuid::Uuid::nil()),
                email: Email::parse("service@roster.invalid")?,
                first_name: key.name.clone(),
                last_name: None,
                session_id: SessionId(uuid::Uuid::nil()),
                session_app: Some(key.app_id.clone()),
                terms_pending: None,
                session_started: key.created_at,
                key: Some(grant),
                amr: Vec::new(),
            },
        };
        drop(r);
        self.note_key_use(ctx, &key).await?;
        crate::ops::note_actor(&principal);
        Ok(principal)
    }

    /// Write down the use (at most once a minute per address) and audit a new address.
    async fn note_key_use(&self, ctx: &Ctx, key: &ApiKey) -> Result<()> {
        let addr = ctx.client_addr.as_deref().unwrap_or("unknown");
        let recent = key
            .last_used_at
            .is_some_and(|t| ctx.now - t < USE_RECORD_INTERVAL);
        if recent && key.last_used_addr.as_deref() == Some(addr) {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        if tx.record_api_key_use(key.id, addr, ctx.now).await? {
            self.audit(
                &mut *tx,
                ctx,
                Some(&key.app_id),
                Actor::Anonymous(&format!("API key “{}”", key.name)),
                "api_key.new_address",
                Some(key.id.to_string()),
                serde_json::json!({"name": key.name, "address": addr}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The member a service key stands for in its app: an admin with no person behind it.
    pub(super) fn service_member(p: &Principal, app_id: &AppId) -> Member {
        Member {
            id: MemberId(uuid::Uuid::nil()),
            app_id: app_id.clone(),
            identity_id: None,
            email: p.email.clone(),
            first_name: Some(p.first_name.clone()),
            last_name: None,
            kind: MemberKind::User,
            admin: true,
            status: MemberStatus::Active,
            holds_seat: false,
            created_at: p.session_started,
            last_login_at: None,
        }
    }
}
