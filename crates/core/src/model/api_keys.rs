//! API keys: app-scoped credentials for plugins and scripts (personal or service), and the
//! stored answers of `Idempotency-Key` requests.

use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Whose rights a key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyKind {
    /// Acts as the member who made it, with exactly that member's rights in the key's app.
    Personal,
    /// Acts as a non-person "service" principal with admin rights in the key's app.
    Service,
}

impl ApiKeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyKind::Personal => "personal",
            ApiKeyKind::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "personal" => Some(ApiKeyKind::Personal),
            "service" => Some(ApiKeyKind::Service),
            _ => None,
        }
    }
}

/// What a key may do, on top of its principal's rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
    /// Read anything its principal can read (GET).
    Read,
    /// Change anything its principal can change.
    Write,
    /// Manage API keys and admins (service keys need it for that; personal keys for keys).
    Admin,
    /// SCIM provisioning (service keys only).
    Scim,
}

impl ApiScope {
    pub const ALL: [ApiScope; 4] = [
        ApiScope::Read,
        ApiScope::Write,
        ApiScope::Admin,
        ApiScope::Scim,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::Write => "write",
            ApiScope::Admin => "admin",
            ApiScope::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The stored form: space-separated, sorted, no duplicates.
    pub fn join(scopes: &[ApiScope]) -> String {
        let mut v = scopes.to_vec();
        v.sort();
        v.dedup();
        v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// The stored form read back (unknown words are dropped: they grant nothing).
    pub fn split(s: &str) -> Vec<ApiScope> {
        s.split_whitespace().filter_map(ApiScope::parse).collect()
    }
}

/// A stored API key (its secret only as a hash).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: uuid::Uuid,
    pub app_id: AppId,
    pub kind: ApiKeyKind,
    /// The member a personal key acts as (`None` for service keys).
    pub member_id: Option<MemberId>,
    pub name: String,
    /// The visible start of the key (`rk_live_ab123_XXXX`), to recognise it in lists.
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub scopes: Vec<ApiScope>,
    pub created_by: Option<IdentityId>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_addr: Option<String>,
}

impl ApiKey {
    pub fn has(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Usable now: not revoked, not expired.
    pub fn live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// How an `Idempotency-Key` request stands when it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time seen: this request runs and records its answer.
    Fresh,
    /// A request with this key is running now (or crashed less than a minute ago).
    InProgress { fingerprint: Vec<u8> },
    /// Answered before: replay this.
    Done(StoredAnswer),
}

/// A recorded answer to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub fingerprint: Vec<u8>,
    pub status: u16,
    pub content_type: Option<String>,
    /// Headers worth replaying (Location, ETag), as `name: value` lines.
    pub headers: String,
    pub body: Vec<u8>,
}
