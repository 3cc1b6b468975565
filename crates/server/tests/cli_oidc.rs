//! `roster client …` and `roster keys …` as an operator uses them.

mod common;

use common::{roster, text};

#[test]
fn client_create_prints_the_id_and_secret_once_and_list_shows_it() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Acme CRM",
            "--redirect-uri",
            "https://crm.example.com/cb",
            "--first-party",
            "--back-channel-logout-uri",
            "https://crm.example.com/backchannel",
        ],
        &[],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("client_id: "))
        .expect("client_id")
        .to_string();
    assert!(id.starts_with("rc_"), "{out}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("secret");
    assert_eq!(secret.len(), 43, "{out}");
    // a public client has no secret
    let o = roster(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Plugin",
            "--public",
            "--redirect-uri",
            "https://p.example.com/cb",
        ],
        &[],
    );
    let out = text(&o);
    assert!(
        o.status.success() && !out.contains("client_secret"),
        "{out}"
    );
    // the list shows both, never a secret
    let o = roster(dir.path(), &["client", "list"], &[]);
    let listed = text(&o);
    assert!(
        listed.contains(&id) && listed.contains("Acme CRM") && listed.contains("first-party"),
        "{listed}"
    );
    assert!(
        listed.contains("Plugin") && listed.contains("public"),
        "{listed}"
    );
    assert!(!listed.contains(secret), "{listed}");
}

#[test]
fn client_create_refuses_unusable_addresses_and_algorithms_by_flag() {
    let dir = tempfile::tempdir().expect("dir");
    for (args, flag) in [
        (
            vec!["--redirect-uri", "http://crm.example.com/cb"],
            "--redirect-uri",
        ),
        (
            vec!["--redirect-uri", "https://crm.example.com/cb#frag"],
            "--redirect-uri",
        ),
        (
            vec![
                "--redirect-uri",
                "https://ok.example.com/cb",
                "--id-token-alg",
                "HS256",
            ],
            "--id-token-alg",
        ),
        (
            vec![
                "--redirect-uri",
                "https://ok.example.com/cb",
                "--back-channel-logout-uri",
                "ftp://x",
            ],
            "--back-channel-logout-uri",
        ),
        (
            vec![
                "--redirect-uri",
                "https://ok.example.com/cb",
                "--post-logout-redirect-uri",
                "http://crm.example.com/bye",
            ],
            "--post-logout-redirect-uri",
        ),
    ] {
        let mut all = vec!["client", "create", "--name", "X"];
        all.extend(args);
        let o = roster(dir.path(), &all, &[]);
        let out = text(&o);
        assert!(!o.status.success(), "{out}");
        assert!(out.contains(flag), "{flag}: {out}");
        assert!(!out.contains("panicked"), "{out}");
    }
}

/// (created_at, activates_at) of the signing keys, in milliseconds, newest first.
fn key_times(dir: &std::path::Path) -> Vec<(i64, i64)> {
    let c = rusqlite::Connection::open(dir.join("data/roster.db")).expect("open database");
    let mut q = c
        .prepare(
            "SELECT created_at, activates_at FROM oidc_signing_keys \
             ORDER BY created_at DESC, kid",
        )
        .expect("query");
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("times")
}

#[test]
fn keys_rotate_makes_new_signing_keys_that_sign_after_the_jwks_cache_time() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(dir.path(), &["keys", "rotate"], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("new signing keys: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(line.split(", ").count(), 2, "{out}");
    // by default the new keys are published 5 minutes before they sign, longer than the
    // JWKS is cached (max-age=60)
    assert!(out.contains("they sign in 300 s"), "{out}");
    let keys = key_times(dir.path());
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter().all(|(made, signs)| signs - made == 300_000),
        "{keys:?}"
    );
    // a compromised key: --now signs with the new keys at once
    let o = roster(dir.path(), &["keys", "rotate", "--now"], &[]);
    let out = text(&o);
    assert!(
        o.status.success() && out.contains("they sign from now on"),
        "{out}"
    );
    let keys = key_times(dir.path());
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(
        keys[..2].iter().all(|(made, signs)| made == signs),
        "{keys:?}"
    );
    let o = roster(dir.path(), &["keys", "rotate", "--lead-seconds", "0"], &[]);
    assert!(o.status.success() && text(&o).contains("they sign from now on"));
    let o = roster(dir.path(), &["keys", "rotate", "--lead-seconds", "-5"], &[]);
    assert!(!o.status.success());
    let o = roster(
        dir.path(),
        &["keys", "rotate", "--now", "--lead-seconds", "60"],
        &[],
    );
    assert!(!o.status.success(), "{}", text(&o));
}
