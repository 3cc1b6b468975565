//! Journey: "Sign in with your Roster ID" — Roster as an OpenID Connect provider. This module
//! holds the clients the operator registers and the authorization request: its checks, the app
//! picker (which of the ID's apps the client gets), consent, and the single-use code.
//! `oidc_tokens` answers the token endpoint, `oidc_access` userinfo, introspection, revocation
//! and access tokens on the REST API,
//! `oidc_keys` signs, and `oidc_logout` carries membership changes to the applications.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::types::*;
use serde_json::json;
use time::Duration;

/// Token lifetimes and key rotation.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// A key older than this gets a successor (published [`super::KEY_PUBLISH_LEAD`] ahead).
    pub key_rotation: Duration,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            access_token_ttl: Duration::minutes(5),
            id_token_ttl: Duration::hours(1),
            refresh_token_ttl: Duration::days(30),
            key_rotation: Duration::days(30),
        }
    }
}

/// The scopes a client may ask for. The Roster scopes narrow what an access token may do on
/// Roster's REST API: `members:read` reads, `members:write` and `invitations:write` write.
pub const SCOPES_SUPPORTED: [&str; 7] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "members:read",
    "members:write",
    "invitations:write",
];

/// Authorization codes live this long.
pub const CODE_TTL: Duration = Duration::seconds(60);

/// What the operator registers.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    pub back_channel_logout_uri: Option<String>,
    /// `None`: RS256.
    pub id_token_alg: Option<SigningAlg>,
}

/// A registered client and, for a confidential one, its secret (shown this once).
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client: OidcClient,
    pub secret: Option<String>,
}

/// The query of `/oauth2/authorize`, as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AuthorizeRequest {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub response_type: String,
    #[serde(default)]
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub app_id: Option<String>,
}

/// A request that passed every check: what the rest of the flow works with.
#[derive(Debug, Clone)]
pub struct ValidAuthorize {
    pub client: OidcClient,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub app_id: Option<String>,
}

impl ValidAuthorize {
    pub fn prompts(&self, p: &str) -> bool {
        self.prompt.iter().any(|x| x == p)
    }

    /// Where an answer goes: the redirect URI with `params` (and `state`, `iss`) added.
    pub fn answer(&self, issuer: &str, params: &[(&str, &str)]) -> String {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(u) => u,
            Err(_) => return self.redirect_uri.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            if let Some(s) = &self.state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", issuer);
        }
        url.to_string()
    }
}

/// Why an authorization request stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: say so on a page, never redirect.
    Page(String),
    /// Tell the client, at its redirect URI (RFC 6749 §4.1.2.1).
    Redirect {
        error: &'static str,
        description: String,
    },
}

fn redirect_err(error: &'static str, description: &str) -> AuthorizeError {
    AuthorizeError::Redirect {
        error,
        description: description.to_string(),
    }
}

/// One of the ID's apps on the picker.
#[derive(Debug, Clone)]
pub struct AppChoice {
    pub app: App,
    pub member: Member,
    /// The app requires two-step verification and this ID has not set it up.
    pub needs_two_step: bool,
}

/// A redirect URI the operator may register: absolute, no fragment; https, or http on a
/// loopback host, or a private-use scheme of a native app (`com.example.app:/cb`).
/// `field`: the form field or flag the address came from (`redirect_uri` or
/// `post_logout_redirect_uri`).
fn check_redirect_uri(raw: &str, field: &'static str) -> Result<String> {
    let bad = || Error::invalid(field, format!("{raw:?} is not a usable redirect URI."));
    let u = url::Url::parse(raw).map_err(|_| bad())?;
    if u.fragment().is_some() || raw.len() > 2000 {
        return Err(bad());
    }
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match u.scheme() {
        "https" => {}
        "http" if loopback => {}
        "javascript" | "data" | "file" | "http" | "ftp" | "blob" | "about" => return Err(bad()),
        s if s.contains('.') => {}
        _ => return Err(bad()),
    }
    Ok(raw.to_string())
}

impl Services {
    /// The issuer: the public base URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.settings.public_url.trim_end_matches('/').to_string()
    }

    /// Operator: register a client.
    pub async fn create_oidc_client(&self, ctx: &Ctx, req: NewClient) -> Result<RegisteredClient> {
        self.create_client_as(ctx, Actor::Operator, req).await
    }

    /// Register a client, audited as `actor` (the CLI, or an operator in the console).
    pub(super) async fn create_client_as(
        &self,
        ctx: &Ctx,
        actor: Actor<'_>,
        req: NewClient,
    ) -> Result<RegisteredClient> {
        let name = req.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid(
                "name",
                "Give the client a name of 1 to 100 characters.",
            ));
        }
        if req.redirect_uris.is_empty() {
            return Err(Error::invalid(
                "redirect_uri",
                "Register at least one redirect URI.",
            ));
        }
        let redirect_uris = req
            .redirect_uris
            .iter()
            .map(|u| check_redirect_uri(u, "redirect_uri"))
            .collect::<Result<Vec<_>>>()?;
        let post_logout_redirect_uris = req
            .post_logout_redirect_uris
            .iter()
            .map(|u| check_redirect_uri(u, "post_logout_redirect_uri"))
            .collect::<Result<Vec<_>>>()?;
        let back_channel_logout_uri = match req.back_channel_logout_uri.as_deref() {
            None => None,
            Some(u) => {
                let parsed = url::Url::parse(u)
                    .ok()
                    .filter(|p| matches!(p.scheme(), "https" | "http") && p.fragment().is_none());
                if parsed.is_none() {
                    return Err(Error::invalid(
                        "back_channel_logout_uri",
                        "The back-channel logout URI must be an http(s) URL without a fragment.",
                    ));
                }
                Some(u.to_string())
            }
        };
        let secret = (!req.public).then(new_token);
        let client = OidcClient {
            client_id: format!("rc_{}", &new_token()[..22]),
            name,
            secret_hash: secret.as_deref().map(hash_token),
            redirect_uris,
            post_logout_redirect_uris,
            first_party: req.first_party,
            back_channel_logout_uri,
            id_token_alg: req.id_token_alg.unwrap_or(SigningAlg::RS256),
            created_at: ctx.now,
        };
        let mut tx = self.begin().await?;
        tx.insert_oidc_client(&client).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            actor,
            "oidc.client_created",
            Some(client.client_id.clone()),
            json!({"name": client.name, "public": req.public, "first_party": client.first_party}),
        )
        .await?;
        tx.commit().await?;
        Ok(RegisteredClient { client, secret })
    }

    pub async fn oidc_clients(&self) -> Result<Vec<OidcClient>> {
        Ok(self.read().await?.list_oidc_clients().await?)
    }

    pub async fn oidc_client(&self, client_id: &str) -> Result<Option<OidcClient>> {
        if client_id.is_empty() || client_id.len() > 64 {
            return Ok(None);
        }
        Ok(self.read().await?.get_oidc_client(client_id).await?)
    }

    /// Check an authorization request (before anyone is asked anything).
    pub async fn check_authorize(
        &self,
        q: &AuthorizeRequest,
    ) -> std::result::Result<ValidAuthorize, AuthorizeError> {
        let client = match self.oidc_client(&q.client_id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(AuthorizeError::Page(
                    "This application is not registered with Roster.".into(),
                ));
            }
            Err(_) => {
                return Err(AuthorizeError::Page(
                    "The sign-in request could not be checked; try again.".into(),
                ));
            }
        };
        // exact match only
        if !client.redirect_uris.iter().any(|u| u == &q.redirect_uri) {
            return Err(AuthorizeError::Page(
                "The application asked to send you to an address it did not register.".into(),
            ));
        }
        if q.response_type != "code" {
            return Err(redirect_err(
                "unsupported_response_type",
                "Only response_type=code is supported.",
            ));
        }
        let mut scopes: Vec<String> = Vec::new();
        for s in q.scope.split_whitespace() {
            if !SCOPES_SUPPORTED.contains(&s) {
                return Err(redirect_err(
                    "invalid_scope",
                    &format!("Unknown scope {s:?}."),
                ));
            }
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_string());
            }
        }
        if !scopes.iter().any(|s| s == "openid") {
            return Err(redirect_err(
                "invalid_scope",
                "The openid scope is required.",
            ));
        }
        let code_challenge = match (
            q.code_challenge.as_deref(),
            q.code_challenge_method.as_deref(),
        ) {
            (None, _) if client.is_public() => {
                return Err(redirect_err(
                    "invalid_request",
                    "Public clients must use PKCE (S256).",
                ));
            }
            (None, _) => None,
            (Some(c), Some("S256")) if (43..=128).contains(&c.len()) => Some(c.to_string()),
            (Some(_), Some("S256")) => {
                return Err(redirect_err(
                    "invalid_request",
                    "The code_challenge is malformed.",
                ));
            }
            (Some(_), _) => {
                return Err(redirect_err(
                    "invalid_request",
                    "Only code_challenge_method=S256 is supported.",
                ));
            }
        };
        let state = q.state.clone().filter(|s| !s.is_empty());
        let nonce = q.nonce.clone().filter(|s| !s.is_empty());
        // against code injection every request binds its code: PKCE, or at least a nonce
        if code_challenge.is_none() && nonce.is_none() {
            return Err(redirect_err(
                "invalid_request",
                "Use PKCE (S256) or send a nonce.",
            ));
        }
        if !client.first_party && (state.is_none() || nonce.is_none()) {
            return Err(redirect_err(
                "invalid_request",
                "state and nonce are required.",
            ));
        }
        if nonce.as_ref().is_some_and(|n| n.len() > 512)
            || state.as_ref().is_some_and(|s| s.len() > 1024)
        {
            return Err(redirect_err(
                "invalid_request",
                "state or nonce is too long.",
            ));
        }
        let prompt: Vec<String> = q
            .prompt
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        for p in &prompt {
            if !["none", "login", "consent", "select_account"].contains(&p.as_str()) {
                return Err(redirect_err(
                    "invalid_request",
                    &format!("Unknown prompt {p:?}."),
                ));
            }
        }
        if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
            return Err(redirect_err(
                "invalid_request",
                "prompt=none cannot be combined.",
            ));
        }
        let max_age = match q.max_age.as_deref().filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => match m.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    return Err(redirect_err(
                        "invalid_request",
                        "max_age must be a number of seconds.",
                    ));
                }
            },
        };
        Ok(ValidAuthorize {
            client,
            redirect_uri: q.redirect_uri.clone(),
            scopes,
            state,
            nonce,
            code_challenge,
            prompt,
            max_age,
            login_hint: q.login_hint.clone().filter(|h| !h.is_empty()),
            app_id: q.app_id.clone().filter(|a| !a.is_empty()),
        })
    }

    /// Whether the session's login is recent enough for `max_age` (`prompt=login` is the
    /// caller's to check).
    pub fn login_fresh_enough(&self, ctx: &Ctx, p: &Principal, v: &ValidAuthorize) -> bool {
        match v.max_age {
            Some(m) => ctx.now - p.session_started <= Duration::seconds(m),
            None => true,
        }
    }

    /// The ID's Active memberships the client may be given.
    pub async fn oidc_app_choices(&self, p: &Principal) -> Result<Vec<AppChoice>> {
        let mut r = self.read().await?;
        let enrolled = r.second_factor_status(p.identity_id).await?.enabled();
        let mut out = Vec::new();
        for (app, member) in r.list_memberships(p.identity_id).await? {
            if member.status != MemberStatus::Active
                || r.app_suspended_at(&app.app_id).await?.is_some()
            {
                continue;
            }
            let needs_two_step = !enrolled && r.app_requires_second_factor(&app.app_id).await?;
            out.push(AppChoice {
                app,
                member,
                needs_two_step,
            });
        }
        Ok(out)
    }

    /// The app the request names (`app_id`, or a `login_hint` that is an App ID), if the ID
    /// may give it; else the only app when there is one and no picker was asked for.
    pub fn preselected_app<'a>(
        &self,
        v: &ValidAuthorize,
        choices: &'a [AppChoice],
    ) -> Option<&'a AppChoice> {
        let usable = |c: &&AppChoice| !c.needs_two_step;
        if v.prompts("select_account") {
            return None;
        }
        let named = v.app_id.as_deref().or(v.login_hint.as_deref());
        if let Some(n) = named
            && let Some(c) = choices
                .iter()
                .filter(usable)
                .find(|c| c.app.app_id.as_str().eq_ignore_ascii_case(n))
        {
            return Some(c);
        }
        let mut usable_ones = choices.iter().filter(usable);
        match (usable_ones.next(), usable_ones.next()) {
            (Some(only), None) if choices.len() == 1 => Some(only),
            _ => None,
        }
    }

    /// Whether the ID must be asked before the client gets `app`: always for third-party
    /// clients unless the same (or a wider) consent was given and `prompt=consent` was not
    /// asked for.
    pub async fn needs_consent(
        &self,
        p: &Principal,
        v: &ValidAuthorize,
        app: &AppId,
    ) -> Result<bool> {
        if v.client.first_party {
            return Ok(false);
        }
        if v.prompts("consent") {
            return Ok(true);
        }
        let c = self
            .read()
            .await?
            .find_consent(p.identity_id, &v.client.client_id, app)
            .await?;
        Ok(!c.is_some_and(|c| v.scopes.iter().all(|s| c.scopes.contains(s))))
    }

    /// The ID gives the client `app` (after the picker and, for third parties, consent): make
    /// the grant and a single-use code; returns the URL to send the browser to.
    pub async fn authorize_app(
        &self,
        ctx: &Ctx,
        p: &Principal,
        v: &ValidAuthorize,
        app_id: &AppId,
    ) -> Result<String> {
        let choices = self.oidc_app_choices(p).await?;
        let choice = choices
            .iter()
            .find(|c| &c.app.app_id == app_id)
            .ok_or(Error::NotFound)?;
        if choice.needs_two_step {
            return Err(Error::SecondFactorEnrolmentRequired {
                app_id: app_id.to_string(),
            });
        }
        let code = new_token();
        let grant = OauthGrant {
            id: uuid::Uuid::now_v7(),
            client_id: v.client.client_id.clone(),
            identity_id: p.identity_id,
            app_id: app_id.clone(),
            member_id: choice.member.id,
            scopes: v.scopes.clone(),
            nonce: v.nonce.clone(),
            auth_time: p.session_started,
            amr: if p.amr.is_empty() {
                vec!["pwd".into()]
            } else {
                p.amr.clone()
            },
            created_at: ctx.now,
            revoked_at: None,
            last_used_at: None,
        };
        let mut tx = self.begin().await?;
        tx.insert_grant(&grant).await?;
        tx.insert_auth_code(&AuthCode {
            code_hash: hash_token(&code),
            grant_id: grant.id,
            client_id: v.client.client_id.clone(),
            redirect_uri: v.redirect_uri.clone(),
            code_challenge: v.code_challenge.clone(),
            expires_at: ctx.now + CODE_TTL,
            used_at: None,
        })
        .await?;
        tx.upsert_consent(&OidcConsent {
            identity_id: p.identity_id,
            client_id: v.client.client_id.clone(),
            app_id: app_id.clone(),
            scopes: v.scopes.clone(),
            created_at: ctx.now,
            last_used_at: ctx.now,
        })
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "oidc.authorized",
            Some(v.client.name.clone()),
            json!({"client": v.client.client_id, "grant": grant.id, "scopes": v.scopes}),
        )
        .await?;
        tx.commit().await?;
        Ok(v.answer(&self.issuer(), &[("code", &code)]))
    }

    /// The ID declined: tell the client.
    pub async fn deny_authorization(
        &self,
        ctx: &Ctx,
        p: &Principal,
        v: &ValidAuthorize,
    ) -> Result<String> {
        let mut tx = self.begin().await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "oidc.denied",
            Some(v.client.name.clone()),
            json!({"client": v.client.client_id}),
        )
        .await?;
        tx.commit().await?;
        Ok(v.answer(
            &self.issuer(),
            &[
                ("error", "access_denied"),
                ("error_description", "The person declined."),
            ],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_checked_at_registration() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8123/callback",
            "http://localhost/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(ok, "redirect_uri").is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "javascript:alert(1)",
            "data:text/html,x",
            "/relative",
            "custom:/no-dot",
        ] {
            assert!(check_redirect_uri(bad, "redirect_uri").is_err(), "{bad}");
        }
    }
}
