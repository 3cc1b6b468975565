//! Identity journey: login lockout, logout, idle sessions, and an ID's secrets never leaving the
//! server.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp};
use time::Duration;

pub(super) async fn the_security_answer_is_never_returned(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 10).await;
    let (member, session) = t.add_user(&a, &admin, "secret@example.com").await;
    let mut bodies = vec![
        t.get("/api/v1/me", Some(&session)).await.body,
        t.get(&format!("/api/v1/apps/{a}/members"), Some(&admin))
            .await
            .body,
        t.get(&format!("/api/v1/apps/{a}/members/{member}"), Some(&admin))
            .await
            .body,
        t.get(&format!("/api/v1/apps/{a}/invitations"), Some(&admin))
            .await
            .body,
        t.get(&format!("/api/v1/apps/{a}/audit"), Some(&admin))
            .await
            .body,
    ];
    bodies.push(t.login("secret@example.com", GOOD_PASSWORD).await.body);
    for b in bodies {
        let s = b.to_string().to_lowercase();
        assert!(!s.contains("rex"), "answer leaked: {s}");
        assert!(!s.contains("argon2"), "hash leaked: {s}");
        assert!(!s.contains("security_answer"), "field leaked: {s}");
        assert!(
            !s.contains(&GOOD_PASSWORD.to_lowercase()),
            "password leaked"
        );
    }
    // stored hashed and normalised
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("secret@example.com")
        .await
        .expect("find")
        .expect("id");
    let hash = id.security_answer_hash.expect("answer hash");
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        t.services
            .hasher()
            .verify("rex".into(), Some(hash))
            .await
            .expect("verify")
    );
}

pub(super) async fn parallel_wrong_passwords_cannot_bypass_the_lockout(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    let attempts = (0..20).map(|_| t.login("admin@alpha.test", "Wrong-Password-1"));
    let results = futures::future::join_all(attempts).await;
    assert!(results.iter().all(|r| r.status == StatusCode::UNAUTHORIZED));
    // now locked: even the right password is refused, with the same answer
    let r = t.login("admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("admin@alpha.test")
        .await
        .expect("f")
        .expect("id");
    assert!(id.lockout.is_locked(t.now()));
    drop(r);
    // after the lock ends (1 minute for the first lock), the right password works
    t.clock.advance(Duration::minutes(2));
    let r = t.login("admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

pub(super) async fn logout_ends_the_session(t: TestApp) {
    let (_a, admin) = t.app_with_admin("Alpha", 3).await;
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::OK
    );
    let r = t.delete("/api/v1/session", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.set_cookie.unwrap_or_default().contains("Max-Age=0"));
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

pub(super) async fn sessions_expire_when_idle(t: TestApp) {
    let (_a, admin) = t.app_with_admin("Alpha", 3).await;
    t.clock.advance(Duration::hours(13));
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );
}
