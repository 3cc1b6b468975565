//! J7: forgot password, reset (link or code, security answer, history), locks that a reset
//! clears, change password, change login email.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp, link_token, reset_code};
use serde_json::json;
use time::Duration;

const NEW_PASSWORD: &str = "Green-Lantern-77";

async fn forgot(t: &TestApp, email: &str) -> roster_testkit::Resp {
    t.post("/api/v1/password/forgot", None, json!({"email": email}))
        .await
}

async fn reset(t: &TestApp, body: serde_json::Value) -> roster_testkit::Resp {
    t.post("/api/v1/password/reset", None, body).await
}

pub(super) async fn forgot_password_answers_the_same_and_a_reset_works_once(t: TestApp) {
    let (app, session) = t.app_with_admin("Alpha", 3).await;
    let known = forgot(&t, "admin@alpha.test").await;
    let unknown = forgot(&t, "nobody@alpha.test").await;
    assert_eq!(
        (known.status, unknown.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(known.body, unknown.body, "no account enumeration");
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1, "only the real ID gets mail");
    assert!(mails[0].to.contains("admin@alpha.test"));
    let token = link_token(&mails[0], "/reset-password/");
    let code = reset_code(&mails[0]);
    assert!(token.len() >= 43, "at least 256 bits");
    assert!(
        code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    // stored hashed: neither the token nor the code is in the database
    let mut r = t.store.read().await.expect("read");
    let stored = r
        .lock_identity_token(&roster_core::token::hash_token(&token))
        .await
        .expect("find")
        .expect("stored by hash");
    assert!(stored.code_hash.is_some_and(|h| h != code.as_bytes()));
    drop(r);

    // the ID has a security question: its answer is asked as well (never instead)
    let r = reset(&t, json!({"token": token, "password": NEW_PASSWORD})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("pet"),
        "{:?}",
        r.body
    );
    let r = reset(
        &t,
        json!({"token": token, "password": NEW_PASSWORD, "security_answer": "Fido"}),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "security_answer_wrong")
    );
    let r = reset(
        &t,
        json!({"token": "not-a-token", "password": NEW_PASSWORD, "security_answer": "rex"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "link_invalid"));
    // the policy, and not the current password again
    let r = reset(
        &t,
        json!({"token": token, "password": "short", "security_answer": "rex"}),
    )
    .await;
    assert_eq!(r.code(), "password_policy");
    let r = reset(
        &t,
        json!({"token": token, "password": GOOD_PASSWORD, "security_answer": "rex"}),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "password_reused")
    );
    let r = reset(
        &t,
        json!({"token": token, "password": NEW_PASSWORD, "security_answer": " REX "}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // single use; every session ended; the owner told; the new password works
    let r = reset(
        &t,
        json!({"token": token, "password": "Other-Password-9", "security_answer": "rex"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "link_invalid"));
    assert_eq!(
        t.get("/api/v1/me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.login("admin@alpha.test", GOOD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let admin = t.login_token("admin@alpha.test", NEW_PASSWORD).await;
    let mails = t.deliver_mail().await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("password was reset")),
        "notice"
    );
    // the owner sees it in their security activity (the app's admins do not: not theirs)
    let audit = t
        .get(
            "/api/v1/me/security-activity?action=password.",
            Some(&admin),
        )
        .await;
    let app_log = t
        .get(
            &format!("/api/v1/apps/{app}/audit?action=password."),
            Some(&admin),
        )
        .await;
    assert_eq!(app_log.body["items"].as_array().map(Vec::len), Some(0));
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"password.reset"), "{actions:?}");
    assert!(actions.contains(&"password.reset_failed"), "{actions:?}");

    // a link expires after 30 minutes
    forgot(&t, "admin@alpha.test").await;
    let mail = t.deliver_mail().await.pop().expect("mail");
    let token = link_token(&mail, "/reset-password/");
    t.clock.advance(Duration::minutes(31));
    let r = reset(
        &t,
        json!({"token": token, "password": "Other-Password-9", "security_answer": "rex"}),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "link_invalid"));
}

pub(super) async fn the_emailed_code_works_and_five_wrong_codes_void_it(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    forgot(&t, "admin@alpha.test").await;
    let mail = t.deliver_mail().await.pop().expect("mail");
    let code = reset_code(&mail);
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let body = |c: &str| json!({"email": "Admin@Alpha.test", "code": c, "password": NEW_PASSWORD, "security_answer": "rex"});
    for _ in 0..5 {
        let r = reset(&t, body(wrong)).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "code_invalid")
        );
    }
    // voided: the right code no longer works, but the link of the same email still does
    assert_eq!(reset(&t, body(&code)).await.code(), "code_invalid");
    let token = link_token(&mail, "/reset-password/");
    let r = reset(
        &t,
        json!({"token": token, "password": "Link-Password-5", "security_answer": "rex"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // a new email, a new code
    forgot(&t, "admin@alpha.test").await;
    let mail = t
        .deliver_mail()
        .await
        .into_iter()
        .find(|m| m.text.contains("/reset-password/"))
        .expect("reset mail");
    let r = reset(&t, body(&reset_code(&mail))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    t.login_token("admin@alpha.test", NEW_PASSWORD).await;
}

pub(super) async fn a_locked_owner_gets_back_in_with_the_emailed_reset(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    for _ in 0..5 {
        t.login("admin@alpha.test", "Wrong-Password-1").await;
    }
    assert_eq!(
        t.login("admin@alpha.test", GOOD_PASSWORD).await.code(),
        "id_locked"
    );
    let mail = t.deliver_mail().await.pop().expect("lock email");
    assert!(mail.subject.contains("locked"), "{}", mail.subject);
    let token = link_token(&mail, "/reset-password/");
    // a stranger keeps guessing: the reset still gets the owner in
    t.login("admin@alpha.test", "Wrong-Password-2").await;
    let r = reset(
        &t,
        json!({"token": token, "password": NEW_PASSWORD, "security_answer": "rex"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // the lock is cleared at once
    t.login_token("admin@alpha.test", NEW_PASSWORD).await;
}

pub(super) async fn changing_the_password_ends_other_sessions_and_renews_this_one(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    let this = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    let other = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    let change = |cur: &'static str, new: &'static str| json!({"current_password": cur, "new_password": new});
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&this),
            change("Wrong-Password-1", NEW_PASSWORD),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    assert_eq!(r.body["errors"][0]["field"], "current_password");
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&this),
            change(GOOD_PASSWORD, GOOD_PASSWORD),
        )
        .await;
    assert_eq!(r.code(), "password_reused");
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&this),
            change(GOOD_PASSWORD, NEW_PASSWORD),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let renewed = r.body["token"].as_str().expect("new token").to_string();
    assert_ne!(renewed, this);
    for old in [&this, &other] {
        assert_eq!(
            t.get("/api/v1/me", Some(old)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        t.get("/api/v1/me", Some(&renewed)).await.status,
        StatusCode::OK
    );
    let mails = t.deliver_mail().await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("password was changed"))
    );
    // the last 4 passwords include older ones than the current
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&renewed),
            change(NEW_PASSWORD, "Third-Password-3"),
        )
        .await;
    let renewed = r.body["token"].as_str().expect("token").to_string();
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&renewed),
            change("Third-Password-3", GOOD_PASSWORD),
        )
        .await;
    assert_eq!(r.code(), "password_reused");
}

pub(super) async fn the_login_email_changes_only_when_the_new_address_confirms(t: TestApp) {
    let (app, admin) = t.app_with_admin("Alpha", 3).await;
    t.add_user(&app, &admin, "taken@alpha.test").await;
    t.deliver_mail().await;
    let ask =
        |email: &'static str, pw: &'static str| json!({"email": email, "current_password": pw});
    let r = t
        .post(
            "/api/v1/me/email",
            Some(&admin),
            ask("new@alpha.test", "Wrong-Password-1"),
        )
        .await;
    assert_eq!(r.body["errors"][0]["field"], "current_password");
    // another ID's address: the same answer as any other (nothing revealed yet)
    let taken = t
        .post(
            "/api/v1/me/email",
            Some(&admin),
            ask("taken@alpha.test", GOOD_PASSWORD),
        )
        .await;
    assert_eq!(taken.status, StatusCode::ACCEPTED);
    let mails = t.deliver_mail().await;
    let link = mails
        .iter()
        .find(|m| m.to.contains("taken@alpha.test"))
        .expect("link");
    let r = t
        .post(
            "/api/v1/email/confirm",
            None,
            json!({"token": link_token(link, "/confirm-email/")}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "email_in_use"));

    let r = t
        .post(
            "/api/v1/me/email",
            Some(&admin),
            ask("New@Alpha.test", GOOD_PASSWORD),
        )
        .await;
    assert_eq!((r.status, &r.body), (StatusCode::ACCEPTED, &taken.body));
    let mails = t.deliver_mail().await;
    let link = mails
        .iter()
        .find(|m| m.to.to_lowercase().contains("new@alpha.test"))
        .expect("confirmation");
    let notice = mails
        .iter()
        .find(|m| m.to.contains("admin@alpha.test"))
        .expect("notice to the old address");
    assert!(notice.text.contains("new@alpha.test") || notice.text.contains("New@Alpha.test"));
    assert!(
        notice.text.contains("/forgot-password"),
        "a way to report it"
    );
    // nothing changes before the link is used
    assert_eq!(
        t.login("new@alpha.test", GOOD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let token = link_token(link, "/confirm-email/");
    let r = t
        .post("/api/v1/email/confirm", None, json!({"token": token}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    t.login_token("new@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(
        t.login("admin@alpha.test", GOOD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = t
        .post("/api/v1/email/confirm", None, json!({"token": token}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "link_invalid"));
    // a link works for 24 hours
    let me = t.login_token("new@alpha.test", GOOD_PASSWORD).await;
    t.post(
        "/api/v1/me/email",
        Some(&me),
        ask("later@alpha.test", GOOD_PASSWORD),
    )
    .await;
    let mails = t.deliver_mail().await;
    let link = mails
        .iter()
        .find(|m| m.to.contains("later@alpha.test"))
        .expect("link");
    t.clock.advance(Duration::hours(25));
    let r = t
        .post(
            "/api/v1/email/confirm",
            None,
            json!({"token": link_token(link, "/confirm-email/")}),
        )
        .await;
    assert_eq!(r.code(), "link_invalid");
}

pub(super) async fn forgot_password_is_throttled_per_client_address(t: TestApp) {
    for _ in 0..10 {
        assert_eq!(
            forgot(&t, "someone@example.com").await.status,
            StatusCode::ACCEPTED
        );
    }
    let r = forgot(&t, "someone@example.com").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let secs: i64 = r
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((1..=600).contains(&secs), "{secs}");
    t.clock.advance(Duration::seconds(secs));
    assert_eq!(
        forgot(&t, "someone@example.com").await.status,
        StatusCode::ACCEPTED
    );
}
