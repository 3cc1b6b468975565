//! Journey: OpenID Connect signing keys. A key of each algorithm is made on first need and kept
//! in the database (the private part sealed with the server's secret key), so every node signs
//! with the same keys and publishes the same JWKS. Keys rotate on a schedule (a successor is
//! published a while before it starts signing, so relying parties that cache the JWKS see it
//! first) or at once by `roster keys rotate`; a retired key stays in the JWKS until every token
//! it signed has expired.
//!
//! Tokens are JWS compact serialisations signed with the `rsa` (RS256) and `ed25519-dalek`
//! (EdDSA) crates.

use super::{Actor, Ctx, Services};
use crate::error::{Error, Result};
use crate::model::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// How long a retired key stays published after its successor started signing: longer than any
/// token Roster signs lives (ID tokens, an hour).
pub const KEY_RETENTION: Duration = Duration::days(1);
/// A scheduled successor is published this long before it signs.
pub const KEY_PUBLISH_LEAD: Duration = Duration::hours(1);

/// Parsed private keys by `kid` (parsing an RSA key costs more than signing with it).
#[derive(Default)]
pub(super) struct SignerCache(Mutex<HashMap<String, Arc<Signer>>>);

pub(super) enum Signer {
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
    Ed(Box<ed25519_dalek::SigningKey>),
}

fn internal(what: &str) -> Error {
    Error::Internal(format!("signing key: {what}"))
}

/// Make a key pair: the sealed private part and the public JWK.
fn generate(
    alg: SigningAlg,
    kid: &str,
    sealer: &crate::sealed::SecretKey,
) -> Result<(Vec<u8>, Value)> {
    match alg {
        SigningAlg::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let mut rng = rand_core06::OsRng;
            let key =
                rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|_| internal("RSA keygen"))?;
            let der = key.to_pkcs1_der().map_err(|_| internal("RSA encoding"))?;
            let jwk = json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": B64.encode(key.n().to_bytes_be()),
                "e": B64.encode(key.e().to_bytes_be()),
            });
            Ok((sealer.seal(der.as_bytes())?, jwk))
        }
        SigningAlg::EdDSA => {
            let mut seed = [0u8; 32];
            rand::rng().fill_bytes(&mut seed);
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let jwk = json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
                "x": B64.encode(key.verifying_key().as_bytes()),
            });
            Ok((sealer.seal(&seed)?, jwk))
        }
    }
}

fn parse_signer(alg: SigningAlg, der: &[u8]) -> Result<Signer> {
    match alg {
        SigningAlg::RS256 => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            let key =
                rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|_| internal("RSA decoding"))?;
            Ok(Signer::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(key))))
        }
        SigningAlg::EdDSA => {
            let seed: [u8; 32] = der.try_into().map_err(|_| internal("Ed25519 seed"))?;
            Ok(Signer::Ed(Box::new(ed25519_dalek::SigningKey::from_bytes(
                &seed,
            ))))
        }
    }
}

impl Signer {
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>> {
        use rsa::signature::{SignatureEncoding, Signer as _};
        match self {
            Signer::Rsa(k) => k
                .try_sign(input)
                .map(|s| s.to_vec())
                .map_err(|_| internal("RSA signing")),
            Signer::Ed(k) => Ok(k.sign(input).to_bytes().to_vec()),
        }
    }
}

/// A chosen, parsed key and its encoded JWS header.
#[derive(Clone)]
pub(super) struct JwtSigner {
    signer: Arc<Signer>,
    header: String,
}

impl JwtSigner {
    /// The compact JWS of `claims` (RSA: about a millisecond of CPU).
    pub(super) fn sign(&self, claims: &Value) -> Result<String> {
        let input = format!("{}.{}", self.header, B64.encode(claims.to_string()));
        let sig = self.signer.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", B64.encode(sig)))
    }
}

/// Sign several tokens on a blocking thread (RSA signing would hold an async worker).
pub(super) async fn sign_off_thread(jobs: Vec<(JwtSigner, Value)>) -> Result<Vec<String>> {
    tokio::task::spawn_blocking(move || jobs.iter().map(|(s, c)| s.sign(c)).collect())
        .await
        .map_err(|e| Error::Internal(format!("signing: {e}")))?
}

/// A published key, parsed for checking signatures.
pub(super) enum Verifier {
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<sha2::Sha256>>),
    Ed(Box<ed25519_dalek::VerifyingKey>),
}

impl Verifier {
    /// The key of a published JWK (`None` if it is not one of `alg`).
    fn parse(jwk: &Value, alg: SigningAlg) -> Option<Self> {
        let field = |n: &str| {
            jwk.get(n)
                .and_then(Value::as_str)
                .and_then(|v| B64.decode(v).ok())
        };
        match alg {
            SigningAlg::RS256 => {
                let (n, e) = (field("n")?, field("e")?);
                let public = rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(&n),
                    rsa::BigUint::from_bytes_be(&e),
                )
                .ok()?;
                Some(Verifier::Rsa(Box::new(rsa::pkcs1v15::VerifyingKey::new(
                    public,
                ))))
            }
            SigningAlg::EdDSA => {
                let x = <[u8; 32]>::try_from(field("x")?).ok()?;
                let public = ed25519_dalek::VerifyingKey::from_bytes(&x).ok()?;
                Some(Verifier::Ed(Box::new(public)))
            }
        }
    }

    fn verify(&self, input: &[u8], sig: &[u8]) -> bool {
        match self {
            Verifier::Rsa(k) => {
                use rsa::signature::Verifier as _;
                rsa::pkcs1v15::Signature::try_from(sig)
                    .is_ok_and(|sig| k.verify(input, &sig).is_ok())
            }
            Verifier::Ed(k) => {
                use ed25519_dalek::Verifier as _;
                ed25519_dalek::Signature::from_slice(sig)
                    .is_ok_and(|sig| k.verify(input, &sig).is_ok())
            }
        }
    }
}

/// The signing keys as last read for checking tokens, and their parsed public keys: a token
/// is checked without reading and parsing keys each time. A token whose key is not in the list
/// (made since, perhaps on another node) makes it read again at once.
#[derive(Default)]
pub(super) struct VerifierCache(Mutex<VerifierState>);

#[derive(Default)]
struct VerifierState {
    keys: Vec<SigningKey>,
    read_at: Option<std::time::Instant>,
    parsed: HashMap<String, Arc<Verifier>>,
}

/// How long the key list read for checking tokens is used before it is read again. Keys are
/// only ever removed a day after every token they signed has expired, so a list this old
/// accepts nothing that a fresh one would refuse.
const VERIFY_KEYS_FOR: std::time::Duration = std::time::Duration::from_secs(10);

impl VerifierState {
    /// The parsed key `kid` of `alg`, if it is published at `now` in the list held.
    fn find(&mut self, now: OffsetDateTime, kid: &str, alg: SigningAlg) -> Option<Arc<Verifier>> {
        let key = published(&self.keys, now)
            .into_iter()
            .find(|k| k.kid == kid && k.alg == alg)?;
        if let Some(v) = self.parsed.get(kid) {
            return Some(v.clone());
        }
        let jwk: Value = serde_json::from_str(&key.public_jwk).ok()?;
        let v = Arc::new(Verifier::parse(&jwk, alg)?);
        self.parsed.insert(kid.to_string(), v.clone());
        Some(v)
    }
}

impl VerifierCache {
    /// Forget the key list (keys were made or removed on this node).
    pub(super) fn invalidate(&self) {
        if let Ok(mut c) = self.0.lock() {
            c.read_at = None;
        }
    }
}

/// A verified token's claims.
#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    pub claims: Value,
}

/// The keys to publish at `now`: each key until its successor (same algorithm) has signed for
/// [`KEY_RETENTION`]. `keys` newest first.
fn published(keys: &[SigningKey], now: OffsetDateTime) -> Vec<&SigningKey> {
    keys.iter()
        .filter(|k| {
            let successor = keys
                .iter()
                .filter(|s| {
                    s.alg == k.alg && s.activates_at > k.activates_at && s.activates_at <= now
                })
                .map(|s| s.activates_at)
                .min();
            successor.is_none_or(|s| now < s + KEY_RETENTION)
        })
        .collect()
}

impl Services {
    /// The JWKS document: every published public key.
    pub async fn jwks(&self, now: OffsetDateTime) -> Result<Value> {
        let keys = self.ensure_signing_keys(now).await?;
        let jwks: Vec<Value> = published(&keys, now)
            .into_iter()
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(json!({ "keys": jwks }))
    }

    /// The keys, making the first key of each algorithm, and a scheduled successor of a key
    /// older than the rotation interval, when missing.
    pub(super) async fn ensure_signing_keys(&self, now: OffsetDateTime) -> Result<Vec<SigningKey>> {
        let mut keys = self.read().await?.list_signing_keys().await?;
        let mut made = false;
        for alg in SigningAlg::ALL {
            let newest = keys.iter().find(|k| k.alg == alg);
            match newest {
                None => {
                    self.make_signing_key(alg, now, now).await?;
                    made = true;
                }
                Some(k)
                    if k.activates_at <= now
                        && now - k.activates_at > self.settings.oidc.key_rotation =>
                {
                    self.make_signing_key(alg, now, now + KEY_PUBLISH_LEAD)
                        .await?;
                    made = true;
                }
                Some(_) => {}
            }
        }
        if made {
            keys = self.read().await?.list_signing_keys().await?;
        }
        Ok(keys)
    }

    async fn make_signing_key(
        &self,
        alg: SigningAlg,
        now: OffsetDateTime,
        activates_at: OffsetDateTime,
    ) -> Result<SigningKey> {
        let mut raw = [0u8; 12];
        rand::rng().fill_bytes(&mut raw);
        let kid = B64.encode(raw);
        let sealer = self.settings.secret_key.clone();
        let k = kid.clone();
        let (private_sealed, jwk) = tokio::task::spawn_blocking(move || generate(alg, &k, &sealer))
            .await
            .map_err(|_| internal("key generation stopped"))??;
        let key = SigningKey {
            kid,
            alg,
            private_sealed,
            public_jwk: jwk.to_string(),
            created_at: now,
            activates_at,
        };
        let mut tx = self.begin().await?;
        tx.insert_signing_key(&key).await?;
        tx.commit().await?;
        self.verifiers.invalidate();
        tracing::info!(kid = %key.kid, alg = alg.as_str(), "made a signing key");
        Ok(key)
    }

    /// Operator: a new key of each algorithm, signing at once (`lead` zero) or after `lead`.
    /// Older keys stay published until every token they signed has expired.
    pub async fn rotate_signing_keys(&self, ctx: &Ctx, lead: Duration) -> Result<Vec<String>> {
        let mut kids = Vec::new();
        for alg in SigningAlg::ALL {
            let k = self.make_signing_key(alg, ctx.now, ctx.now + lead).await?;
            kids.push(k.kid);
        }
        let mut tx = self.begin().await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Operator,
            "oidc.keys_rotated",
            None,
            json!({"kids": kids, "lead_seconds": lead.whole_seconds()}),
        )
        .await?;
        tx.commit().await?;
        Ok(kids)
    }

    /// Housekeeping: forget what no longer matters a day on (expired codes and refresh tokens,
    /// revoked grants, delivered logouts). Returns how many rows went.
    pub async fn prune_oidc(&self, now: OffsetDateTime) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx.prune_oidc(now - Duration::days(1)).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Housekeeping: forget keys no longer published. Returns how many.
    pub async fn prune_signing_keys(&self, now: OffsetDateTime) -> Result<usize> {
        let keys = self.read().await?.list_signing_keys().await?;
        let keep: Vec<String> = published(&keys, now)
            .iter()
            .map(|k| k.kid.clone())
            .collect();
        let gone: Vec<&SigningKey> = keys.iter().filter(|k| !keep.contains(&k.kid)).collect();
        if gone.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        for k in &gone {
            tx.delete_signing_key(&k.kid).await?;
        }
        tx.commit().await?;
        self.verifiers.invalidate();
        if let Ok(mut c) = self.signers.0.lock() {
            for k in &gone {
                c.remove(&k.kid);
            }
        }
        Ok(gone.len())
    }

    /// Sign `claims` with the active key of `alg`; `typ` goes in the header (`JWT`,
    /// `at+jwt`, `logout+jwt`).
    pub(super) async fn sign_jwt(
        &self,
        now: OffsetDateTime,
        alg: SigningAlg,
        typ: &str,
        claims: &Value,
    ) -> Result<String> {
        let keys = self.ensure_signing_keys(now).await?;
        self.sign_with(&keys, now, alg, typ, claims)
    }

    /// Sign with keys already read (no database access).
    pub(super) fn sign_with(
        &self,
        keys: &[SigningKey],
        now: OffsetDateTime,
        alg: SigningAlg,
        typ: &str,
        claims: &Value,
    ) -> Result<String> {
        self.jwt_signer(keys, now, alg, typ)?.sign(claims)
    }

    /// The active key of `alg` among `keys`, parsed and ready: what is left to do cannot fail
    /// and touches no database (the token endpoint signs after its transaction, off the async
    /// threads).
    pub(super) fn jwt_signer(
        &self,
        keys: &[SigningKey],
        now: OffsetDateTime,
        alg: SigningAlg,
        typ: &str,
    ) -> Result<JwtSigner> {
        let key = keys
            .iter()
            .find(|k| k.alg == alg && k.activates_at <= now)
            .ok_or_else(|| internal("no active key"))?;
        let header = json!({"alg": alg.as_str(), "typ": typ, "kid": key.kid});
        Ok(JwtSigner {
            signer: self.signer(key)?,
            header: B64.encode(header.to_string()),
        })
    }

    fn signer(&self, key: &SigningKey) -> Result<Arc<Signer>> {
        if let Ok(c) = self.signers.0.lock()
            && let Some(s) = c.get(&key.kid)
        {
            return Ok(s.clone());
        }
        let der = self.settings.secret_key.open(&key.private_sealed)?;
        let s = Arc::new(parse_signer(key.alg, &der)?);
        if let Ok(mut c) = self.signers.0.lock() {
            c.insert(key.kid.clone(), s.clone());
        }
        Ok(s)
    }

    /// The published key `kid` of `alg`, parsed: from the cache when its list is fresh and
    /// knows the key, else from the database (and the cache renewed).
    async fn verifier(
        &self,
        now: OffsetDateTime,
        kid: &str,
        alg: SigningAlg,
    ) -> Result<Option<Arc<Verifier>>> {
        if let Ok(mut c) = self.verifiers.0.lock()
            && c.read_at.is_some_and(|t| t.elapsed() < VERIFY_KEYS_FOR)
            && let Some(v) = c.find(now, kid, alg)
        {
            return Ok(Some(v));
        }
        let keys = self.read().await?.list_signing_keys().await?;
        // a panic elsewhere while the lock was held leaves nothing half-written worth refusing
        // every token over: the list is replaced just below
        let mut c = self
            .verifiers
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.parsed.retain(|k, _| keys.iter().any(|key| &key.kid == k));
        c.keys = keys;
        c.read_at = Some(std::time::Instant::now());
        Ok(c.find(now, kid, alg))
    }

    /// Verify a token Roster signed (any published key; `typ` must match when given). Expiry
    /// and audience are the caller's to check.
    pub(super) async fn verify_jwt(
        &self,
        now: OffsetDateTime,
        token: &str,
        typ: Option<&str>,
    ) -> Result<VerifiedJwt> {
        let bad = || Error::Unauthenticated;
        if token.len() > 8192 {
            return Err(bad());
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let header: Value = B64
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(bad)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(SigningAlg::parse)
            .ok_or_else(bad)?;
        if let Some(t) = typ
            && header.get("typ").and_then(Value::as_str) != Some(t)
        {
            return Err(bad());
        }
        let kid = header.get("kid").and_then(Value::as_str).ok_or_else(bad)?;
        let verifier = self.verifier(now, kid, alg).await?.ok_or_else(bad)?;
        let sig = B64.decode(s).map_err(|_| bad())?;
        let input = &token[..h.len() + 1 + c.len()];
        if !verifier.verify(input.as_bytes(), &sig) {
            return Err(bad());
        }
        let claims: Value = B64
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(bad)?;
        Ok(VerifiedJwt { claims })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(alg: SigningAlg, kid: &str, at: OffsetDateTime) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            alg,
            private_sealed: vec![],
            public_jwk: "{}".into(),
            created_at: at,
            activates_at: at,
        }
    }

    #[test]
    fn a_retired_key_stays_published_for_the_retention_time() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
        let keys = vec![
            key(SigningAlg::RS256, "new", t0 + Duration::days(30)),
            key(SigningAlg::EdDSA, "ed", t0),
            key(SigningAlg::RS256, "old", t0),
        ];
        let kids = |now| -> Vec<String> {
            published(&keys, now)
                .iter()
                .map(|k| k.kid.clone())
                .collect()
        };
        // before the successor signs, both are published (the new one ahead of time)
        assert_eq!(kids(t0 + Duration::days(29)), ["new", "ed", "old"]);
        assert_eq!(
            kids(t0 + Duration::days(30) + KEY_RETENTION - Duration::seconds(1)),
            ["new", "ed", "old"]
        );
        assert_eq!(kids(t0 + Duration::days(30) + KEY_RETENTION), ["new", "ed"]);
    }

    #[test]
    fn signatures_verify_with_the_published_key_only() {
        let sealer = crate::sealed::SecretKey::random();
        for alg in SigningAlg::ALL {
            let (sealed, jwk) = generate(alg, "k", &sealer).expect("generate");
            let der = sealer.open(&sealed).expect("open");
            let s = parse_signer(alg, &der).expect("parse");
            let sig = s.sign(b"hello").expect("sign");
            let v = Verifier::parse(&jwk, alg).expect("a key");
            assert!(v.verify(b"hello", &sig));
            assert!(!v.verify(b"hellp", &sig));
            let (_, other) = generate(alg, "k2", &sealer).expect("generate");
            let other = Verifier::parse(&other, alg).expect("a key");
            assert!(!other.verify(b"hello", &sig));
            // a JWK of the other algorithm is not taken for this one
            let wrong = match alg {
                SigningAlg::RS256 => SigningAlg::EdDSA,
                SigningAlg::EdDSA => SigningAlg::RS256,
            };
            assert!(Verifier::parse(&jwk, wrong).is_none());
        }
    }
}
