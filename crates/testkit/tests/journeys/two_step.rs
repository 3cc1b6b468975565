//! J7: two-step verification through the API — an authenticator app (codes from an
//! independent RFC 6238 implementation), backup codes, email codes, trusted browsers, the
//! lockout, an app's requirement, the operator's reset.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp, totp_code};
use serde_json::json;
use time::Duration;

/// Turn on an authenticator app for the session's ID; returns the secret, the new session
/// token and the backup codes.
pub async fn enrol_totp(t: &TestApp, session: &str) -> (String, String, Vec<String>) {
    let r = t
        .post("/api/v1/me/two-step/totp", Some(session), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    assert!(
        r.body["otpauth_url"]
            .as_str()
            .unwrap_or("")
            .starts_with("otpauth://totp/")
    );
    assert!(r.body["qr_svg"].as_str().unwrap_or("").contains("<svg"));
    let code = totp_code(&secret, t.now().unix_timestamp());
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(session),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let token = r.body["token"].as_str().expect("token").to_string();
    let codes = r.body["backup_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    (secret, token, codes)
}

async fn challenge(t: &TestApp, email: &str, password: &str) -> roster_testkit::Resp {
    t.login(email, password).await
}

async fn step(t: &TestApp, challenge: &str, method: &str, code: &str) -> roster_testkit::Resp {
    t.post(
        "/api/v1/session/second-factor",
        None,
        json!({"challenge": challenge, "method": method, "code": code}),
    )
    .await
}

pub(super) async fn an_authenticator_app_guards_the_login_and_its_codes_work_once(t: TestApp) {
    let (_, admin) = t.app_with_admin("Alpha", 3).await;
    let other = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    // a wrong first code does not turn it on
    t.post("/api/v1/me/two-step/totp", Some(&admin), json!({}))
        .await;
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(&admin),
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let status = t.get("/api/v1/me/two-step", Some(&admin)).await;
    assert_eq!(status.body["enabled"], false);
    let (secret, renewed, backup) = enrol_totp(&t, &admin).await;
    assert_eq!(backup.len(), 10);
    // privilege changed: a new token; every other session ended
    for old in [&admin, &other] {
        assert_eq!(
            t.get("/api/v1/me", Some(old)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        t.get("/api/v1/me/two-step", Some(&renewed)).await.body["enabled"],
        true
    );
    // the password alone no longer opens a session
    let r = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "second_factor_required")
    );
    assert!(r.body.get("token").is_none());
    let ch = r.body["challenge"].as_str().expect("challenge").to_string();
    assert_eq!(r.body["methods"], json!(["totp", "backup_code"]));
    let r = step(&t, &ch, "totp", "123456").await;
    assert_eq!(r.code(), "code_invalid");
    // the enrolment code's step cannot be used again; the next step's code works once
    t.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, t.now().unix_timestamp());
    let r = step(&t, &ch, "totp", &code).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["token"].as_str().is_some());
    // the challenge is used up; and the same code for a new login is refused (replay)
    assert_eq!(
        step(&t, &ch, "totp", &code).await.code(),
        "challenge_invalid"
    );
    let ch2 = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
        .as_str()
        .expect("c")
        .to_string();
    assert_eq!(step(&t, &ch2, "totp", &code).await.code(), "code_invalid");
    // a backup code works once
    let r = step(&t, &ch2, "backup_code", &backup[0].to_uppercase()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let ch3 = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
        .as_str()
        .expect("c")
        .to_string();
    assert_eq!(
        step(&t, &ch3, "backup_code", &backup[0]).await.code(),
        "code_invalid"
    );
    // a challenge expires
    t.clock.advance(Duration::minutes(11));
    let code = totp_code(&secret, t.now().unix_timestamp());
    assert_eq!(
        step(&t, &ch3, "totp", &code).await.code(),
        "challenge_invalid"
    );
    // audited, without codes
    let me = t.login("admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
        .as_str()
        .expect("c")
        .to_string();
    let r = step(&t, &me, "totp", &code).await;
    let s = r.body["token"].as_str().expect("token").to_string();
    let act = t
        .get("/api/v1/me/security-activity?action=twofactor.", Some(&s))
        .await;
    assert!(
        act.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["action"] == "twofactor.enabled")
    );
}

pub(super) async fn wrong_second_steps_count_towards_the_lockout(t: TestApp) {
    let (_, admin) = t.app_with_admin("Alpha", 3).await;
    let (secret, _, _) = enrol_totp(&t, &admin).await;
    let ch = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
        .as_str()
        .expect("c")
        .to_string();
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(step(&t, &ch, "totp", "999999").await.code().to_string());
    }
    assert_eq!(&codes[..5], ["code_invalid"; 5]);
    assert_eq!(codes[5], "id_locked");
    // locked: even the right code waits
    t.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, t.now().unix_timestamp());
    assert_eq!(step(&t, &ch, "totp", &code).await.code(), "id_locked");
}

pub(super) async fn email_codes_and_a_trusted_browser(t: TestApp) {
    let (_, admin) = t.app_with_admin("Alpha", 3).await;
    let r = t
        .post(
            "/api/v1/me/two-step/email",
            Some(&admin),
            json!({"current_password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    t.deliver_mail().await;
    let r = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(r.body["methods"], json!(["email", "backup_code"]));
    let ch = r.body["challenge"].as_str().expect("c").to_string();
    let r = t
        .post(
            "/api/v1/session/second-factor/email",
            None,
            json!({"challenge": ch}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let mail = t.deliver_mail().await.pop().expect("code email");
    let code: String = roster_testkit::link_token(&mail, "Your code: ");
    assert_eq!(code.len(), 6);
    // after 10 minutes the code is dead
    t.clock.advance(Duration::minutes(11));
    assert_eq!(
        step(&t, &ch, "email", &code).await.code(),
        "challenge_invalid"
    );
    let ch = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
        .as_str()
        .expect("c")
        .to_string();
    t.post(
        "/api/v1/session/second-factor/email",
        None,
        json!({"challenge": ch}),
    )
    .await;
    let mail = t.deliver_mail().await.pop().expect("code email");
    let code = roster_testkit::link_token(&mail, "Your code: ");
    // trust this browser: the cookie skips the second step for 30 days
    let r = t
        .client
        .post(format!("{}/api/v1/session/second-factor", t.addr))
        .json(&json!({"challenge": ch, "method": "email", "code": code, "trust_browser": true}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    let device = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("roster_device="))
        .expect("device cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let with_device = |days: i64| {
        let t = &t;
        let device = device.clone();
        async move {
            t.clock.advance(Duration::days(days));
            t.client
                .post(format!("{}/api/v1/session", t.addr))
                .header("cookie", device)
                .json(&json!({"email": "admin@alpha.test", "password": GOOD_PASSWORD}))
                .send()
                .await
                .expect("login")
                .status()
        }
    };
    assert_eq!(with_device(0).await, StatusCode::OK);
    // an altered cookie (its token without the server's signature) is not trusted
    let token_only = device.split('.').next().expect("token").to_string();
    let r = t
        .client
        .post(format!("{}/api/v1/session", t.addr))
        .header("cookie", token_only)
        .json(&json!({"email": "admin@alpha.test", "password": GOOD_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        with_device(31).await,
        StatusCode::UNAUTHORIZED,
        "trust expires"
    );
}

pub(super) async fn an_app_that_requires_two_step_walks_members_through_enrolment(t: TestApp) {
    let (app, admin) = t.app_with_admin("Alpha", 3).await;
    let (_, user) = t.add_user(&app, &admin, "una@alpha.test").await;
    // the admin must use it first
    let r = t
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{app}/two-step"),
            Some(&admin),
            Some(json!({"required": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, admin, _) = enrol_totp(&t, &admin).await;
    // a member who is not an admin cannot change it
    let r = t
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{app}/two-step"),
            Some(&user),
            Some(json!({"required": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{app}/two-step"),
            Some(&admin),
            Some(json!({"required": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // the member without a second step: 403 for that app until they enrol
    let r = t
        .get(&format!("/api/v1/apps/{app}/members"), Some(&user))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "second_factor_enrolment_required")
    );
    assert_eq!(r.body["app_id"], app.as_str());
    let (_, user, _) = enrol_totp(&t, &user).await;
    // enrolled: the app answers as to any member (not an admin here: 404, no longer 403)
    let r = t
        .get(&format!("/api/v1/apps/{app}/members"), Some(&user))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // and cannot turn it off while the app requires it
    let r = t
        .post(
            "/api/v1/me/two-step/disable",
            Some(&user),
            json!({"current_password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

pub(super) async fn the_operator_resets_second_factors(t: TestApp) {
    let (_, admin) = t.app_with_admin("Alpha", 3).await;
    enrol_totp(&t, &admin).await;
    t.deliver_mail().await;
    t.services
        .operator_reset_two_step(&t.ctx(), "Admin@Alpha.test")
        .await
        .expect("reset");
    let mails = t.deliver_mail().await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject.contains("second steps") && m.to.contains("admin@alpha.test"))
    );
    // the password alone opens a session again
    assert_eq!(
        t.login("admin@alpha.test", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    assert!(matches!(
        t.services
            .operator_reset_two_step(&t.ctx(), "nobody@alpha.test")
            .await,
        Err(roster_core::Error::NotFound)
    ));
}

pub(super) async fn a_known_password_does_not_reset_the_count_of_wrong_codes(t: TestApp) {
    let (_, admin) = t.app_with_admin("Alpha", 3).await;
    enrol_totp(&t, &admin).await;
    let mut codes = Vec::new();
    // four wrong codes, each after the right password: the password must not wipe the count
    for _ in 0..4 {
        let ch = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
            .as_str()
            .expect("challenge")
            .to_string();
        codes.push(step(&t, &ch, "totp", "999999").await.code().to_string());
    }
    let ch = challenge(&t, "admin@alpha.test", GOOD_PASSWORD).await.body["challenge"]
        .as_str()
        .expect("challenge")
        .to_string();
    codes.push(step(&t, &ch, "totp", "999999").await.code().to_string());
    assert_eq!(codes, ["code_invalid"; 5]);
    // the fifth wrong code locked the ID
    assert_eq!(
        challenge(&t, "admin@alpha.test", GOOD_PASSWORD)
            .await
            .code(),
        "id_locked"
    );
}

pub(super) async fn accepting_an_invitation_with_a_password_needs_the_second_step(t: TestApp) {
    let (_, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b, admin_b) = t.app_with_admin("Beta", 3).await;
    let (secret, _, _) = enrol_totp(&t, &admin_a).await;
    // Beta's admin invites Alpha's admin, whose ID uses an authenticator app
    let r = t
        .invite(&b, &admin_b, "admin@alpha.test", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let mail = t
        .deliver_mail()
        .await
        .into_iter()
        .find(|m| m.to.contains("admin@alpha.test") && m.text.contains("/invite/"))
        .expect("invitation");
    let token = roster_testkit::token_from(&mail);
    // the password alone (whoever holds the link) does not open a session or join
    let r = t
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "second_factor_required")
    );
    assert!(r.body.get("token").is_none());
    let ch = r.body["challenge"].as_str().expect("challenge").to_string();
    t.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, t.now().unix_timestamp());
    let session = step(&t, &ch, "totp", &code).await.body["token"]
        .as_str()
        .expect("session")
        .to_string();
    // with the finished login, the invitation is accepted
    let r = t
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            Some(&session),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(r.body["app_id"], b.to_string());
}

pub(super) async fn second_steps_change_only_soon_after_a_login(t: TestApp) {
    let (_, admin) = t.app_with_admin("Alpha", 3).await;
    t.clock.advance(Duration::minutes(16));
    let r = t
        .post("/api/v1/me/two-step/totp", Some(&admin), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "reauthentication_required")
    );
    let r = t
        .post(
            "/api/v1/me/passkeys/register/start",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "reauthentication_required");
    // a fresh login may
    let fresh = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    let (_, renewed, _) = enrol_totp(&t, &fresh).await;
    let r = t
        .post(
            "/api/v1/me/two-step/backup-codes",
            Some(&renewed),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["backup_codes"].as_array().map(Vec::len), Some(10));
    t.clock.advance(Duration::minutes(16));
    let r = t
        .post(
            "/api/v1/me/two-step/backup-codes",
            Some(&renewed),
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "reauthentication_required");
}
