//! Journey: "Sign in with your Roster ID", the token endpoint — authorization code with
//! PKCE, refresh tokens rotated with reuse detection, and the tokens they issue. What uses the
//! tokens afterwards (userinfo, introspection, revocation, Roster's own REST API) is in
//! `oidc_access`.

use super::oidc_keys::{JwtSigner, sign_off_thread};
use super::{Actor, Ctx, Services, Throttled};
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::types::*;
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An OAuth error answer (RFC 6749 §5.2): `{"error", "error_description"}` with this status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    /// Seconds to wait (429).
    pub retry_after: Option<i64>,
}

impl OauthError {
    fn new(status: u16, error: &'static str, description: &str) -> Self {
        OauthError {
            status,
            error,
            description: description.to_string(),
            retry_after: None,
        }
    }
    fn grant(description: &str) -> Self {
        Self::new(400, "invalid_grant", description)
    }
    pub(super) fn client() -> Self {
        Self::new(401, "invalid_client", "Client authentication failed.")
    }
}

impl From<Error> for OauthError {
    fn from(e: Error) -> Self {
        match e {
            Error::RateLimited { retry_after_secs } => OauthError {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    429,
                    "slow_down",
                    "Too many failed requests from this address.",
                )
            },
            other => {
                tracing::error!(error = %other, "token endpoint failed");
                Self::new(
                    500,
                    "server_error",
                    "The request could not be completed; try again.",
                )
            }
        }
    }
}

impl From<crate::error::StoreError> for OauthError {
    fn from(e: crate::error::StoreError) -> Self {
        Error::Store(e).into()
    }
}

pub(super) type OResult<T> = std::result::Result<T, OauthError>;

/// How the client authenticated (client_secret_basic, client_secret_post, or none).
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    pub client_id: Option<String>,
    pub secret: Option<String>,
}

/// The form of `/oauth2/token`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenRequest {
    #[serde(default)]
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

/// A successful token answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
}

/// PKCE S256: BASE64URL(SHA256(verifier)) == challenge.
fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    if !(43..=128).contains(&verifier.len())
        || !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        return false;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    crate::token::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

impl Services {
    /// The stable, opaque `sub` of an ID (the same for every client; not its email or id).
    pub fn oidc_subject(&self, identity: IdentityId) -> String {
        let mac = self
            .settings
            .secret_key
            .mac(&[b"oidc-sub", identity.0.as_bytes()]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..mac.len().min(18)])
    }

    /// Which client is asking: its secret checked (basic or post), or a public client.
    pub(super) async fn authenticate_client(&self, auth: &ClientAuth) -> OResult<OidcClient> {
        let id = auth.client_id.as_deref().ok_or_else(OauthError::client)?;
        let client = self.oidc_client(id).await?.ok_or_else(OauthError::client)?;
        match (&client.secret_hash, auth.secret.as_deref()) {
            (None, None) => Ok(client),
            (Some(h), Some(s)) if crate::token::constant_time_eq(h, &hash_token(s)) => Ok(client),
            _ => Err(OauthError::client()),
        }
    }

    /// `/oauth2/token`. Failures count towards the client address's throttle.
    pub async fn token(
        &self,
        ctx: &Ctx,
        auth: ClientAuth,
        req: TokenRequest,
    ) -> OResult<TokenResponse> {
        let r = match self.authenticate_client(&auth).await {
            Ok(client) => match req.grant_type.as_str() {
                "authorization_code" => self.redeem_code(ctx, &client, &req).await,
                "refresh_token" => self.redeem_refresh(ctx, &client, &req).await,
                "" => Err(OauthError::new(
                    400,
                    "invalid_request",
                    "grant_type is required.",
                )),
                _ => Err(OauthError::new(
                    400,
                    "unsupported_grant_type",
                    "Use authorization_code or refresh_token.",
                )),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = &r
            && e.status < 500
        {
            self.throttle(ctx, Throttled::Token).await?;
        }
        r
    }

    async fn redeem_code(
        &self,
        ctx: &Ctx,
        client: &OidcClient,
        req: &TokenRequest,
    ) -> OResult<TokenResponse> {
        let code = req
            .code
            .as_deref()
            .filter(|c| c.len() <= 128)
            .ok_or_else(|| OauthError::grant("The code is missing."))?;
        // before the transaction: making a key writes, and a key is parsed once
        let signers = self.token_signers(ctx, client).await?;
        // one transaction: the code is used, checked and its tokens issued, or nothing is
        // (a dropped transaction leaves the code as it was)
        let mut tx = self.begin().await?;
        let Some(c) = tx.use_auth_code(&hash_token(code), ctx.now).await? else {
            return Err(OauthError::grant("The code is not valid."));
        };
        if c.client_id != client.client_id {
            // another client's code: neither used up nor taken as a replay
            return Err(OauthError::grant("The code is not valid for this request."));
        }
        if c.used_at.is_some() {
            // a second use: whoever holds it may have stolen it; revoke what the first issued
            let grant = tx.get_grant(c.grant_id).await?;
            let revoked = tx.revoke_grant(c.grant_id, ctx.now).await?;
            if let (true, Some(g)) = (revoked, grant) {
                self.queue_logouts(&mut *tx, ctx, &[g]).await?;
            }
            self.audit(
                &mut *tx,
                ctx,
                None,
                Actor::Anonymous(&client.name),
                "oidc.code_reused",
                Some(client.client_id.clone()),
                json!({"grant": c.grant_id, "revoked": revoked}),
            )
            .await?;
            tx.commit().await?;
            return Err(OauthError::grant("The code was already used."));
        }
        let refused = if req.redirect_uri.as_deref() != Some(c.redirect_uri.as_str())
            || ctx.now >= c.expires_at
        {
            Some("The code is not valid for this request.")
        } else {
            match (&c.code_challenge, req.code_verifier.as_deref()) {
                (Some(ch), Some(v)) if pkce_ok(v, ch) => None,
                (Some(_), _) => Some("The code_verifier does not match."),
                (None, Some(_)) => Some("No code_challenge was sent."),
                (None, None) if client.is_public() => Some("PKCE is required."),
                (None, None) => None,
            }
        };
        if let Some(why) = refused {
            // its own client misused it: it is used up
            tx.commit().await?;
            return Err(OauthError::grant(why));
        }
        let Some(grant) = tx
            .get_grant(c.grant_id)
            .await?
            .filter(|g| g.revoked_at.is_none())
        else {
            tx.commit().await?;
            return Err(OauthError::grant("The sign-in was revoked."));
        };
        let out = self
            .issue_tokens(&mut *tx, ctx, client, &grant, "oidc.tokens_issued")
            .await;
        Self::settle(tx, out, signers).await
    }

    async fn redeem_refresh(
        &self,
        ctx: &Ctx,
        client: &OidcClient,
        req: &TokenRequest,
    ) -> OResult<TokenResponse> {
        let raw = req
            .refresh_token
            .as_deref()
            .filter(|t| t.len() <= 128)
            .ok_or_else(|| OauthError::grant("The refresh_token is missing."))?;
        let signers = self.token_signers(ctx, client).await?;
        // one transaction: a failure (the database, a suspended app) leaves the token usable
        let mut tx = self.begin().await?;
        let Some(t) = tx.use_refresh_token(&hash_token(raw), ctx.now).await? else {
            return Err(OauthError::grant("The refresh token is not valid."));
        };
        let grant = tx.get_grant(t.grant_id).await?;
        let Some(grant) = grant.filter(|g| g.client_id == client.client_id) else {
            return Err(OauthError::grant("The refresh token is not valid."));
        };
        if t.used_at.is_some() {
            // reuse: the family is compromised; revoke it all
            let revoked = tx.revoke_grant(grant.id, ctx.now).await?;
            if revoked {
                self.queue_logouts(&mut *tx, ctx, std::slice::from_ref(&grant))
                    .await?;
            }
            self.audit(
                &mut *tx,
                ctx,
                Some(&grant.app_id),
                Actor::Anonymous(&client.name),
                "oidc.refresh_reused",
                Some(client.client_id.clone()),
                json!({"grant": grant.id, "revoked": revoked}),
            )
            .await?;
            tx.commit().await?;
            return Err(OauthError::grant("The refresh token was already used."));
        }
        if grant.revoked_at.is_some() || ctx.now >= t.expires_at {
            return Err(OauthError::grant(
                "The refresh token was revoked or has expired.",
            ));
        }
        if let Some(scope) = req.scope.as_deref() {
            // narrowing is not offered; asking for more than was granted is refused
            if scope
                .split_whitespace()
                .any(|s| !grant.scopes.iter().any(|g| g == s))
            {
                return Err(OauthError::new(
                    400,
                    "invalid_scope",
                    "More scopes than were granted.",
                ));
            }
        }
        let out = self
            .issue_tokens(&mut *tx, ctx, client, &grant, "oidc.tokens_refreshed")
            .await;
        Self::settle(tx, out, signers).await
    }

    /// The keys that will sign the access token (RS256) and the client's ID token, ready.
    async fn token_signers(&self, ctx: &Ctx, client: &OidcClient) -> Result<[JwtSigner; 2]> {
        let keys = self.ensure_signing_keys(ctx.now).await?;
        Ok([
            self.jwt_signer(&keys, ctx.now, SigningAlg::RS256, "at+jwt")?,
            self.jwt_signer(&keys, ctx.now, client.id_token_alg, "JWT")?,
        ])
    }

    /// Commit what `issue_tokens` did when it asks to (tokens issued, or a grant revoked);
    /// otherwise drop the transaction, leaving the code or refresh token as it was. Issued
    /// tokens are signed once committed, on a blocking thread: the write transaction (SQLite's
    /// one writer) is not held for the RSA signatures.
    async fn settle(
        tx: Box<dyn crate::store::Tx>,
        out: Result<Unsigned, (OauthError, bool)>,
        [access_signer, id_signer]: [JwtSigner; 2],
    ) -> OResult<TokenResponse> {
        match out {
            Ok(u) => {
                tx.commit().await?;
                let signed =
                    sign_off_thread(vec![(access_signer, u.access), (id_signer, u.id)]).await?;
                let [access_token, id_token]: [String; 2] = signed
                    .try_into()
                    .map_err(|_| Error::Internal("signing: two tokens".into()))?;
                Ok(TokenResponse {
                    access_token,
                    token_type: "Bearer",
                    expires_in: u.expires_in,
                    id_token,
                    refresh_token: u.refresh,
                    scope: u.scope,
                })
            }
            Err((e, true)) => {
                tx.commit().await?;
                Err(e)
            }
            Err((e, false)) => Err(e),
        }
    }

    /// Access token, ID token and (with `offline_access`) a refresh token, for a live grant
    /// of an Active member, in the caller's transaction. An error says whether to commit
    /// (the grant was revoked) or not.
    async fn issue_tokens(
        &self,
        tx: &mut dyn crate::store::Queries,
        ctx: &Ctx,
        client: &OidcClient,
        grant: &OauthGrant,
        action: &str,
    ) -> Result<Unsigned, (OauthError, bool)> {
        let keep = |e: OauthError| (e, false);
        let store = |e: crate::error::StoreError| (OauthError::from(e), false);
        if tx
            .app_suspended_at(&grant.app_id)
            .await
            .map_err(store)?
            .is_some()
        {
            return Err(keep(OauthError::grant("The app is suspended.")));
        }
        let app = tx.get_app(&grant.app_id).await.map_err(store)?;
        let member = tx
            .get_member(&grant.app_id, grant.member_id)
            .await
            .map_err(store)?;
        let identity = tx.get_identity(grant.identity_id).await.map_err(store)?;
        let (Some(app), Some(member), Some(identity)) = (app, member, identity) else {
            return Err(keep(OauthError::grant("The membership no longer exists.")));
        };
        let two_step_missing = tx
            .app_requires_second_factor(&app.app_id)
            .await
            .map_err(store)?
            && !tx
                .second_factor_status(identity.id)
                .await
                .map_err(store)?
                .enabled();
        if member.status != MemberStatus::Active
            || member.identity_id != Some(identity.id)
            || two_step_missing
        {
            let revoked = tx.revoke_grant(grant.id, ctx.now).await.map_err(store)?;
            if revoked {
                self.queue_logouts(tx, ctx, std::slice::from_ref(grant))
                    .await
                    .map_err(|e| (OauthError::from(e), false))?;
            }
            return Err((
                OauthError::grant("The membership is no longer active in this app."),
                true,
            ));
        }
        let o = &self.settings.oidc;
        let iss = self.issuer();
        let sub = self.oidc_subject(identity.id);
        let role = if member.admin { "admin" } else { "user" };
        let kind = match member.kind {
            MemberKind::Partner => "partner",
            _ => "user",
        };
        let name = match &identity.last_name {
            Some(l) => format!("{} {}", identity.first_name, l),
            None => identity.first_name.clone(),
        };
        let iat = ctx.now.unix_timestamp();
        let scope = grant.scopes.join(" ");
        let access = json!({
            "iss": iss, "sub": sub, "aud": client.client_id, "client_id": client.client_id,
            "iat": iat, "exp": iat + o.access_token_ttl.whole_seconds(),
            "jti": uuid::Uuid::new_v4().to_string(), "scope": scope, "sid": grant.id.to_string(),
            "app_id": app.app_id.as_str(), "member_id": member.id.0.to_string(), "role": role,
        });
        let mut id = json!({
            "iss": iss, "sub": sub, "aud": client.client_id, "azp": client.client_id,
            "iat": iat, "exp": iat + o.id_token_ttl.whole_seconds(),
            "auth_time": grant.auth_time.unix_timestamp(), "amr": grant.amr,
            "sid": grant.id.to_string(),
            "app_id": app.app_id.as_str(), "app_name": app.name, "member_id": member.id.0.to_string(),
            "role": role, "kind": kind,
        });
        if let Some(n) = &grant.nonce {
            id["nonce"] = json!(n);
        }
        if grant.scopes.iter().any(|s| s == "email") {
            id["email"] = json!(identity.email.as_str());
            id["email_verified"] = json!(true);
        }
        if grant.scopes.iter().any(|s| s == "profile") {
            id["name"] = json!(name);
            id["given_name"] = json!(identity.first_name);
            if let Some(l) = &identity.last_name {
                id["family_name"] = json!(l);
            }
        }
        let refresh = grant
            .scopes
            .iter()
            .any(|s| s == "offline_access")
            .then(new_token);
        if let Some(r) = &refresh {
            tx.insert_refresh_token(&RefreshToken {
                token_hash: hash_token(r),
                grant_id: grant.id,
                created_at: ctx.now,
                expires_at: ctx.now + o.refresh_token_ttl,
                used_at: None,
            })
            .await
            .map_err(store)?;
        }
        tx.touch_grant(grant.id, ctx.now).await.map_err(store)?;
        self.audit(
            tx,
            ctx,
            Some(&app.app_id),
            Actor::Identity(&identity),
            action,
            Some(client.name.clone()),
            json!({"client": client.client_id, "grant": grant.id, "refresh": refresh.is_some()}),
        )
        .await
        .map_err(|e| (OauthError::from(e), false))?;
        Ok(Unsigned {
            access,
            id,
            refresh,
            expires_in: o.access_token_ttl.whole_seconds(),
            scope,
        })
    }
}

/// Tokens issued in a transaction, to be signed once it has committed.
struct Unsigned {
    access: Value,
    id: Value,
    refresh: Option<String>,
    expires_in: i64,
    scope: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636, appendix B
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(verifier, challenge));
        assert!(!pkce_ok(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!pkce_ok("short", challenge));
    }
}
