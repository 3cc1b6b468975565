//! Authenticator-app codes (TOTP, RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, one step
//! of clock drift either way; a step whose code was accepted is never accepted again.

use crate::token::constant_time_eq as ct_eq;
use rand::RngCore;
use time::OffsetDateTime;

pub const STEP_SECONDS: i64 = 30;

/// 160 random bits (the size RFC 4226 recommends for HMAC-SHA-1).
pub fn new_secret() -> Vec<u8> {
    let mut b = vec![0u8; 20];
    rand::rng().fill_bytes(&mut b);
    b
}

/// The secret as people type it into an authenticator app.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URL an authenticator app scans.
pub fn otpauth_url(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

pub fn step_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// The code of a step.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build_noncompliant();
    totp.generate((step.max(0) * STEP_SECONDS) as u64)
        .to_string()
}

/// The step whose code `code` is, among now−1, now, now+1 and after `last_step`.
pub fn verify(secret: &[u8], code: &str, now: OffsetDateTime, last_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now);
    (now - 1..=now + 1)
        .filter(|s| *s > last_step)
        .find(|s| ct_eq(code_at(secret, *s).as_bytes(), code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_test_vectors() {
        // RFC 6238 appendix B: secret "12345678901234567890", 8 digits; the 6-digit code is
        // the last 6 digits of the same truncation
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59i64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(code_at(secret, t / 30), eight[2..], "t={t}");
        }
    }

    #[test]
    fn a_code_is_accepted_once_within_one_step_of_drift() {
        let secret = new_secret();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let s = step_of(now);
        assert_eq!(verify(&secret, &code_at(&secret, s), now, 0), Some(s));
        assert_eq!(
            verify(&secret, &code_at(&secret, s - 1), now, 0),
            Some(s - 1)
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, s + 1), now, 0),
            Some(s + 1)
        );
        assert_eq!(verify(&secret, &code_at(&secret, s - 2), now, 0), None);
        // reuse within its window
        assert_eq!(verify(&secret, &code_at(&secret, s), now, s), None);
        assert_eq!(verify(&secret, "12345", now, 0), None);
        assert!(
            otpauth_url("Roster", "ada@example.com", &secret)
                .starts_with("otpauth://totp/Roster:ada@example.com?secret=")
        );
    }
}
