//! Password policy (the seeds' rules plus length, email and common-password checks) and Argon2id
//! hashing, always run off the async runtime.

use crate::error::Error;
use argon2::password_hash::phc::Output;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, LazyLock};

/// 20,000 most common passwords, lower-cased (from the zxcvbn project's frequency list, which is
/// derived from Xato's 10 million password corpus; MIT licence). See docs/decisions.md.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// True when `candidate` (case-insensitively) is in the shipped list of common passwords.
pub fn is_common(candidate: &str) -> bool {
    COMMON.contains(candidate.to_lowercase().as_str())
}

pub fn common_list_len() -> usize {
    COMMON.len()
}

/// One broken password rule. All broken rules are reported at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordRule {
    MinLength,
    MaxLength,
    Uppercase,
    Lowercase,
    Digit,
    ContainsEmail,
    Common,
}

impl PasswordRule {
    pub fn describe(self, policy: &PasswordPolicy) -> String {
        match self {
            PasswordRule::MinLength => format!("{} characters minimum", policy.min_len),
            PasswordRule::MaxLength => format!("{} characters maximum", policy.max_len),
            PasswordRule::Uppercase => "One uppercase letter".into(),
            PasswordRule::Lowercase => "One lowercase letter".into(),
            PasswordRule::Digit => "One number".into(),
            PasswordRule::ContainsEmail => "Must not contain your email name".into(),
            PasswordRule::Common => "Must not be a commonly used password".into(),
        }
    }
}

/// Which rule set applies. `Seed` is the default (the seed product's composition rules);
/// `Nist` follows NIST SP 800-63B rev 4 (length ≥ 15, no composition rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PasswordPreset {
    #[default]
    Seed,
    Nist,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_len: usize,
    pub max_len: usize,
    pub composition: bool,
}

impl PasswordPolicy {
    pub fn from_preset(p: PasswordPreset) -> Self {
        match p {
            PasswordPreset::Seed => PasswordPolicy {
                min_len: 7,
                max_len: 128,
                composition: true,
            },
            PasswordPreset::Nist => PasswordPolicy {
                min_len: 15,
                max_len: 128,
                composition: false,
            },
        }
    }

    /// Check `raw` for the ID with email local part `email_local`; every broken rule is returned.
    pub fn check(&self, raw: &str, email_local: &str) -> Result<Password, Error> {
        let mut broken = Vec::new();
        let n = raw.chars().count();
        if n < self.min_len {
            broken.push(PasswordRule::MinLength);
        }
        if n > self.max_len {
            broken.push(PasswordRule::MaxLength);
        }
        if self.composition {
            if !raw.chars().any(char::is_uppercase) {
                broken.push(PasswordRule::Uppercase);
            }
            if !raw.chars().any(char::is_lowercase) {
                broken.push(PasswordRule::Lowercase);
            }
            if !raw.chars().any(|c| c.is_ascii_digit()) {
                broken.push(PasswordRule::Digit);
            }
        }
        let lower = raw.to_lowercase();
        if email_local.chars().count() >= 3 && lower.contains(&email_local.to_lowercase()) {
            broken.push(PasswordRule::ContainsEmail);
        }
        if is_common(&lower) {
            broken.push(PasswordRule::Common);
        }
        if broken.is_empty() {
            Ok(Password(raw.to_string()))
        } else {
            Err(Error::PasswordPolicy(broken, self.clone()))
        }
    }
}

/// A password that passed the policy. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Argon2id cost. Defaults are OWASP's minimum: 19 MiB, 2 iterations, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub lanes: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            lanes: 1,
        }
    }
}

/// Hashes and verifies secrets (passwords, security answers) with Argon2id on the blocking pool.
#[derive(Clone)]
pub struct Hasher {
    inner: Arc<HasherInner>,
}

struct HasherInner {
    params: Params,
    dummy: String,
    /// At most this many hashes run at once (each holds its memory cost): a burst of logins
    /// queues instead of exhausting memory and the blocking pool.
    permits: tokio::sync::Semaphore,
    slots: usize,
    /// Argon2's working memory, kept between verifications: a fresh 19 MiB buffer costs ~5,000
    /// page faults and zeroing, a third of a verification (106 → 55 verifies/s on 2 cores without it).
    /// At most `slots` buffers exist at once; those unused for [`BUFFER_IDLE`] are given back.
    buffers: std::sync::Mutex<Vec<(Vec<Block>, std::time::Instant)>>,
}

/// Buffers unused this long are freed (the process returns to its idle size after a burst).
const BUFFER_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

impl HasherInner {
    fn take_buffer(&self, blocks: usize) -> Vec<Block> {
        let reused = self.buffers.lock().ok().and_then(|mut idle| {
            let at = idle.iter().position(|(b, _)| b.len() == blocks)?;
            Some(idle.swap_remove(at).0)
        });
        // every block is written before it is read: a reused buffer's old content never counts
        reused.unwrap_or_else(|| vec![Block::default(); blocks])
    }

    fn give_back(&self, buffer: Vec<Block>) {
        if let Ok(mut idle) = self.buffers.lock() {
            // beyond one per slot (a changed cost), the oldest go
            idle.push((buffer, std::time::Instant::now()));
            while idle.len() > self.slots {
                idle.remove(0);
            }
        }
    }

    /// Free the buffers unused for `idle`; returns how many are kept.
    fn release_idle(&self, idle: std::time::Duration) -> usize {
        match self.buffers.lock() {
            Ok(mut kept) => {
                kept.retain(|(_, since)| since.elapsed() < idle);
                kept.len()
            }
            Err(_) => 0,
        }
    }

    /// Verify `secret` against a PHC string, computing in a kept buffer.
    fn verify_phc(&self, secret: &[u8], phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        if parsed.algorithm != argon2::ARGON2ID_IDENT {
            // not ours: the library's own path (allocates)
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
            return argon.verify_password(secret, phc).is_ok();
        }
        let (Ok(params), Some(salt), Some(expected)) =
            (Params::try_from(&parsed), &parsed.salt, &parsed.hash)
        else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from).transpose() {
            Ok(v) => v.unwrap_or(Version::V0x13),
            Err(_) => return false,
        };
        let blocks = params.block_count();
        let argon = Argon2::new(Algorithm::Argon2id, version, params);
        let mut out = vec![0u8; expected.len()];
        let mut buffer = self.take_buffer(blocks);
        let done =
            argon.hash_password_into_with_memory(secret, salt.as_ref(), &mut out, &mut buffer);
        self.give_back(buffer);
        // Output compares in constant time
        done.is_ok() && Output::new(&out).is_ok_and(|o| o == *expected)
    }
}

/// Concurrent Argon2 computations: one per core. Argon2 is pure CPU work, so more at once only
/// adds memory (each holds its memory cost, 19 MiB by default) without adding throughput; a burst
/// of logins waits for a slot instead (issue 13: 16 logins at once took 1.4 GB with twice this).
fn hash_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Hasher {
    pub fn new(cost: HashCost) -> Result<Self, Error> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.lanes, None)
            .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let mut inner = HasherInner {
            params,
            dummy: String::new(),
            permits: tokio::sync::Semaphore::new(hash_slots()),
            slots: hash_slots(),
            buffers: std::sync::Mutex::new(Vec::new()),
        };
        inner.dummy = hash_sync(&inner.params, "roster-dummy-password-for-timing")?;
        let inner = Arc::new(inner);
        // within a runtime, idle buffers are freed in the background until the hasher is dropped
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&inner);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(BUFFER_IDLE / 2).await;
                    let Some(inner) = weak.upgrade() else { break };
                    inner.release_idle(BUFFER_IDLE);
                }
            });
        }
        Ok(Hasher { inner })
    }

    /// How many hashes may run at once (the rest wait): the bound on Argon2's memory.
    pub fn slots(&self) -> usize {
        self.inner.slots
    }

    pub async fn hash(&self, secret: String) -> Result<String, Error> {
        let _slot = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(format!("hash slots: {e}")))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || hash_sync(&inner.params, &secret))
            .await
            .map_err(|e| Error::Internal(format!("hash task: {e}")))?
    }

    /// Verify `secret` against `hash`; with `None` a dummy hash is verified so an unknown ID
    /// costs the same time as a known one. Returns false for `None`.
    pub async fn verify(&self, secret: String, hash: Option<String>) -> Result<bool, Error> {
        let _slot = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(format!("hash slots: {e}")))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || match hash {
            Some(h) => Ok(inner.verify_phc(secret.as_bytes(), &h)),
            None => {
                let _ = inner.verify_phc(secret.as_bytes(), &inner.dummy);
                Ok(false)
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("verify task: {e}")))?
    }
}

fn hash_sync(params: &Params, secret: &str) -> Result<String, Error> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    argon
        .hash_password_with_salt(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(p: &PasswordPolicy, pw: &str, local: &str) -> Vec<PasswordRule> {
        match p.check(pw, local) {
            Ok(_) => vec![],
            Err(Error::PasswordPolicy(r, _)) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_shipped_list_has_at_least_ten_thousand_entries() {
        assert!(common_list_len() >= 10_000);
        assert!(is_common("Password1"));
        assert!(is_common("qwerty123"));
    }

    #[test]
    fn each_rule_alone() {
        let p = PasswordPolicy::from_preset(PasswordPreset::Seed);
        assert_eq!(rules(&p, "Tr8fulX", "rohit"), vec![]);
        assert_eq!(rules(&p, "Tr8fuX", "rohit"), vec![PasswordRule::MinLength]);
        assert_eq!(
            rules(&p, "tr8fulxq", "rohit"),
            vec![PasswordRule::Uppercase]
        );
        assert_eq!(
            rules(&p, "TR8FULXQ", "rohit"),
            vec![PasswordRule::Lowercase]
        );
        assert_eq!(rules(&p, "TrpfulXq", "rohit"), vec![PasswordRule::Digit]);
        assert_eq!(
            rules(&p, &format!("Tr8{}", "x".repeat(130)), "rohit"),
            vec![PasswordRule::MaxLength]
        );
        assert_eq!(
            rules(&p, "xRohit9z", "rohit"),
            vec![PasswordRule::ContainsEmail]
        );
        assert_eq!(rules(&p, "Password1", "rohit"), vec![PasswordRule::Common]);
        // a local part shorter than 3 characters is not checked
        assert_eq!(rules(&p, "Tr8fulXab", "ab"), vec![]);
    }

    #[test]
    fn all_broken_rules_at_once() {
        let p = PasswordPolicy::from_preset(PasswordPreset::Seed);
        assert_eq!(
            rules(&p, "abc123", "abc"),
            vec![
                PasswordRule::MinLength,
                PasswordRule::Uppercase,
                PasswordRule::ContainsEmail,
                PasswordRule::Common
            ]
        );
    }

    #[test]
    fn a_128_character_password_is_allowed() {
        let p = PasswordPolicy::from_preset(PasswordPreset::Seed);
        let pw = format!("Aa1{}", "z".repeat(125));
        assert_eq!(pw.chars().count(), 128);
        assert_eq!(rules(&p, &pw, "rohit"), vec![]);
    }

    #[test]
    fn nist_preset_wants_length_not_composition() {
        let p = PasswordPolicy::from_preset(PasswordPreset::Nist);
        assert_eq!(rules(&p, "correct horse battery", "rohit"), vec![]);
        assert_eq!(rules(&p, "Tr8fulX", "rohit"), vec![PasswordRule::MinLength]);
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = Hasher::new(HashCost {
            memory_kib: 1024,
            iterations: 1,
            lanes: 1,
        })
        .unwrap();
        let hash = h.hash("Tr8fulX".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            h.verify("Tr8fulX".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!h.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!h.verify("Tr8fulX".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn argon2_runs_at_most_once_per_core() {
        let h = Hasher::new(HashCost {
            memory_kib: 1024,
            iterations: 1,
            lanes: 1,
        })
        .unwrap();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(h.slots(), cores);
        assert_eq!(h.inner.permits.available_permits(), cores);
        // with every slot taken, a hash waits (and holds no memory) until one is free
        let held = h.inner.permits.acquire_many(cores as u32).await.unwrap();
        let waiting = tokio::spawn({
            let h = h.clone();
            async move { h.hash("Tr8fulX".into()).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "a hash ran without a slot");
        drop(held);
        let hash = waiting.await.unwrap().unwrap();
        assert!(hash.starts_with("$argon2id$"));
    }

    #[tokio::test]
    async fn verification_memory_is_kept_per_slot_and_freed_when_idle() {
        let cost = |memory_kib| HashCost {
            memory_kib,
            iterations: 1,
            lanes: 1,
        };
        let h = Hasher::new(cost(1024)).unwrap();
        let hash = h.hash("Tr8fulX".into()).await.unwrap();
        // a hash made at another cost (an older setting) still verifies
        let other = Hasher::new(cost(2048)).unwrap();
        let old_hash = other.hash("Tr8fulX".into()).await.unwrap();
        let many: Vec<_> = (0..8)
            .map(|_| {
                let (h, hash) = (h.clone(), hash.clone());
                tokio::spawn(async move { h.verify("Tr8fulX".into(), Some(hash)).await })
            })
            .collect();
        for v in many {
            assert!(v.await.unwrap().unwrap());
        }
        assert!(h.verify("Tr8fulX".into(), Some(old_hash)).await.unwrap());
        assert!(!h.verify("Wrong1".into(), Some(hash.clone())).await.unwrap());
        assert!(
            !h.verify("Tr8fulX".into(), Some("$argon2id$v=19$bad".into()))
                .await
                .unwrap()
        );
        // at most one buffer per slot is kept, and none once they have been idle
        let kept = h.inner.release_idle(BUFFER_IDLE);
        assert!((1..=h.slots()).contains(&kept), "{kept} buffers kept");
        assert_eq!(h.inner.release_idle(std::time::Duration::ZERO), 0);
        assert!(h.verify("Tr8fulX".into(), Some(hash)).await.unwrap());
    }

    #[test]
    fn default_cost_is_at_least_owasp() {
        let c = HashCost::default();
        assert!(c.memory_kib >= 19 * 1024 && c.iterations >= 2 && c.lanes >= 1);
    }
}
