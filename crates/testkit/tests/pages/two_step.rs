//! Two-step verification in the pages: every form of /account/two-step and of the login's
//! second step, submitted; an app's requirement walks a member through enrolment.

use reqwest::StatusCode;
use roster_testkit::pages::{Got, browser, csrf, get, logged_in_browser, post};
use roster_testkit::{Backend, GOOD_PASSWORD, TestApp, spawn_app, totp_code};
use time::Duration;

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html.find(start).expect(start) + start.len();
    let j = html[i..].find(end).expect(end) + i;
    &html[i..j]
}

/// Set up the authenticator app through the page; returns the secret and the page shown after.
async fn enrol(t: &TestApp, b: &reqwest::Client) -> (String, Got) {
    let page = get(b, t, "/account/two-step").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Status: <strong>off</strong>"),
        "{}",
        page.html
    );
    let c = csrf(&page.html);
    let setup = post(b, t, "/account/two-step/totp", &[("csrf", &c)]).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(
        setup.html.contains("src=\"data:image/svg+xml;base64,"),
        "QR code"
    );
    let secret = between(&setup.html, "<code id=\"totp-secret\">", "</code>").to_string();
    let r = post(
        b,
        t,
        "/account/two-step/totp/confirm",
        &[("csrf", &c), ("code", "000000")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let again = post(b, t, "/account/two-step/totp", &[("csrf", &c)]).await;
    let secret2 = between(&again.html, "<code id=\"totp-secret\">", "</code>").to_string();
    assert_ne!(secret, secret2, "a fresh secret each time until confirmed");
    let code = totp_code(&secret2, t.now().unix_timestamp());
    let done = post(
        b,
        t,
        "/account/two-step/totp/confirm",
        &[("csrf", &c), ("code", &code)],
    )
    .await;
    (secret2, done)
}

#[tokio::test]
async fn set_up_an_authenticator_app_then_log_in_with_a_code_and_trust_the_browser() {
    let t = spawn_app(Backend::Sqlite).await;
    t.app_with_admin("Acme", 3).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let (secret, done) = enrol(&t, &b).await;
    assert_eq!(done.status, StatusCode::OK);
    let codes = between(
        &done.html,
        "<ul class=\"codes\" id=\"backup-codes\">",
        "</ul>",
    );
    assert_eq!(codes.matches("<li>").count(), 10, "backup codes shown once");
    // this browser got a new session and stays logged in
    let page = get(&b, &t, "/account/two-step").await;
    assert!(
        page.html.contains("Status: <strong>on</strong>"),
        "{}",
        page.html
    );
    let c = csrf(&page.html);
    // new backup codes; forget trusted browsers
    let r = post(&b, &t, "/account/two-step/backup-codes", &[("csrf", &c)]).await;
    assert!(r.html.contains("id=\"backup-codes\""));
    let r = post(&b, &t, "/account/two-step/forget-browsers", &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // a new browser: the password leads to the second step
    let nb = browser();
    let login = get(&nb, &t, "/login").await;
    let lc = csrf(&login.html);
    let r = post(
        &nb,
        &t,
        "/login",
        &[
            ("csrf", &lc),
            ("email", "admin@acme.test"),
            ("password", GOOD_PASSWORD),
            ("next", "/account"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.html.contains("Two-step verification") && r.html.contains("Authenticator app"),
        "{}",
        r.html
    );
    let challenge = between(&r.html, "name=\"challenge\" value=\"", "\"").to_string();
    let wrong = post(
        &nb,
        &t,
        "/login/second-factor",
        &[
            ("csrf", &lc),
            ("challenge", &challenge),
            ("method", "totp"),
            ("code", "111111"),
            ("next", "/account"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("code is not right"));
    t.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, t.now().unix_timestamp());
    let ok = post(
        &nb,
        &t,
        "/login/second-factor",
        &[
            ("csrf", &lc),
            ("challenge", &challenge),
            ("method", "totp"),
            ("code", &code),
            ("trust_browser", "yes"),
            ("next", "/account"),
        ],
    )
    .await;
    assert_eq!(
        (ok.status, ok.location.as_str()),
        (StatusCode::SEE_OTHER, "/account")
    );
    assert_eq!(get(&nb, &t, "/account").await.status, StatusCode::OK);
    // log out and in again: the trusted browser skips the second step
    let acc = get(&nb, &t, "/account").await;
    post(&nb, &t, "/logout", &[("csrf", &csrf(&acc.html))]).await;
    let login = get(&nb, &t, "/login").await;
    let r = post(
        &nb,
        &t,
        "/login",
        &[
            ("csrf", &csrf(&login.html)),
            ("email", "admin@acme.test"),
            ("password", GOOD_PASSWORD),
            ("next", "/account"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/account")
    );
}

#[tokio::test]
async fn email_codes_from_the_login_page_and_turning_two_step_off() {
    let t = spawn_app(Backend::Sqlite).await;
    t.app_with_admin("Acme", 3).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let page = get(&b, &t, "/account/two-step").await;
    let c = csrf(&page.html);
    let r = post(
        &b,
        &t,
        "/account/two-step/email",
        &[("csrf", &c), ("current_password", "wrong")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &b,
        &t,
        "/account/two-step/email",
        &[("csrf", &c), ("current_password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.html.contains("id=\"backup-codes\""));
    t.deliver_mail().await;
    let nb = browser();
    let login = get(&nb, &t, "/login").await;
    let lc = csrf(&login.html);
    let r = post(
        &nb,
        &t,
        "/login",
        &[
            ("csrf", &lc),
            ("email", "admin@acme.test"),
            ("password", GOOD_PASSWORD),
        ],
    )
    .await;
    let challenge = between(&r.html, "name=\"challenge\" value=\"", "\"").to_string();
    let sent = post(
        &nb,
        &t,
        "/login/second-factor/email",
        &[("csrf", &lc), ("challenge", &challenge)],
    )
    .await;
    assert!(sent.html.contains("A code is on its way"), "{}", sent.html);
    let mail = t.deliver_mail().await.pop().expect("code");
    let code = roster_testkit::link_token(&mail, "Your code: ");
    let ok = post(
        &nb,
        &t,
        "/login/second-factor",
        &[
            ("csrf", &lc),
            ("challenge", &challenge),
            ("method", "email"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.html);
    // turn it off (password required)
    let page = get(&b, &t, "/account/two-step").await;
    let c = csrf(&page.html);
    let r = post(
        &b,
        &t,
        "/account/two-step/disable",
        &[("csrf", &c), ("current_password", "wrong")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &b,
        &t,
        "/account/two-step/disable",
        &[("csrf", &c), ("current_password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        get(&b, &t, "/account/two-step")
            .await
            .html
            .contains("Status: <strong>off</strong>")
    );
}

#[tokio::test]
async fn a_member_of_an_app_that_requires_two_step_is_walked_through_enrolment() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    t.add_user(&app, &admin, "una@example.com").await;
    let una = logged_in_browser(&t, "una@example.com").await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let path = format!("/app/{app}/admin/security");
    // the admin needs a second step first
    let page = get(&b, &t, &path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains(&format!("href=\"{path}\">Security</a>")));
    let c = csrf(&page.html);
    let r = post(&b, &t, &path, &[("csrf", &c), ("required", "yes")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.html
            .contains("Set up two-step verification for your own ID first"),
        "{}",
        r.html
    );
    enrol(&t, &b).await;
    let r = post(&b, &t, &path, &[("csrf", &c), ("required", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = get(&b, &t, &path).await;
    assert!(page.html.contains("value=\"yes\" checked"), "{}", page.html);
    // Una, without a second step, is sent to set it up, and back
    let home = get(&una, &t, &format!("/app/{app}")).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(
        home.location,
        format!("/account/two-step?required={app}&next=/app/{app}")
    );
    // a made-up address puts no words on the page
    let forged = get(&una, &t, "/account/two-step?required=zz999").await;
    assert!(!forged.html.contains("requires two-step verification"));
    let page = get(&una, &t, &home.location).await;
    assert!(
        page.html.contains("Acme (App ID") && page.html.contains("requires two-step verification"),
        "{}",
        page.html
    );
    let (_, done) = enrol(&t, &una).await;
    assert!(
        done.html.contains(&format!("href=\"/app/{app}\"")),
        "continue to the app"
    );
    assert_eq!(
        get(&una, &t, &format!("/app/{app}")).await.status,
        StatusCode::OK
    );
    // the requirement can be lifted again
    let page = get(&b, &t, &path).await;
    let r = post(&b, &t, &path, &[("csrf", &csrf(&page.html))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}
