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
        // as a value (random tokens in the bodies may contain the letters "rex")
        assert!(
            !s.contains("\"rex\"") && !s.contains("\"  rex \""),
            "answer leaked: {s}"
        );
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
    // exactly 5 guesses are verified and answered wrong; the rest find the ID locked
    let wrong = results
        .iter()
        .filter(|r| (r.status, r.code()) == (StatusCode::UNAUTHORIZED, "invalid_credentials"))
        .count();
    let locked = results
        .iter()
        .filter(|r| (r.status, r.code()) == (StatusCode::TOO_MANY_REQUESTS, "id_locked"))
        .count();
    assert_eq!((wrong, locked), (5, 15));
    // now locked: even the right password is refused, but never called wrong
    let r = t.login("admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "id_locked")
    );
    assert!(
        r.body["retry_after"]
            .as_i64()
            .is_some_and(|s| (1..=60).contains(&s))
    );
    // the owner was emailed a way back in
    let mails = t.deliver_mail().await;
    assert!(
        mails
            .iter()
            .any(|m| m.to.contains("admin@alpha.test") && m.subject.contains("locked")),
        "lock email"
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

pub(super) async fn parallel_correct_logins_are_never_refused(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    // 16 at once (issue 13), more than the failure limit and more than the Argon2 slots:
    // attempts in flight are not failures, and waiting ones are not refused
    let attempts = (0..16).map(|_| t.login("admin@alpha.test", GOOD_PASSWORD));
    let results = futures::future::join_all(attempts).await;
    let statuses: Vec<StatusCode> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![StatusCode::OK; 16],
        "{:?}",
        results.iter().map(|r| r.code()).collect::<Vec<_>>()
    );
    // and none was counted as a failure
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("admin@alpha.test")
        .await
        .expect("f")
        .expect("id");
    assert_eq!((id.lockout.failed_count, id.lockout.in_flight), (0, 0));
}

pub(super) async fn unknown_email_locks_like_a_real_id(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    let start = t.now();
    let mut seen = Vec::new();
    for email in ["admin@alpha.test", "nobody@alpha.test"] {
        // the same clock for both: rewind to the start for the second email
        t.clock.advance(start - t.now());
        let mut answers = Vec::new();
        for round in 0..2 {
            for _ in 0..6 {
                let r = t.login(email, "Wrong-Password-1").await;
                // Retry-After in whole minutes: the seconds tick on while the test runs
                let minutes = r
                    .retry_after
                    .as_deref()
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(|s| format!("{}min", (s + 59) / 60))
                    .unwrap_or_default();
                answers.push(format!("{} {minutes}", r.code()));
            }
            // wait out the lock: the next lock is longer, for both
            let wait = if round == 0 { 61 } else { 301 };
            t.clock.advance(time::Duration::seconds(wait));
        }
        seen.push(answers);
    }
    // the same answers, Retry-After included, whether or not an ID has this email
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][5], "id_locked 1min");
    assert_eq!(seen[0][11], "id_locked 5min");
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

/// 100 parallel wrong passwords for one ID, in process (no client address, so the per-address
/// throttle stays out of the way): exactly 5 are verified and answered wrong, the rest find the
/// ID locked; audit rows say the same.
pub(super) async fn a_hundred_parallel_wrong_passwords_verify_exactly_five(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    let ctx = t.ctx();
    let attempts = (0..100).map(|_| {
        t.services
            .login(&ctx, "admin@alpha.test", "Wrong-Password-1", None)
    });
    let results = futures::future::join_all(attempts).await;
    let wrong = results
        .iter()
        .filter(|r| matches!(r, Err(roster_core::Error::InvalidCredentials)))
        .count();
    let locked = results
        .iter()
        .filter(|r| matches!(r, Err(roster_core::Error::Locked { .. })))
        .count();
    assert_eq!((wrong, locked), (5, 95));
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("admin@alpha.test")
        .await
        .expect("f")
        .expect("id");
    assert_eq!(id.lockout.in_flight, 0);
    let f = roster_core::model::AuditFilter {
        actor: Some(id.id),
        action: Some("login.failed".into()),
        ..Default::default()
    };
    let rows = r.list_identity_audit(&f, 200).await.expect("audit");
    let wrong_rows = rows
        .iter()
        .filter(|e| e.details["reason"] == "wrong_password")
        .count();
    assert_eq!(wrong_rows, 5);
}
