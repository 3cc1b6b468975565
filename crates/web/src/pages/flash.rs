//! One-shot flash messages: after an action the server redirects and the next page shows what
//! happened, once. The text is chosen by the server and travels in a short-lived cookie signed
//! with HMAC-SHA256, so a URL (or anyone else) cannot make the site say something it did not say.
//!
//! The key is [`crate::AppState::flash_key`]: random per process unless loaded with
//! [`crate::AppState::with_shared_keys`], which takes it from the database so that every node
//! behind a load balancer shares it. A flash whose signature does not verify is ignored.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

/// The flash cookie's base name (`__Host-roster_flash` over https, see [`crate::cookies`]).
pub const FLASH_COOKIE: &str = crate::cookies::FLASH;
/// A flash that is not shown within this many seconds is dropped.
const TTL_SECS: i64 = 120;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8; 32], payload: &[u8]) -> Option<HmacSha256> {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    m.update(payload);
    Some(m)
}

fn seal(key: &[u8; 32], now: OffsetDateTime, text: &str) -> Option<String> {
    let payload = format!("{}|{text}", now.unix_timestamp() + TTL_SECS);
    let tag = mac(key, payload.as_bytes())?.finalize().into_bytes();
    Some(format!(
        "{}.{}",
        B64.encode(payload.as_bytes()),
        B64.encode(tag)
    ))
}

fn open(key: &[u8; 32], now: OffsetDateTime, value: &str) -> Option<String> {
    let (p, m) = value.split_once('.')?;
    let payload = B64.decode(p).ok()?;
    let tag = B64.decode(m).ok()?;
    // constant-time comparison
    mac(key, &payload)?.verify_slice(&tag).ok()?;
    let payload = String::from_utf8(payload).ok()?;
    let (exp, text) = payload.split_once('|')?;
    (exp.parse::<i64>().ok()? >= now.unix_timestamp()).then(|| text.to_string())
}

/// The verified flash of this request, if any.
pub fn read(
    key: &[u8; 32],
    now: OffsetDateTime,
    headers: &HeaderMap,
    secure: bool,
) -> Option<String> {
    crate::cookies::read(headers, FLASH_COOKIE, secure).and_then(|v| open(key, now, &v))
}

/// The `Set-Cookie` that removes the flash once it has been shown.
pub fn clear(secure: bool) -> HeaderValue {
    crate::cookies::set(
        FLASH_COOKIE,
        "",
        "HttpOnly; SameSite=Lax; Max-Age=0",
        secure,
    )
    .unwrap_or_else(|| HeaderValue::from_static(""))
}

/// 303 to `to`, where `text` is shown once.
pub fn redirect(
    key: &[u8; 32],
    now: OffsetDateTime,
    to: &str,
    text: &str,
    secure: bool,
) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Some(sealed) = seal(key, now, text)
        && let Some(v) = crate::cookies::set(
            FLASH_COOKIE,
            &sealed,
            &format!("HttpOnly; SameSite=Lax; Max-Age={TTL_SECS}"),
            secure,
        )
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_flash_opens_and_a_forged_or_stale_one_does_not() {
        let key = [7u8; 32];
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let v = seal(&key, now, "Invitation sent to ann@example.com.").unwrap();
        assert_eq!(
            open(&key, now, &v).as_deref(),
            Some("Invitation sent to ann@example.com.")
        );
        // another key (another installation) cannot open it
        assert_eq!(open(&[8u8; 32], now, &v), None);
        // expired
        assert_eq!(
            open(&key, now + time::Duration::seconds(TTL_SECS + 1), &v),
            None
        );
        let forged = format!(
            "{}.{}",
            B64.encode(b"9999999999|Pay here"),
            B64.encode([0u8; 32])
        );
        assert_eq!(open(&key, now, &forged), None);
        let (p, m) = v.split_once('.').unwrap();
        let other = B64.encode(format!("{}|Pay here", now.unix_timestamp() + 60));
        assert_eq!(open(&key, now, &format!("{other}.{m}")), None);
        assert_eq!(open(&key, now, p), None);
    }
}
