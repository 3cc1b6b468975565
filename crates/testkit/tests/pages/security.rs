//! J7 in the pages: every form of forgot/reset password, change password and login email,
//! the terms agreement, the audit and security activity pages — each submitted.

use reqwest::StatusCode;
use roster_testkit::pages::{browser, csrf, get, logged_in_browser, post};
use roster_testkit::{Backend, GOOD_PASSWORD, link_token, reset_code, spawn_app};

const NEW_PASSWORD: &str = "Green-Lantern-77";

#[tokio::test]
async fn forgot_password_then_reset_with_the_link_and_with_the_code() {
    let t = spawn_app(Backend::Sqlite).await;
    t.app_with_admin("Acme", 3).await;
    let b = browser();
    let login = get(&b, &t, "/login").await;
    assert!(login.html.contains("href=\"/forgot-password\""));
    let page = get(&b, &t, "/forgot-password").await;
    assert_eq!(page.status, StatusCode::OK);
    // the same page whether or not an ID has the email
    let mut answers = Vec::new();
    for email in ["admin@acme.test", "nobody@acme.test"] {
        let page = get(&b, &t, "/forgot-password").await;
        let r = post(
            &b,
            &t,
            "/forgot-password",
            &[("csrf", &csrf(&page.html)), ("email", email)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.html.contains("If an ID has this email"), "{}", r.html);
        answers.push(r.html.replace(email, ""));
    }
    assert_eq!(answers[0], answers[1]);
    let mail = t.deliver_mail().await.pop().expect("reset email");
    let token = link_token(&mail, "/reset-password/");
    // the link's page asks the security question of the ID (and nothing else reveals it)
    let page = get(&b, &t, &format!("/reset-password/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("pet"), "{}", page.html);
    let c = csrf(&page.html);
    let path = format!("/reset-password/{token}");
    let r = post(
        &b,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("password", NEW_PASSWORD),
            ("security_answer", "Fido"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("security question is wrong"), "{}", r.html);
    let r = post(
        &b,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("password", GOOD_PASSWORD),
            ("security_answer", "rex"),
        ],
    )
    .await;
    assert!(r.html.contains("last 4"), "{}", r.html);
    let r = post(
        &b,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("password", NEW_PASSWORD),
            ("security_answer", "rex"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    // used: the link page says so, in the frame, with a way forward
    let used = get(&b, &t, &path).await;
    assert_eq!(used.status, StatusCode::GONE);
    assert!(used.html.contains("href=\"/forgot-password\""));
    // without the CSRF token nothing happens
    let r = post(&b, &t, "/forgot-password", &[("email", "admin@acme.test")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // the code form
    let page = get(&b, &t, "/forgot-password").await;
    post(
        &b,
        &t,
        "/forgot-password",
        &[("csrf", &csrf(&page.html)), ("email", "admin@acme.test")],
    )
    .await;
    let mail = t.deliver_mail().await.pop().expect("reset email");
    let page = get(&b, &t, "/reset-password").await;
    let c = csrf(&page.html);
    let code = reset_code(&mail);
    let r = post(
        &b,
        &t,
        "/reset-password",
        &[
            ("csrf", &c),
            ("email", "admin@acme.test"),
            ("code", "12"),
            ("password", "Third-Password-3"),
            ("security_answer", "rex"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("8-digit code"), "{}", r.html);
    let good = [
        ("csrf", c.as_str()),
        ("email", "admin@acme.test"),
        ("code", code.as_str()),
        ("password", "Third-Password-3"),
        ("security_answer", "rex"),
    ];
    let r = post(&b, &t, "/reset-password", &good).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/login"),
        "{}",
        r.html
    );
    t.login_token("admin@acme.test", "Third-Password-3").await;
}

#[tokio::test]
async fn change_password_and_login_email_from_the_account_pages() {
    let t = spawn_app(Backend::Sqlite).await;
    t.app_with_admin("Acme", 3).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let other = logged_in_browser(&t, "admin@acme.test").await;
    let page = get(&b, &t, "/account/password").await;
    assert_eq!(page.status, StatusCode::OK);
    let c = csrf(&page.html);
    let r = post(
        &b,
        &t,
        "/account/password",
        &[
            ("csrf", &c),
            ("current_password", "nope"),
            ("new_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("current password is wrong"), "{}", r.html);
    let r = post(
        &b,
        &t,
        "/account/password",
        &[
            ("csrf", &c),
            ("current_password", GOOD_PASSWORD),
            ("new_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/account/security")
    );
    // this browser stays logged in (a new session cookie); the other one is logged out
    let sec = get(&b, &t, "/account/security").await;
    assert_eq!(sec.status, StatusCode::OK);
    assert!(sec.html.contains("password was changed"), "flash");
    assert_eq!(
        get(&other, &t, "/account/security").await.status,
        StatusCode::SEE_OTHER
    );

    // login email
    let page = get(&b, &t, "/account/email").await;
    let c = csrf(&page.html);
    let r = post(
        &b,
        &t,
        "/account/email",
        &[
            ("csrf", &c),
            ("email", "not-an-email"),
            ("current_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &b,
        &t,
        "/account/email",
        &[
            ("csrf", &c),
            ("email", "ada@new.test"),
            ("current_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.html.contains("confirmation link went to ada@new.test"),
        "{}",
        r.html
    );
    let mails = t.deliver_mail().await;
    let link = mails
        .iter()
        .find(|m| m.to.contains("ada@new.test"))
        .expect("link");
    let token = link_token(link, "/confirm-email/");
    // opening the link changes nothing (mail scanners open links); the button does
    let anon = browser();
    let page = get(&anon, &t, &format!("/confirm-email/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        t.login("ada@new.test", NEW_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = post(
        &anon,
        &t,
        &format!("/confirm-email/{token}"),
        &[("csrf", &csrf(&page.html))],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.html.contains("now logs in with ada@new.test"),
        "{}",
        r.html
    );
    t.login_token("ada@new.test", NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_new_terms_version_is_agreed_to_in_the_browser_before_going_on() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 3).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    t.services
        .publish_terms(&t.ctx(), Some("v2"), "# New terms\n\nRead me.", true)
        .await
        .expect("publish");
    let r = get(&b, &t, &format!("/app/{app}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location.starts_with("/terms/accept?next="),
        "{}",
        r.location
    );
    let page = get(&b, &t, &r.location).await;
    assert!(page.html.contains("version v2"), "{}", page.html);
    let c = csrf(&page.html);
    let next = format!("/app/{app}");
    // not ticked: asked again
    let r = post(
        &b,
        &t,
        "/terms/accept",
        &[("csrf", &c), ("version", "v2"), ("next", &next)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &b,
        &t,
        "/terms/accept",
        &[
            ("csrf", &c),
            ("version", "v2"),
            ("agree", "yes"),
            ("next", &next),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, next.as_str())
    );
    assert_eq!(get(&b, &t, &next).await.status, StatusCode::OK);
    let terms = get(&b, &t, "/terms").await;
    assert!(terms.html.contains("<h1>New terms</h1>"), "{}", terms.html);
    // the account page lists each agreement with its version
    let sec = get(&b, &t, "/account/security").await;
    assert!(
        sec.html.contains("Version v2, agreed") && sec.html.contains("Version 2026-11-01, agreed"),
        "{}",
        sec.html
    );
}

#[tokio::test]
async fn the_audit_page_filters_and_the_activity_page_lists_the_ids_own_events() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    t.add_user(&app, &admin, "una@example.com").await;
    t.login("una@example.com", "Wrong-Password-1").await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let page = get(&b, &t, &format!("/app/{app}/admin/audit")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("una@example.com") && page.html.contains("failed to log in"),
        "{}",
        page.html
    );
    let page = get(
        &b,
        &t,
        &format!("/app/{app}/admin/audit?actor=una&action=login.&from=&to="),
    )
    .await;
    assert!(page.html.contains("failed to log in"));
    assert!(
        !page.html.contains("invited una@example.com"),
        "filtered by action"
    );
    let page = get(&b, &t, &format!("/app/{app}/admin/audit?action=seats.")).await;
    assert!(page.html.contains("Nothing matches"));
    let bad = get(&b, &t, &format!("/app/{app}/admin/audit?from=soon")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // not an admin: 404 in the frame
    let una = logged_in_browser(&t, "una@example.com").await;
    assert_eq!(
        get(&una, &t, &format!("/app/{app}/admin/audit"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let mine = get(&una, &t, "/account/activity").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(
        mine.html.contains("failed to log in") && mine.html.contains("logged in"),
        "{}",
        mine.html
    );
}
