//! One-shot flash messages: after an action the server redirects and the next page shows what
//! happened, once. The text is chosen by the server and travels in a short-lived cookie signed
//! with HMAC-SHA256, so a URL (or anyone else) cannot make the site say something it did not say.
//!
//! The key is random per process unless [`set_key`] is called at start-up (several nodes behind a
//! load balancer should share one). A flash whose signature does not verify is ignored.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub const FLASH_COOKIE: &str = "roster_flash";
/// A flash that is not shown within this many seconds is dropped.
const TTL_SECS: u64 = 120;

static KEY: OnceLock<[u8; 32]> = OnceLock::new();

/// Use a configured key (e.g. shared by all nodes). Only the first call has an effect, and only
/// before the first flash is signed; returns whether the key was taken.
pub fn set_key(key: &[u8]) -> bool {
    KEY.set(Sha256::digest(key).into()).is_ok()
}

fn key() -> &'static [u8; 32] {
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        k
    })
}

fn hmac(msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, b) in key().iter().enumerate() {
        ipad[i] ^= b;
        opad[i] ^= b;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn seal(text: &str) -> String {
    let payload = format!("{}|{text}", now_secs() + TTL_SECS);
    format!(
        "{}.{}",
        B64.encode(payload.as_bytes()),
        B64.encode(hmac(payload.as_bytes()))
    )
}

fn open(value: &str) -> Option<String> {
    let (p, m) = value.split_once('.')?;
    let payload = B64.decode(p).ok()?;
    let mac = B64.decode(m).ok()?;
    let want = hmac(&payload);
    // constant-time comparison
    if mac.len() != want.len() || mac.iter().zip(want).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
        return None;
    }
    let payload = String::from_utf8(payload).ok()?;
    let (exp, text) = payload.split_once('|')?;
    (exp.parse::<u64>().ok()? >= now_secs()).then(|| text.to_string())
}

/// The verified flash of this request, if any.
pub fn read(headers: &HeaderMap) -> Option<String> {
    super::frame::cookie(headers, FLASH_COOKIE).and_then(|v| open(&v))
}

/// The `Set-Cookie` that removes the flash once it has been shown.
pub fn clear(secure: bool) -> HeaderValue {
    let s = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{s}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// 303 to `to`, where `text` is shown once.
pub fn redirect(to: &str, text: &str, secure: bool) -> Response {
    let mut res = Redirect::to(to).into_response();
    let s = if secure { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TTL_SECS}{s}",
        seal(text)
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_flash_opens_and_a_forged_one_does_not() {
        let v = seal("Invitation sent to ann@example.com.");
        assert_eq!(
            open(&v).as_deref(),
            Some("Invitation sent to ann@example.com.")
        );
        let forged = format!(
            "{}.{}",
            B64.encode(b"9999999999|Pay here"),
            B64.encode([0u8; 32])
        );
        assert_eq!(open(&forged), None);
        let (p, m) = v.split_once('.').unwrap();
        let other = B64.encode(format!("{}|Pay here", now_secs() + 60));
        assert_eq!(open(&format!("{other}.{m}")), None);
        assert_eq!(open(p), None);
    }
}
