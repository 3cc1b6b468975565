//! The site's cookies: their names, how they are read and how they are set, in one place.
//!
//! When the base URL is https ([`crate::AppState::secure_cookies`]) every cookie the server sets
//! carries the `__Host-` prefix, `Secure` and `Path=/` and no `Domain`: the browser then refuses
//! the same name from a sibling subdomain or from plain http, so a session or CSRF token cannot
//! be planted ("cookie tossing"). Over http (local use, tests) the names are the plain ones, since
//! a browser drops `__Host-` cookies that are not `Secure`. Only the name for the current scheme
//! is ever read.
//!
//! The `tz_offset` cookie written by /static/roster.js is not one of these: it only chooses how
//! times are displayed, and the script does not know the scheme the server was configured with.

use axum::http::{HeaderMap, HeaderValue, header};
use std::borrow::Cow;

/// The session (HttpOnly, SameSite=Lax).
pub const SESSION: &str = "roster_session";
/// The double-submit CSRF token of the pages (HttpOnly, SameSite=Strict).
pub const CSRF: &str = "roster_csrf";
/// The signed one-shot flash message (HttpOnly, SameSite=Lax).
pub const FLASH: &str = "roster_flash";
/// "Trust this browser for 30 days" after a second step (a random token, stored hashed).
pub const DEVICE: &str = "roster_device";

/// The name `base` goes by: `__Host-base` over https, `base` otherwise.
pub fn name(base: &str, secure: bool) -> Cow<'_, str> {
    if secure {
        Cow::Owned(format!("__Host-{base}"))
    } else {
        Cow::Borrowed(base)
    }
}

/// The non-empty value of the cookie `base` (under its name for this scheme).
pub fn read(headers: &HeaderMap, base: &str, secure: bool) -> Option<String> {
    read_exact(headers, &name(base, secure))
}

/// The non-empty value of the cookie called exactly `name`.
pub fn read_exact(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().find_map(|v| {
        v.to_str().ok()?.split(';').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
    })
}

/// `Set-Cookie` for `base`: `Path=/`, the given attributes (e.g. `HttpOnly; SameSite=Lax;
/// Max-Age=0`), and `Secure` over https. `None` if `value` cannot be a header.
pub fn set(base: &str, value: &str, attrs: &str, secure: bool) -> Option<HeaderValue> {
    let s = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; {attrs}{s}",
        name(base, secure)
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_names_carry_the_host_prefix_and_only_they_are_read() {
        let v = set(SESSION, "abc", "HttpOnly; SameSite=Lax", true).unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "__Host-roster_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let v = set(SESSION, "abc", "HttpOnly", false).unwrap();
        assert_eq!(v.to_str().unwrap(), "roster_session=abc; Path=/; HttpOnly");
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("roster_csrf=plain; x=1"),
        );
        assert_eq!(read(&h, CSRF, false).as_deref(), Some("plain"));
        assert_eq!(read(&h, CSRF, true), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-roster_csrf=host; roster_csrf=plain"),
        );
        assert_eq!(read(&h, CSRF, true).as_deref(), Some("host"));
    }
}
