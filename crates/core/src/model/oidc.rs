//! OpenID Connect provider: registered clients, signing keys, grants (one sign-in of an ID into
//! one app through one client), authorization codes, refresh tokens, consents and back-channel
//! logout deliveries.

use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A JWS algorithm Roster signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys): always available, as OpenID Connect asks.
    RS256,
    /// Ed25519: preferred when a client registers for it.
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::RS256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(SigningAlg::RS256),
            "EdDSA" => Some(SigningAlg::EdDSA),
            _ => None,
        }
    }
}

/// A relying party registered by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    /// `rc_` + 22 random characters.
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the secret of a confidential client; `None`: a public client (PKCE required).
    pub secret_hash: Option<Vec<u8>>,
    /// Exact matches only.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The business application itself: no consent screen.
    pub first_party: bool,
    pub back_channel_logout_uri: Option<String>,
    /// How its ID tokens are signed.
    pub id_token_alg: SigningAlg,
    pub created_at: OffsetDateTime,
}

impl OidcClient {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}

/// A signing key. The private part is sealed with the server's secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// Sealed DER (PKCS#1 for RSA, the 32-byte seed for Ed25519).
    pub private_sealed: Vec<u8>,
    /// The public JWK (JSON text), as published.
    pub public_jwk: String,
    pub created_at: OffsetDateTime,
    /// Signs from this time on (published in the JWKS from `created_at`).
    pub activates_at: OffsetDateTime,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

/// One sign-in of an ID into one app through one client: the codes, refresh tokens and access
/// tokens issued from it hang on it, and revoking it revokes them all. Its id is the `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthGrant {
    pub id: uuid::Uuid,
    pub client_id: String,
    pub identity_id: IdentityId,
    pub app_id: AppId,
    pub member_id: MemberId,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// When the person authenticated (the session's login).
    pub auth_time: OffsetDateTime,
    /// How: `pwd`, `otp`, `hwk`, `mfa`...
    pub amr: Vec<String>,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

/// An authorization code (only its hash is kept). Single use, 60 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: Vec<u8>,
    pub grant_id: uuid::Uuid,
    pub client_id: String,
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// A refresh token (only its hash is kept). Rotated at each use; a second use of the same one
/// revokes its grant (the whole family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: Vec<u8>,
    pub grant_id: uuid::Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// What an ID allowed a client to have in one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConsent {
    pub identity_id: IdentityId,
    pub client_id: String,
    pub app_id: AppId,
    pub scopes: Vec<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
}

/// A consent with the names to show ("Connected applications").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub consent: OidcConsent,
    pub client_name: String,
    pub app_name: String,
}

/// A back-channel logout to deliver (the logout token is signed when it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    pub id: uuid::Uuid,
    pub client_id: String,
    pub uri: String,
    /// The `sub` of the ID.
    pub sub: String,
    /// The grant (`sid`).
    pub sid: uuid::Uuid,
    pub created_at: OffsetDateTime,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}
