//! The HTML pages over real HTTP (a browser-less client with a cookie jar). Browser tests in
//! Chromium come with the web-UI issue.

use reqwest::StatusCode;
use roster_testkit::PNG_1X1;
use roster_testkit::pages::{Got, accept_in_browser, browser, csrf, get, got, post};
use roster_testkit::{Backend, GOOD_PASSWORD, TestApp, spawn_app, token_from};
use time::Duration;

#[tokio::test]
async fn the_seed_journey_in_pages_add_user_with_no_seat_buy_and_send() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, token) = t.create_app("Acme", 1, "ada@acme.test", "Ada").await;

    // the invitation page names the app, its App ID and the inviter; it has the checklist
    let b = browser();
    let page = get(&b, &t, &format!("/invite/{token}")).await;
    assert!(page.html.contains("Acme") && page.html.contains(app.as_str()));
    assert!(page.html.contains("Roster support invited you"));
    for rule in [
        "One uppercase letter",
        "One lowercase letter",
        "One number",
        "7 characters minimum",
    ] {
        assert!(page.html.contains(rule), "{rule}");
    }
    assert!(page.html.contains("Save &amp; continue") || page.html.contains("Save & continue"));
    assert!(page.html.contains("value=\"ada@acme.test\" readonly"));

    // server-side errors keep what was typed (not the password) and name the field
    let c = csrf(&page.html);
    let bad = post(
        &b,
        &t,
        &format!("/invite/{token}/create"),
        &[
            ("csrf", &c),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("password", "short"),
            ("security_question", "first_car"),
            ("security_answer", "Volvo"),
            ("accept_terms", "yes"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("value=\"Lovelace\""));
    assert!(bad.html.contains("Missing: One uppercase letter"));
    assert!(!bad.html.contains("short"), "the password is not echoed");

    let (admin, done) = accept_in_browser(&t, &token, "Ada").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location, format!("/app/{app}/setup/1"));
    let setup = get(&admin, &t, &done.location).await;
    assert!(
        setup.html.contains("Hi Ada! Welcome to Roster."),
        "{}",
        setup.html
    );
    let home = get(&admin, &t, &format!("/app/{app}")).await;
    assert!(
        home.html.contains("Hi Ada! Welcome to Acme."),
        "{}",
        home.html
    );

    // Admin > Users: seats always visible
    let users = get(&admin, &t, &format!("/app/{app}/admin/users")).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.html.contains("Seats: 1 used of 1"), "{}", users.html);

    // Add Users with no seat free: the form is kept, the warning offers to buy a seat
    let form = get(&admin, &t, &format!("/app/{app}/admin/users/add")).await;
    let c = csrf(&form.html);
    let refused = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/users/add"),
        &[
            ("csrf", &c),
            ("first_name", "Rohit"),
            ("last_name", ""),
            ("email", "rohitg@clientengagementacademy.com"),
            ("admin", "yes"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.html.contains("No seat available"));
    assert!(refused.html.contains("All 1 seats"));
    assert!(
        refused
            .html
            .contains("value=\"rohitg@clientengagementacademy.com\"")
    );
    assert!(refused.html.contains("Buy another seat"));
    assert!(
        t.deliver_mail()
            .await
            .iter()
            .all(|m| m.to != "rohitg@clientengagementacademy.com")
    );

    // Buy a seat: the same invitation goes out without retyping
    let bought = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/seats/buy"),
        &[
            ("csrf", &c),
            ("first_name", "Rohit"),
            ("last_name", ""),
            ("email", "rohitg@clientengagementacademy.com"),
            ("admin", "yes"),
            ("quantity", "1"),
        ],
    )
    .await;
    assert_eq!(bought.status, StatusCode::SEE_OTHER, "{}", bought.html);
    let users = get(&admin, &t, &bought.location).await;
    assert!(
        users
            .html
            .contains("Invitation sent to rohitg@clientengagementacademy.com.")
    );
    assert!(users.html.contains("Seats: 2 used of 2"));
    assert!(users.html.contains("Invited"));
    let mails = t.deliver_mail().await;
    assert!(
        mails
            .iter()
            .any(|m| m.to == "rohitg@clientengagementacademy.com")
    );

    // Add Partner: no seat used, P badge
    let form = get(&admin, &t, &format!("/app/{app}/admin/partners/add")).await;
    let c = csrf(&form.html);
    let sent = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/partners/add"),
        &[
            ("csrf", &c),
            ("email", "mike@mikeweiss.com"),
            ("admin", "no"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    let users = get(
        &admin,
        &t,
        &format!("/app/{app}/admin/users?filter=partners"),
    )
    .await;
    assert!(users.html.contains("mike@mikeweiss.com"));
    assert!(users.html.contains("title=\"Partner\">P</span>"));
    assert!(users.html.contains("Seats: 2 used of 2"));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let t = spawn_app(Backend::Sqlite).await;
    let (_app, token) = t.create_app("Acme", 2, "ada@acme.test", "Ada").await;
    let b = browser();
    let _ = get(&b, &t, &format!("/invite/{token}")).await; // has the cookie, not the field
    for fields in [vec![], vec![("csrf", "x".repeat(43))]] {
        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form.extend([
            ("first_name", "Ada"),
            ("password", GOOD_PASSWORD),
            ("accept_terms", "yes"),
        ]);
        let r = post(&b, &t, &format!("/invite/{token}/create"), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.html.contains("This form has expired"));
    }
    // and nothing happened
    let page = get(&b, &t, &format!("/invite/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let login = post(
        &browser(),
        &t,
        "/login",
        &[("email", "ada@acme.test"), ("password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_existing_id_joins_with_an_explicit_click_and_sees_both_apps() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b_app, _admin_b) = t.app_with_admin("Beta", 3).await;
    let _ = a;
    // Beta's admin (an existing ID) is invited to Alpha as a partner
    let r = t
        .invite(&a, &admin_a, "admin@beta.test", "partner", true)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = token_from(&t.deliver_mail().await[0]);
    let br = browser();
    let page = get(&br, &t, &format!("/invite/{token}")).await;
    assert!(page.html.contains("Log in to join Alpha"));
    assert!(!page.html.contains("Create your Roster ID"));
    let c = csrf(&page.html);
    let wrong = post(
        &br,
        &t,
        &format!("/invite/{token}/join"),
        &[("csrf", &c), ("password", "Nope-nope-1")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let joined = post(
        &br,
        &t,
        &format!("/invite/{token}/join"),
        &[("csrf", &c), ("password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);
    assert_eq!(joined.location, format!("/app/{a}/setup/1"));
    let apps = get(&br, &t, "/apps").await;
    assert!(
        apps.html.contains(a.as_str()) && apps.html.contains(b_app.as_str()),
        "{}",
        apps.html
    );
}

#[tokio::test]
async fn logged_in_as_another_id_the_page_says_so_and_uses_nothing_up() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let r = t.invite(&a, &admin, "bob@example.com", "user", false).await;
    let token = token_from(&t.deliver_mail().await[0]);
    let _ = r;
    // the admin is logged in in this browser
    let br = browser();
    let login_page = get(&br, &t, "/login").await;
    let c = csrf(&login_page.html);
    let li = post(
        &br,
        &t,
        "/login",
        &[
            ("csrf", &c),
            ("email", "admin@alpha.test"),
            ("password", GOOD_PASSWORD),
        ],
    )
    .await;
    assert_eq!(li.status, StatusCode::SEE_OTHER);
    let page = get(&br, &t, &format!("/invite/{token}")).await;
    assert!(page.html.contains("You are logged in as <strong>admin@alpha.test</strong>; this invitation is for <strong>bob@example.com</strong>"), "{}", page.html);
    assert!(page.html.contains("Log out and continue"));
    let out = post(
        &br,
        &t,
        "/logout",
        &[("csrf", &c), ("next", &format!("/invite/{token}"))],
    )
    .await;
    assert_eq!(out.location, format!("/invite/{token}"));
    let page = get(&br, &t, &out.location).await;
    assert!(page.html.contains("Create your Roster ID"));
}

#[tokio::test]
async fn unusable_links_say_why_and_admin_pages_are_404_for_members() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let r = t
        .invite(&a, &admin, "late@example.com", "user", false)
        .await;
    let late = token_from(&t.deliver_mail().await[0]);
    let _ = r;
    let b = browser();
    let nope = get(&b, &t, "/invite/not-a-token").await;
    assert_eq!(nope.status, StatusCode::NOT_FOUND);
    t.clock.advance(Duration::days(8));
    let page = get(&b, &t, &format!("/invite/{late}")).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.html.contains("This invitation has expired"));
    assert!(page.html.contains("resend"));

    // a plain member cannot reach Admin > Users
    let admin = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    let r = t
        .invite(&a, &admin, "user@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = token_from(&t.deliver_mail().await[0]);
    let (user, _) = accept_in_browser(&t, &token, "Una").await;
    let admin_page = get(&user, &t, &format!("/app/{a}/admin/users")).await;
    assert_eq!(admin_page.status, StatusCode::NOT_FOUND);
    // and anonymous visitors are sent to log in
    let anon = get(&browser(), &t, &format!("/app/{a}/admin/users")).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert!(anon.location.starts_with("/login?next=/app/"));
}

#[tokio::test]
async fn the_first_run_link_creates_the_first_app_once() {
    let t = spawn_app(Backend::Sqlite).await;
    let token = t
        .services
        .issue_setup_link(&t.ctx())
        .await
        .expect("issue")
        .expect("empty database gives a link");
    // a second start of the server printed another link; it must die with the first app too
    let other = t
        .services
        .issue_setup_link(&t.ctx())
        .await
        .expect("issue")
        .expect("still empty");
    let b = browser();
    let page = get(&b, &t, &format!("/setup/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let c = csrf(&page.html);
    let bad = post(
        &b,
        &t,
        &format!("/setup/{token}"),
        &[
            ("csrf", &c),
            ("name", "Acme"),
            ("seats", "0"),
            ("admin_first_name", "Ada"),
            ("admin_email", "ada@acme.test"),
        ],
    )
    .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a refused form keeps the link usable"
    );
    let ok = post(
        &b,
        &t,
        &format!("/setup/{token}"),
        &[
            ("csrf", &c),
            ("name", "Acme"),
            ("seats", "5"),
            ("admin_first_name", "Ada"),
            ("admin_email", "ada@acme.test"),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.html);
    assert!(ok.html.contains("Acme is ready"));
    let i = ok.html.find("href=\"/invite/").expect("accept link") + 6;
    let link = &ok.html[i..i + 8 + 43];
    let invite = get(&b, &t, link).await;
    assert!(invite.html.contains("Create your Roster ID"));
    assert_eq!(t.deliver_mail().await.len(), 1);
    // the link dies after use, and no new one is issued once an app exists
    let again = get(&b, &t, &format!("/setup/{token}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let stale = get(&b, &t, &format!("/setup/{other}")).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
    let forced = post(
        &b,
        &t,
        &format!("/setup/{other}"),
        &[
            ("csrf", &c),
            ("name", "Evil"),
            ("seats", "5"),
            ("admin_first_name", "Eve"),
            ("admin_email", "eve@evil.test"),
        ],
    )
    .await;
    assert_eq!(forced.status, StatusCode::NOT_FOUND);
    assert!(
        t.services
            .issue_setup_link(&t.ctx())
            .await
            .expect("issue")
            .is_none()
    );
}

#[tokio::test]
async fn copy_link_gives_a_fresh_working_link_without_email() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, token) = t.create_app("Acme", 3, "ada@acme.test", "Ada").await;
    let (admin, _) = accept_in_browser(&t, &token, "Ada").await;
    t.deliver_mail().await;
    let r = t
        .invite(
            &app,
            &t.login_token("ada@acme.test", GOOD_PASSWORD).await,
            "bob@example.com",
            "user",
            false,
        )
        .await;
    let old = token_from(&t.deliver_mail().await[0]);
    let inv = r.body["id"].as_str().expect("id").to_string();
    let users = get(&admin, &t, &format!("/app/{app}/admin/users")).await;
    assert!(users.html.contains("Copy link"));
    let c = csrf(&users.html);
    let page = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/invitations/{inv}/link"),
        &[("csrf", &c)],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let i = page
        .html
        .find(&format!("value=\"{}/invite/", t.addr))
        .expect("link")
        + 7;
    let link = page.html[i..].split('"').next().expect("link").to_string();
    assert!(
        t.deliver_mail().await.is_empty(),
        "no email for a copied link"
    );
    let new = link.rsplit('/').next().expect("token");
    assert_ne!(new, old);
    assert_eq!(
        t.accept_new(&old, "Bob", GOOD_PASSWORD).await.code(),
        "invitation_replaced"
    );
    assert_eq!(
        t.accept_new(new, "Bob", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn asking_support_for_a_seat_is_recorded_and_listed_as_pending() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, token) = t.create_app("Acme", 1, "ada@acme.test", "Ada").await;
    let (admin, _) = accept_in_browser(&t, &token, "Ada").await;
    let form = get(&admin, &t, &format!("/app/{app}/admin/users/add")).await;
    let c = csrf(&form.html);
    let refused = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/users/add"),
        &[
            ("csrf", &c),
            ("first_name", "Third"),
            ("email", "third@example.com"),
            ("admin", "no"),
        ],
    )
    .await;
    assert!(refused.html.contains("Ask support for a seat"));
    let asked = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/seats/request"),
        &[("csrf", &c)],
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let users = get(&admin, &t, &asked.location).await;
    assert!(users.html.contains("sent to support"));
    assert!(
        users.html.contains("1 seat asked on") && users.html.contains("pending"),
        "{}",
        users.html
    );
    let mut r = t.store.read().await.expect("read");
    let reqs = r.list_seat_requests(&app).await.expect("list");
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].status,
        roster_core::model::SeatRequestStatus::Pending
    );
}

#[tokio::test]
async fn old_invitations_keep_their_row_actions_in_a_big_app() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, token) = t.create_app("Big", 300, "ada@big.test", "Ada").await;
    let (admin, _) = accept_in_browser(&t, &token, "Ada").await;
    let session = t.login_token("ada@big.test", GOOD_PASSWORD).await;
    let p = t
        .services
        .authenticate(&t.ctx(), &session)
        .await
        .expect("auth");
    for n in 0..205 {
        t.services
            .invite(
                &t.ctx(),
                &p,
                &app,
                roster_core::service::InviteRequest {
                    email: format!("u{n:03}@big.test"),
                    first_name: Some("U".into()),
                    last_name: None,
                    admin: false,
                    kind: roster_core::types::MemberKind::User,
                },
            )
            .await
            .expect("invite");
    }
    // the oldest invitation is not among the newest 200, and still has its actions
    let page = get(&admin, &t, &format!("/app/{app}/admin/users?q=u000")).await;
    assert!(page.html.contains("u000@big.test"));
    assert!(
        page.html.contains("/resend") && page.html.contains("Copy link"),
        "{}",
        page.html
    );
}

/// The frame every page shares: flash messages, confirmations, error pages, the users list.
#[path = "pages/frame.rs"]
mod frame;

/// The ID's account page: leaving an app.
#[path = "pages/account.rs"]
mod account;
#[path = "pages/api_keys.rs"]
mod api_keys;
#[path = "pages/bulk.rs"]
mod bulk;
#[path = "pages/notifications.rs"]
mod notifications;
#[path = "pages/operator.rs"]
mod operator;
#[path = "pages/operator_oidc.rs"]
mod operator_oidc;
#[path = "pages/operator_support.rs"]
mod operator_support;
#[path = "pages/security.rs"]
mod security;
#[path = "pages/setup.rs"]
mod setup;
#[path = "pages/two_step.rs"]
mod two_step;
#[path = "pages/webhooks.rs"]
mod webhooks;
