//! Security journeys in Chromium at laptop and phone size: forgot password through the emailed
//! link, setting up an authenticator app and logging in with its code, an app that requires
//! two-step verification walking a member through enrolment, ending another session.
//! Screenshots: reset-password-, two-step-codes-, second-step-, two-step-required-,
//! sessions-{1280,375}.png.

use super::{SIZES, browser, click, fill, login, shot, text_with, wait_path};
use fantoccini::{Client, Locator};
use roster_testkit::{Backend, GOOD_PASSWORD, TestApp, link_token, spawn_app, totp_code};
use std::time::Duration;

const LOGIN_SUBMIT: &str = "form[action='/login'] button[type=submit]";

/// The path of the page shown now.
async fn path(c: &Client) -> String {
    c.current_url().await.expect("url").path().to_string()
}

/// The element `css` once it is on the page (navigation after a click is asynchronous).
async fn element(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .expect(css)
}

/// On /account/two-step: set up an authenticator app with the key shown (as a person would type
/// it into the app), see the 10 backup codes once; returns the key.
async fn enrol(c: &Client, t: &TestApp, w: u32, name: &str) -> String {
    text_with(c, "Set up an authenticator app").await;
    click(
        c,
        "form[action='/account/two-step/totp'] button[type=submit]",
    )
    .await;
    let key = element(c, "#totp-secret").await.text().await.expect("key");
    let key = key.trim().to_string();
    assert!(!key.is_empty(), "the key is shown");
    assert!(
        c.find(Locator::Css("img.qr[src^='data:image/svg+xml']"))
            .await
            .is_ok(),
        "the QR code is shown"
    );
    fill(c, "code", &totp_code(&key, t.now().unix_timestamp())).await;
    click(
        c,
        "form[action='/account/two-step/totp/confirm'] button[type=submit]",
    )
    .await;
    let page = text_with(c, "Your backup codes").await;
    assert!(page.contains("They are shown only now."), "{page}");
    let codes = element(c, "#backup-codes")
        .await
        .find_all(Locator::Css("li"))
        .await
        .expect("codes");
    assert_eq!(codes.len(), 10, "ten backup codes");
    shot(c, name, w).await;
    key
}

/// Submit email and password on the login page that is open.
async fn submit_login(c: &Client, email: &str, password: &str) {
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    click(c, LOGIN_SUBMIT).await;
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn forgot_password_then_reset_with_the_emailed_link_and_log_in() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        t.app_with_admin("Acme", 3).await;
        let b = browser(w, h).await;
        let c = &b.client;
        c.goto(&format!("{}/login", t.addr)).await.expect("login");
        click(c, "a[href='/forgot-password']").await;
        assert_eq!(wait_path(c, "/forgot-password").await, "/forgot-password");
        fill(c, "email", "admin@acme.test").await;
        click(c, "form[action='/forgot-password'] button[type=submit]").await;
        let page = text_with(c, "are on their way").await;
        assert!(
            page.contains("If an ID has this email, a reset link and code are on their way."),
            "{page}"
        );

        let mail = t.deliver_mail().await;
        let reset = mail
            .iter()
            .find(|m| m.to.contains("admin@acme.test") && m.text.contains("/reset-password/"))
            .expect("reset email");
        let token = link_token(reset, "/reset-password/");
        c.goto(&format!("{}/reset-password/{token}", t.addr))
            .await
            .expect("reset");
        let page = text_with(c, "Choose a new password").await;
        assert!(page.contains("Security question"), "{page}");
        fill(c, "password", "Green-Lantern-77").await;
        fill(c, "security_answer", "rex").await;
        shot(c, "reset-password", w).await;
        click(c, "form[action^='/reset-password/'] button[type=submit]").await;
        assert_eq!(wait_path(c, "/login").await, "/login");
        let page = text_with(c, "Your password was changed").await;
        assert!(
            page.contains("Your password was changed. Log in with the new one."),
            "{page}"
        );

        // the old password no longer works, the new one does
        submit_login(c, "admin@acme.test", GOOD_PASSWORD).await;
        let page = text_with(c, "The email or password is wrong").await;
        assert!(page.contains("The email or password is wrong"), "{page}");
        submit_login(c, "admin@acme.test", "Green-Lantern-77").await;
        assert_eq!(wait_path(c, "/apps").await, "/apps");
        let page = text_with(c, "Your apps").await;
        assert!(page.contains("Acme"), "{page}");
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn set_up_an_authenticator_app_then_log_in_with_its_code() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        t.app_with_admin("Acme", 3).await;
        let b = browser(w, h).await;
        let c = &b.client;
        login(c, &t, "admin@acme.test").await;
        c.goto(&format!("{}/account/two-step", t.addr))
            .await
            .expect("two-step");
        let page = text_with(c, "Status:").await;
        assert!(page.contains("Status: off"), "{page}");
        let key = enrol(c, &t, w, "two-step-codes").await;
        // this browser stays logged in (with a new session) and sees it on
        c.goto(&format!("{}/account/two-step", t.addr))
            .await
            .expect("two-step");
        let page = text_with(c, "Status:").await;
        assert!(
            page.contains("Status: on · authenticator app · 10 backup codes left"),
            "{page}"
        );

        // another browser: the right password leads to the second step
        let nb = browser(w, h).await;
        let n = &nb.client;
        n.goto(&format!("{}/login?next=/account", t.addr))
            .await
            .expect("login");
        submit_login(n, "admin@acme.test", GOOD_PASSWORD).await;
        let page = text_with(n, "Finish logging in with a second step").await;
        assert!(page.contains("Two-step verification"), "{page}");
        let method = element(n, "#method option:checked")
            .await
            .text()
            .await
            .expect("method");
        assert_eq!(method, "Authenticator app");
        // a wrong code is refused and the form is shown again
        fill(n, "code", "000000").await;
        click(n, "form[action='/login/second-factor'] button[type=submit]").await;
        let page = text_with(n, "That code is not right").await;
        assert!(page.contains("That code is not right"), "{page}");
        // the app shows a new code 30 s later (a code is never accepted twice)
        t.clock.advance(time::Duration::seconds(30));
        fill(n, "code", &totp_code(&key, t.now().unix_timestamp())).await;
        shot(n, "second-step", w).await;
        click(n, "form[action='/login/second-factor'] button[type=submit]").await;
        assert_eq!(wait_path(n, "/account").await, "/account");
        let page = text_with(n, "admin@acme.test").await;
        assert!(page.contains("admin@acme.test"), "{page}");
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn a_member_of_an_app_that_requires_two_step_is_walked_through_enrolment() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (app, admin) = t.app_with_admin("Acme", 3).await;
        // before the admin sets up two-step verification, which ends the admin's other sessions
        t.add_user(&app, &admin, "una@example.com").await;
        let b = browser(w, h).await;
        let c = &b.client;
        login(c, &t, "admin@acme.test").await;
        c.goto(&format!("{}/account/two-step", t.addr))
            .await
            .expect("two-step");
        enrol(c, &t, w, "admin-two-step-codes").await;
        let security = format!("/app/{app}/admin/security");
        c.goto(&format!("{}{security}", t.addr))
            .await
            .expect("security");
        text_with(c, "Require two-step verification for members").await;
        let required = element(c, "#required").await;
        assert!(
            !required.is_selected().await.expect("checked"),
            "off at first"
        );
        click(c, "#required").await;
        click(c, &format!("form[action='{security}'] button[type=submit]")).await;
        let page = text_with(c, "is now required").await;
        assert!(
            page.contains("Two-step verification is now required for members."),
            "{page}"
        );
        assert_eq!(path(c).await, security);
        assert!(
            element(c, "#required")
                .await
                .is_selected()
                .await
                .expect("checked"),
            "saved"
        );

        // Una logs in on her way to the app and is sent to set it up first
        let ub = browser(w, h).await;
        let u = &ub.client;
        u.goto(&format!("{}/login?next=/app/{app}", t.addr))
            .await
            .expect("login");
        submit_login(u, "una@example.com", GOOD_PASSWORD).await;
        assert_eq!(wait_path(u, "/account/two-step").await, "/account/two-step");
        let page = text_with(u, "requires two-step verification").await;
        assert!(
            page.contains("requires two-step verification. Set it up to go on."),
            "{page}"
        );
        shot(u, "two-step-required", w).await;
        enrol(u, &t, w, "una-two-step-codes").await;
        click(u, &format!("#backup-codes ~ p a[href='/app/{app}']")).await;
        let page = text_with(u, "Welcome to Acme").await;
        assert!(page.contains("Hi Una! Welcome to Acme."), "{page}");
        assert_eq!(path(u).await, format!("/app/{app}"));
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn end_another_session_from_the_sessions_page() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (_, api_session) = t.app_with_admin("Acme", 3).await;
        // only the two browsers' sessions are left
        let r = t.delete("/api/v1/session", Some(&api_session)).await;
        assert!(r.status.is_success(), "{r:?}");
        let b1 = browser(w, h).await;
        let one = &b1.client;
        let b2 = browser(w, h).await;
        let two = &b2.client;
        login(one, &t, "admin@acme.test").await;
        login(two, &t, "admin@acme.test").await;
        assert_eq!(path(two).await, "/apps");

        one.goto(&format!("{}/account/sessions", t.addr))
            .await
            .expect("sessions");
        text_with(one, "Your sessions").await;
        let rows = one
            .find_all(Locator::Css("li.session"))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 2, "two sessions");
        let current = one
            .find_all(Locator::Css("li.session .badge"))
            .await
            .expect("badges");
        assert_eq!(current.len(), 1, "one is this browser");
        assert_eq!(current[0].text().await.expect("badge"), "This browser");
        let ends = one
            .find_all(Locator::Css("form[action$='/end'] button[type=submit]"))
            .await
            .expect("buttons");
        assert_eq!(ends.len(), 1, "only the other session can be ended here");
        shot(one, "sessions", w).await;
        click(one, "form[action$='/end'] button[type=submit]").await;
        let page = text_with(one, "The session was ended.").await;
        assert!(page.contains("The session was ended."), "{page}");
        assert_eq!(path(one).await, "/account/sessions");
        let rows = one
            .find_all(Locator::Css("li.session"))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 1, "this browser only");
        assert!(
            one.find_all(Locator::Css("form[action$='/end']"))
                .await
                .expect("forms")
                .is_empty()
        );

        // the other browser is logged out: its next page asks it to log in
        two.goto(&format!("{}/account", t.addr))
            .await
            .expect("account");
        assert_eq!(wait_path(two, "/login").await, "/login");
        let url = two.current_url().await.expect("url");
        assert_eq!(url.query(), Some("next=/account"));
        assert!(text_with(two, "Log in with your").await.contains("Log in"));
        // the first stays logged in
        one.goto(&format!("{}/account", t.addr))
            .await
            .expect("account");
        assert_eq!(path(one).await, "/account");
    }
}
