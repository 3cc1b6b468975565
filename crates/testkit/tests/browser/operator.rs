//! The operator console (J8) in Chromium at laptop and phone size: the admin, out of seats, asks
//! support for one on the Add Users page; support grants it (the admin is emailed and their
//! Users page shows it), unlocks a locked ID, and suspends the app (the admin's sign-in to it
//! ends on a clear page, its API key is refused) and resumes it. Screenshots: operator-,
//! operator-app-, app-suspended-{1280,375}.png.

use super::{SIZES, browser, click, fill, login, shot, text_with, wait_path};
use roster_testkit::{Backend, GOOD_PASSWORD, spawn_app, totp_code};
use serde_json::json;

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn support_grants_a_seat_request_unlocks_an_id_and_suspends_an_app() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (a, admin) = t.app_with_admin("Acme", 1).await;
        let key = t
            .post(
                &format!("/api/v1/apps/{a}/api-keys"),
                Some(&admin),
                json!({"name": "sync", "kind": "service"}),
            )
            .await
            .body["secret"]
            .as_str()
            .expect("key")
            .to_string();
        // the admin, out of seats, asks support for one on the page
        let ab = browser(w, h).await;
        let ac = &ab.client;
        login(ac, &t, "admin@acme.test").await;
        ac.goto(&format!("{}/app/{a}/admin/users/add", t.addr))
            .await
            .expect("add");
        fill(ac, "first_name", "Third").await;
        fill(ac, "email", "third@example.com").await;
        click(ac, "form:not([action]) button[type=submit]").await;
        text_with(ac, "No seat available").await;
        click(ac, "form[action$='/seats/request'] button[type=submit]").await;
        let page = text_with(ac, "was sent to support").await;
        assert!(page.contains("1 seat asked on"), "{page}");
        assert!(page.contains("pending"), "{page}");
        let (_, support) = t.app_with_admin("Support", 1).await;
        t.services
            .add_operator(&t.ctx(), "admin@support.test")
            .await
            .expect("operator");
        let r = t
            .post("/api/v1/me/two-step/totp", Some(&support), json!({}))
            .await;
        let secret = r.body["secret"].as_str().expect("secret").to_string();
        let code = totp_code(&secret, t.now().unix_timestamp());
        t.post(
            "/api/v1/me/two-step/totp/confirm",
            Some(&support),
            json!({"code": code}),
        )
        .await;
        t.deliver_mail().await;

        let b = browser(w, h).await;
        let c = &b.client;
        c.goto(&format!("{}/login?next=/operator", t.addr))
            .await
            .expect("login");
        fill(c, "email", "admin@support.test").await;
        fill(c, "password", GOOD_PASSWORD).await;
        click(c, "form[action='/login'] button[type=submit]").await;
        text_with(c, "Finish logging in with a second step").await;
        t.clock.advance(time::Duration::seconds(31));
        fill(c, "code", &totp_code(&secret, t.now().unix_timestamp())).await;
        click(c, "form[action='/login/second-factor'] button[type=submit]").await;
        let page = text_with(c, "Seat requests").await;
        assert!(page.contains("asked for 1 seat"), "{page}");
        shot(c, "operator", w).await;
        // grant what was asked, with a note
        fill(c, &format!("note-{}", request_id(c).await), "Enjoy").await;
        click(c, "#seat-requests button[name=decision][value=grant]").await;
        let page = text_with(c, "the admin was emailed").await;
        assert!(page.contains("No request is waiting"), "{page}");
        let mail = t.deliver_mail().await;
        assert!(
            mail.iter()
                .any(|m| m.to == "admin@acme.test" && m.text.contains("Enjoy")),
            "the admin is emailed"
        );
        // the admin's Users page shows the outcome
        ac.goto(&format!("{}/app/{a}/admin/users", t.addr))
            .await
            .expect("users");
        let page = text_with(ac, "granted: 1 seat").await;
        assert!(page.contains("1 seat asked on"), "{page}");
        assert!(page.contains("granted: 1 seat on"), "{page}");

        // a locked ID, found by email and unlocked
        for _ in 0..5 {
            t.login("admin@acme.test", "Wrong-pass-1").await;
        }
        fill(c, "id-email", "admin@acme.test").await;
        click(c, "form[action='/operator/ids'] button[type=submit]").await;
        let page = text_with(c, "Locked").await;
        assert!(page.contains("Locked"), "{page}");
        click(c, "button[name=action][value=unlock]").await;
        text_with(c, "The ID is unlocked").await;
        assert_eq!(
            t.login("admin@acme.test", GOOD_PASSWORD)
                .await
                .status
                .as_u16(),
            200
        );

        // suspend the app: the admin's key is refused; resume
        c.goto(&format!("{}/operator/apps/{a}", t.addr))
            .await
            .expect("app");
        text_with(c, "Add complimentary seats").await;
        shot(c, "operator-app", w).await;
        click(c, "form[action$='/suspension'] button[type=submit]").await;
        text_with(c, "The app is suspended").await;
        let r = t
            .get(&format!("/api/v1/apps/{a}/members"), Some(&key))
            .await;
        assert_eq!(r.code(), "app_suspended");
        // the admin signs in to the app again: a page says why it cannot be used
        ac.delete_all_cookies().await.expect("log out");
        ac.goto(&format!("{}/login?next=/app/{a}", t.addr))
            .await
            .expect("login");
        fill(ac, "email", "admin@acme.test").await;
        fill(ac, "password", GOOD_PASSWORD).await;
        click(ac, "form[action='/login'] button[type=submit]").await;
        let page = text_with(ac, "This app is suspended").await;
        assert!(
            page.contains("Roster support has suspended this app")
                && page.contains("Your ID and your other apps are not affected"),
            "{page}"
        );
        assert_eq!(wait_path(ac, "/app/").await, format!("/app/{a}"));
        shot(ac, "app-suspended", w).await;
        click(c, "form[action$='/suspension'] button[type=submit]").await;
        text_with(c, "The app is resumed").await;
        let r = t
            .get(&format!("/api/v1/apps/{a}/members"), Some(&key))
            .await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(
            wait_path(c, "/operator/apps").await,
            format!("/operator/apps/{a}")
        );
    }
}

/// The id of the first request in the queue (from its note field's id).
async fn request_id(c: &fantoccini::Client) -> String {
    let v = c
        .execute(
            "return document.querySelector('#seat-requests input[name=note]').id.slice(5);",
            vec![],
        )
        .await
        .expect("js");
    v.as_str().expect("id").to_string()
}
