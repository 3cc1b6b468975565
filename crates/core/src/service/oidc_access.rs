//! Journey: "Sign in with your Roster ID", the tokens in use — access tokens accepted by
//! Roster's own REST API (the member in one app, narrowed by scope), userinfo, introspection
//! (RFC 7662) and revocation (RFC 7009).

use super::oidc_tokens::OResult;
use super::{Actor, ClientAuth, Ctx, KeyGrant, OauthError, Principal, Services, Throttled};
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::hash_token;
use crate::types::*;
use serde_json::{Value, json};

impl Services {
    /// A live access token: its claims and grant (signature, expiry, grant not revoked).
    async fn live_access_token(&self, ctx: &Ctx, token: &str) -> Result<(Value, OauthGrant)> {
        let v = self.verify_jwt(ctx.now, token, Some("at+jwt")).await?;
        let exp = v.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if ctx.now.unix_timestamp() >= exp {
            return Err(Error::Unauthenticated);
        }
        let sid = v
            .claims
            .get("sid")
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or(Error::Unauthenticated)?;
        let grant = self
            .read()
            .await?
            .get_grant(sid)
            .await?
            .filter(|g| g.revoked_at.is_none())
            .ok_or(Error::Unauthenticated)?;
        Ok((v.claims, grant))
    }

    /// An access token sent to Roster's REST API: the member it acts as, in its one app, with
    /// the rights its scopes allow (`members:read` reads; `members:write`, `invitations:write`
    /// write).
    pub async fn authenticate_access_token(&self, ctx: &Ctx, token: &str) -> Result<Principal> {
        let (_, grant) = self.live_access_token(ctx, token).await?;
        let mut r = self.read().await?;
        r.get_member(&grant.app_id, grant.member_id)
            .await?
            .filter(|m| {
                m.status == MemberStatus::Active && m.identity_id == Some(grant.identity_id)
            })
            .ok_or(Error::Unauthenticated)?;
        let identity = r
            .get_identity(grant.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let client = r.get_oidc_client(&grant.client_id).await?;
        drop(r);
        let mut scopes = Vec::new();
        if grant
            .scopes
            .iter()
            .any(|s| s.starts_with("members:") || s.starts_with("invitations:"))
        {
            scopes.push(ApiScope::Read);
        }
        if grant
            .scopes
            .iter()
            .any(|s| s == "members:write" || s == "invitations:write")
        {
            scopes.push(ApiScope::Write);
        }
        crate::ops::note_actor_id(identity.id);
        Ok(Principal {
            identity_id: identity.id,
            email: identity.email,
            first_name: identity.first_name,
            last_name: identity.last_name,
            session_id: SessionId(uuid::Uuid::nil()),
            session_app: Some(grant.app_id.clone()),
            terms_pending: None,
            session_started: grant.auth_time,
            key: Some(KeyGrant {
                key_id: grant.id,
                app_id: grant.app_id.clone(),
                kind: ApiKeyKind::Personal,
                name: client
                    .map(|c| c.name)
                    .unwrap_or_else(|| grant.client_id.clone()),
                scopes,
                oidc_scopes: Some(grant.scopes.clone()),
            }),
            amr: grant.amr.clone(),
        })
    }

    /// `/oauth2/userinfo`: the claims of the token's ID and membership.
    pub async fn userinfo(&self, ctx: &Ctx, token: &str) -> Result<Value> {
        let (claims, grant) = self.live_access_token(ctx, token).await?;
        let mut r = self.read().await?;
        if r.app_suspended_at(&grant.app_id).await?.is_some() {
            return Err(Error::Unauthenticated);
        }
        let member = r
            .get_member(&grant.app_id, grant.member_id)
            .await?
            .filter(|m| m.status == MemberStatus::Active)
            .ok_or(Error::Unauthenticated)?;
        let identity = r
            .get_identity(grant.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let app = r
            .get_app(&grant.app_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let mut out = json!({
            "sub": claims.get("sub").cloned().unwrap_or(Value::Null),
            "app_id": app.app_id.as_str(), "app_name": app.name,
            "member_id": member.id.0.to_string(),
            "role": if member.admin { "admin" } else { "user" },
            "kind": if member.kind == MemberKind::Partner { "partner" } else { "user" },
        });
        if grant.scopes.iter().any(|s| s == "email") {
            out["email"] = json!(identity.email.as_str());
            out["email_verified"] = json!(true);
        }
        if grant.scopes.iter().any(|s| s == "profile") {
            let name = match &identity.last_name {
                Some(l) => format!("{} {l}", identity.first_name),
                None => identity.first_name.clone(),
            };
            out["name"] = json!(name);
            out["given_name"] = json!(identity.first_name);
            if let Some(l) = &identity.last_name {
                out["family_name"] = json!(l);
            }
        }
        Ok(out)
    }

    /// `/oauth2/introspect` (RFC 7662), for confidential clients: `{"active": false}` for
    /// anything not live right now.
    pub async fn introspect(&self, ctx: &Ctx, auth: ClientAuth, token: &str) -> OResult<Value> {
        let client = match self.authenticate_client(&auth).await {
            Ok(c) if !c.is_public() => c,
            _ => {
                self.throttle(ctx, Throttled::Token).await?;
                return Err(OauthError::client());
            }
        };
        let inactive = json!({"active": false});
        if token.contains('.') {
            let Ok((claims, grant)) = self.live_access_token(ctx, token).await else {
                return Ok(inactive);
            };
            // a client learns only about its own tokens
            if grant.client_id != client.client_id {
                return Ok(inactive);
            }
            let mut r = self.read().await?;
            let active = r
                .get_member(&grant.app_id, grant.member_id)
                .await?
                .is_some_and(|m| m.status == MemberStatus::Active)
                && r.app_suspended_at(&grant.app_id).await?.is_none();
            if !active {
                return Ok(inactive);
            }
            let mut out = claims;
            out["active"] = json!(true);
            out["token_type"] = json!("Bearer");
            return Ok(out);
        }
        let mut r = self.read().await?;
        let Some(t) = r.find_refresh_token(&hash_token(token)).await? else {
            return Ok(inactive);
        };
        let grant = r.get_grant(t.grant_id).await?;
        let live = t.used_at.is_none() && ctx.now < t.expires_at;
        match grant {
            Some(g) if live && g.revoked_at.is_none() && g.client_id == client.client_id => {
                Ok(json!({
                    "active": true, "token_type": "refresh_token", "client_id": g.client_id,
                    "sub": self.oidc_subject(g.identity_id), "scope": g.scopes.join(" "),
                    "exp": t.expires_at.unix_timestamp(), "iat": t.created_at.unix_timestamp(),
                    "sid": g.id.to_string(), "app_id": g.app_id.as_str(),
                }))
            }
            _ => Ok(inactive),
        }
    }

    /// `/oauth2/revoke` (RFC 7009): revoking a refresh or access token revokes its grant (every
    /// token issued from that sign-in). Unknown tokens are not an error.
    pub async fn revoke_token(&self, ctx: &Ctx, auth: ClientAuth, token: &str) -> OResult<()> {
        let client = match self.authenticate_client(&auth).await {
            Ok(c) => c,
            Err(e) => {
                self.throttle(ctx, Throttled::Token).await?;
                return Err(e);
            }
        };
        let grant_id = if token.contains('.') {
            match self.live_access_token(ctx, token).await {
                Ok((_, g)) => Some(g.id),
                Err(_) => None,
            }
        } else {
            self.read()
                .await?
                .find_refresh_token(&hash_token(token))
                .await?
                .map(|t| t.grant_id)
        };
        let Some(grant_id) = grant_id else {
            return Ok(());
        };
        let mut tx = self.begin().await?;
        let Some(g) = tx
            .get_grant(grant_id)
            .await?
            .filter(|g| g.client_id == client.client_id)
        else {
            return Ok(());
        };
        if tx.revoke_grant(g.id, ctx.now).await? {
            self.audit(
                &mut *tx,
                ctx,
                Some(&g.app_id),
                Actor::Anonymous(&client.name),
                "oidc.token_revoked",
                Some(client.client_id.clone()),
                json!({"grant": g.id}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
