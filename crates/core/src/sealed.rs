//! Secrets Roster must read back (authenticator-app secrets) are sealed at rest with the
//! server's secret key: XChaCha20-Poly1305, a random 192-bit nonce per message.

use crate::error::{Error, Result};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// The server's 256-bit secret key (from configuration or the key file). Never printed.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(redacted)")
    }
}

impl SecretKey {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        SecretKey(b)
    }

    /// A fresh random key (tests, or a first run before the key file exists).
    pub fn random() -> Self {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        SecretKey(b)
    }

    /// HMAC-SHA-256 of `parts` (each length-prefixed) under this key: how short codes (backup
    /// codes, reset and login codes) are stored, so that a copy of the database alone cannot
    /// test guesses.
    pub fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        let Ok(mut m) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0) else {
            return Vec::new();
        };
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }

    /// nonce ‖ ciphertext+tag
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let ct = cipher
            .encrypt(&XNonce::from(nonce), plain)
            .map_err(|_| Error::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 24 + 16 {
            return Err(Error::Internal("sealed secret is too short".into()));
        }
        let (nonce, ct) = sealed.split_at(24);
        let nonce: [u8; 24] = nonce
            .try_into()
            .map_err(|_| Error::Internal("sealed secret nonce".into()))?;
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(&XNonce::from(nonce), ct)
            .map_err(|_| {
                Error::Internal(
                    "a sealed secret does not open with this server's secret key (was the key \
                     changed, or do the nodes have different keys?)"
                        .into(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let k = SecretKey::random();
        let s = k.seal(b"totp secret").unwrap();
        assert_ne!(&s[24..], b"totp secret");
        assert_eq!(k.open(&s).unwrap(), b"totp secret");
        assert!(SecretKey::random().open(&s).is_err());
        let mut tampered = s.clone();
        tampered[30] ^= 1;
        assert!(k.open(&tampered).is_err());
        assert_eq!(format!("{k:?}"), "SecretKey(redacted)");
    }
}
