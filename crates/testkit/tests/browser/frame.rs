//! The frame in Chromium at laptop and phone size: deactivate and reactivate a member through
//! the pages (confirmation, flash, status and seats), the Users table as cards on a phone, the
//! app home. Screenshots: frame-users-{1280,375}.png, app-home-{1280,375}.png.

use super::{SIZES, browser, click, login, shot, text_with};
use fantoccini::{Client, Locator};
use roster_testkit::{Backend, spawn_app};

/// The rectangle (left, top, right, bottom) of the first element matching `css`.
async fn rect(c: &Client, css: &str) -> [f64; 4] {
    let e = c.find(Locator::Css(css)).await.expect(css);
    let v = c
        .execute(
            "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];",
            vec![serde_json::to_value(&e).expect("el")],
        )
        .await
        .expect("rect");
    serde_json::from_value(v).expect("numbers")
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn deactivate_and_reactivate_a_member_through_the_pages() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (app, admin) = t.app_with_admin("Acme", 3).await;
        let _ = t.add_user(&app, &admin, "una@example.com").await;
        let r = t
            .invite(&app, &admin, "bob@example.com", "user", false)
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED);
        let r = t
            .invite(&app, &admin, "mike@agency.test", "partner", true)
            .await;
        assert_eq!(r.status, reqwest::StatusCode::CREATED);
        let b = browser(w, h).await;
        let c = &b.client;
        login(c, &t, "admin@acme.test").await;
        c.goto(&format!("{}/app/{app}", t.addr))
            .await
            .expect("home");
        let home = text_with(c, "seats used").await;
        assert!(home.contains("3 / 3"), "{home}");
        assert!(home.contains("pending invitations"), "{home}");
        let pending = c
            .find(Locator::Css("#pending .big"))
            .await
            .expect("pending");
        assert_eq!(pending.text().await.expect("text"), "2");
        shot(c, "app-home", w).await;

        c.goto(&format!("{}/app/{app}/admin/users", t.addr))
            .await
            .expect("users");
        let page = text_with(c, "Seats:").await;
        assert!(page.contains("Seats: 3 used of 3"), "{page}");
        assert!(page.contains("Partner · Admin"), "{page}");
        // nothing scrolls sideways; on a phone each row is a card, its name above its actions
        let v = c
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth];",
                vec![],
            )
            .await
            .expect("widths");
        let (vw, sw) = (v[0].as_f64().expect("w"), v[1].as_f64().expect("sw"));
        assert!(
            sw <= vw + 1.0,
            "Users scrolls sideways at {w}px: {sw} > {vw}"
        );
        if w < 500 {
            let name = rect(
                c,
                "table.cards tbody tr:has(a[href$='/deactivate']) td.name",
            )
            .await;
            let actions = rect(
                c,
                "table.cards tbody tr:has(a[href$='/deactivate']) td.rowactions",
            )
            .await;
            assert!(
                name[3] <= actions[1] + 0.5,
                "name above actions: {name:?} {actions:?}"
            );
            assert!(actions[2] <= vw + 0.5, "actions inside the screen");
        }
        shot(c, "frame-users", w).await;

        // Deactivate: a confirmation page, then the list with a flash, Inactive, a seat freed
        click(c, "a[href$='/deactivate']").await;
        let confirm = text_with(c, "Who receives their records?").await;
        assert!(confirm.contains("Deactivate Una"), "{confirm}");
        click(c, "button.danger").await;
        let page = text_with(c, "was deactivated").await;
        assert!(page.contains("una@example.com was deactivated."), "{page}");
        assert!(page.contains("Seats: 2 used of 3"), "{page}");
        c.refresh().await.expect("reload");
        let again = text_with(c, "Seats:").await;
        assert!(!again.contains("was deactivated"), "the flash shows once");

        c.goto(&format!("{}/app/{app}/admin/users?filter=inactive", t.addr))
            .await
            .expect("inactive");
        let page = text_with(c, "una@example.com").await;
        assert!(page.contains("Inactive"), "{page}");
        click(c, "form[action$='/reactivate'] button[type=submit]").await;
        let page = text_with(c, "was reactivated").await;
        assert!(page.contains("una@example.com was reactivated."), "{page}");
        assert!(page.contains("Seats: 3 used of 3"), "{page}");
        let row = c
            .find(Locator::XPath(
                "//tr[td[normalize-space()='una@example.com']]/td[contains(@class,'status')]",
            ))
            .await
            .expect("una's status");
        assert_eq!(row.text().await.expect("text").trim(), "Active");
    }
}

/// Under the pages' CSP (no inline script): the Copy button of the invitation-link page, driven
/// by /static/roster.js, and the sandboxed signature preview still rendering its HTML.
#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn copy_link_and_signature_preview_work_under_the_csp() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    let r = t
        .invite(&app, &admin, "bob@example.com", "user", false)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED);
    let b = browser(1280, 800).await;
    let c = &b.client;
    login(c, &t, "admin@acme.test").await;
    c.goto(&format!("{}/app/{app}/admin/users", t.addr))
        .await
        .expect("users");
    text_with(c, "Copy link").await;
    click(c, "form[action$='/link'] button").await;
    text_with(c, "Invitation link for").await;
    let copy = c.find(Locator::Id("copy")).await.expect("copy");
    assert!(copy.is_displayed().await.expect("shown"), "the script ran");
    click(c, "#copy").await;
    assert_eq!(copy.text().await.expect("text"), "Copied");

    c.goto(&format!("{}/app/{app}/setup/2?from=profile", t.addr))
        .await
        .expect("setup");
    text_with(c, "HTML signature").await;
    let sig = c.find(Locator::Id("signature_html")).await.expect("field");
    sig.clear().await.expect("clear");
    sig.send_keys("<b>Ada Lovelace</b><br>Acme")
        .await
        .expect("type");
    click(c, "button[value=preview]").await;
    text_with(c, "Preview").await;
    let frame = c
        .find(Locator::Css("iframe.sigpreview"))
        .await
        .expect("preview");
    frame.enter_frame().await.expect("enter");
    let body = text_with(c, "Ada Lovelace").await;
    assert!(
        body.contains("Ada Lovelace") && body.contains("Acme"),
        "{body}"
    );
}
