//! The site's frame over HTTP: row actions with confirmation pages and one-shot flash messages,
//! framed error pages (and problem+json under /api), the partner row, times in the viewer's
//! zone, the app home.

use super::{Got, TestApp, browser, csrf, get, got, post};
use reqwest::StatusCode;
use roster_testkit::pages::log_in;
use roster_testkit::{Backend, GOOD_PASSWORD, spawn_app, token_from};
use std::sync::Arc;

async fn admin_browser(t: &TestApp, email: &str) -> reqwest::Client {
    roster_testkit::pages::logged_in_browser(t, email).await
}

/// The flash banner of a page, if any.
fn flash(html: &str) -> Option<String> {
    let i = html.find("id=\"flash\">")? + 11;
    Some(html[i..].split("</p>").next()?.to_string())
}

/// The `<tr>` of the member whose email is `email`.
fn row<'a>(html: &'a str, email: &str) -> &'a str {
    let i = html
        .find(&format!("data-label=\"Email\">{email}<"))
        .unwrap_or_else(|| panic!("no row for {email}: {html}"));
    let start = html[..i].rfind("<tr").expect("row start");
    let end = i + html[i..].find("</tr>").expect("row end");
    &html[start..end]
}

/// The first link or form address in `html` that ends with `ends_with`.
fn href_in(html: &str, ends_with: &str) -> String {
    let i = html.find(&format!("{ends_with}\"")).expect(ends_with);
    let start = html[..i].rfind('"').expect("href start") + 1;
    html[start..i + ends_with.len()].to_string()
}

#[tokio::test]
async fn deactivate_and_reactivate_through_the_pages_with_a_flash_shown_once() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 2).await;
    let (_member, _) = t.add_user(&app, &admin, "una@example.com").await;
    let b = admin_browser(&t, "admin@acme.test").await;
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    assert!(users.html.contains("Seats: 2 used of 2"), "{}", users.html);
    let r = row(&users.html, "una@example.com");
    assert!(r.contains(">Active<"));
    let confirm_url = href_in(r, "/deactivate");

    // GET shows the confirmation (who receives the records); POST deactivates
    let confirm = get(&b, &t, &confirm_url).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.html.contains("Deactivate Una Tester?") || confirm.html.contains("Deactivate Una?"),
        "{}",
        confirm.html
    );
    assert!(confirm.html.contains("Who receives their records?"));
    assert!(confirm.html.contains(&format!("action=\"{confirm_url}\"")));
    let c = csrf(&confirm.html);
    let done = post(&b, &t, &confirm_url, &[("csrf", &c), ("records_to", "")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location, format!("/app/{app}/admin/users"));
    assert!(
        !done.location.contains('?'),
        "nothing to show travels in the URL"
    );

    let after = get(&b, &t, &done.location).await;
    assert_eq!(
        flash(&after.html).as_deref(),
        Some("una@example.com was deactivated.")
    );
    assert!(after.html.contains("Seats: 1 used of 2"), "{}", after.html);
    let again = get(&b, &t, &done.location).await;
    assert_eq!(flash(&again.html), None, "a flash is shown once");

    let inactive = get(&b, &t, &format!("/app/{app}/admin/users?filter=inactive")).await;
    let r = row(&inactive.html, "una@example.com");
    assert!(r.contains(">Inactive<"));
    let reactivate = href_in(r, "/reactivate");
    let back = post(&b, &t, &reactivate, &[("csrf", &c)]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    let page = get(&b, &t, &back.location).await;
    assert_eq!(
        flash(&page.html).as_deref(),
        Some("una@example.com was reactivated.")
    );
    assert!(row(&page.html, "una@example.com").contains(">Active<"));
    assert!(page.html.contains("Seats: 2 used of 2"));

    // without its token the POST does nothing
    let forged = post(&b, &t, &confirm_url, &[("records_to", "")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let page = get(&b, &t, &back.location).await;
    assert!(row(&page.html, "una@example.com").contains(">Active<"));
}

#[tokio::test]
async fn text_in_the_url_never_becomes_a_banner() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 2).await;
    let b = admin_browser(&t, "admin@acme.test").await;
    for q in [
        "done=Your%20account%20is%20locked.%20Call%20555-0100",
        "sent=evil%40example.com",
        "notice=Hi&flash=Hi",
    ] {
        let page = get(&b, &t, &format!("/app/{app}/admin/users?{q}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(flash(&page.html), None, "{q}");
        assert!(!page.html.contains("class=\"notice\""), "{q}");
        assert!(!page.html.contains("555-0100") && !page.html.contains("evil@"));
    }
    // a forged flash cookie is ignored too
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let url: url::Url = t.addr.parse().expect("url");
    jar.add_cookie_str("roster_flash=WW91IHdvbg.AAAA; Path=/", &url);
    let forged = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    log_in(&t, &forged, "admin@acme.test").await;
    let page = get(&forged, &t, &format!("/app/{app}/admin/users")).await;
    assert_eq!(flash(&page.html), None);
}

#[tokio::test]
async fn remove_admin_is_not_offered_for_the_last_admin_and_asks_first_for_others() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    let b = admin_browser(&t, "admin@acme.test").await;
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    let me = row(&users.html, "admin@acme.test");
    assert!(!me.contains("Remove admin"), "{me}");
    assert!(
        !me.contains("Deactivate"),
        "the last admin cannot be deactivated either"
    );

    // a second admin: now either can be demoted, after a confirmation
    let (_, _) = t.add_user(&app, &admin, "bea@example.com").await;
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    let c = csrf(&users.html);
    let make = href_in(row(&users.html, "bea@example.com"), "/admin");
    let r = post(&b, &t, &make, &[("csrf", &c), ("admin", "true")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let users = get(&b, &t, &r.location).await;
    assert_eq!(
        flash(&users.html).as_deref(),
        Some("bea@example.com is now an admin.")
    );
    assert!(row(&users.html, "bea@example.com").contains(">Admin<"));
    assert!(row(&users.html, "admin@acme.test").contains("Remove admin"));
    let remove = href_in(row(&users.html, "bea@example.com"), "/remove-admin");
    let confirm = get(&b, &t, &remove).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.html.contains("Remove admin rights from"));
    assert!(confirm.html.contains("Cancel"));
    let done = post(&b, &t, &remove, &[("csrf", &c)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let users = get(&b, &t, &done.location).await;
    assert_eq!(
        flash(&users.html).as_deref(),
        Some("bea@example.com is no longer an admin.")
    );
    assert!(row(&users.html, "bea@example.com").contains(">User<"));

    // forcing it for the last admin: a framed page that says why, with a way back
    let my_id = t
        .get(
            &format!("/api/v1/apps/{app}/members?q=admin%40acme"),
            Some(&admin),
        )
        .await
        .body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let refused = post(
        &b,
        &t,
        &format!("/app/{app}/admin/members/{my_id}/remove-admin"),
        &[("csrf", &c)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.html.contains("last admin"), "{}", refused.html);
    assert!(refused.html.contains("<header"));
    assert!(refused.html.contains("admin@acme.test"), "who is logged in");
    assert!(refused.html.contains(&format!("App ID {app}")));
    assert!(
        refused
            .html
            .contains(&format!("href=\"/app/{app}/admin/users\""))
    );
    assert!(refused.html.contains("Back to Users"));
}

#[tokio::test]
async fn errors_are_framed_pages_for_browsers_and_problems_for_the_api() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 2).await;
    let anon = browser();
    let nope = get(&anon, &t, "/no/such/page").await;
    assert_eq!(nope.status, StatusCode::NOT_FOUND);
    assert!(nope.html.contains("<header") && nope.html.contains("Not found"));
    assert!(nope.html.contains("href=\"/login\""));

    let b = admin_browser(&t, "admin@acme.test").await;
    let ct = |r: &reqwest::Response| {
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    // unknown page, logged in: the frame with the account menu
    let r = b
        .get(format!("{}/app/{app}/admin/nothing", t.addr))
        .header("accept", "text/html")
        .send()
        .await
        .expect("get");
    assert!(ct(&r).starts_with("text/html"));
    let g: Got = got(r).await;
    assert_eq!(g.status, StatusCode::NOT_FOUND);
    assert!(g.html.contains("admin@acme.test") && g.html.contains("Log out"));
    assert!(g.html.contains("Your ID&#39;s security") || g.html.contains("Your ID's security"));

    // a wrong method on a page: a framed 405, not the browser's own page
    let r = b
        .delete(format!("{}/app/{app}/admin/users", t.addr))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(ct(&r).starts_with("text/html"));
    assert!(r.headers().contains_key("allow"));
    let g = got(r).await;
    assert!(g.html.contains("<header") && g.html.contains("Back to Users"));

    // an unreadable form: a framed page
    let r = b
        .post(format!("{}/app/{app}/admin/users/add", t.addr))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("post");
    assert!(r.status().is_client_error());
    assert!(ct(&r).starts_with("text/html"));

    // the API keeps problem+json, for unknown addresses and wrong methods alike
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/nothing"),
        (reqwest::Method::DELETE, "/api/v1/me"),
        (reqwest::Method::GET, "/no/such/page"),
    ] {
        let r = t
            .client
            .request(method.clone(), format!("{}{path}", t.addr))
            .header("accept", "application/json")
            .send()
            .await
            .expect("api");
        assert!(r.status().is_client_error(), "{method} {path}");
        assert_eq!(ct(&r), "application/problem+json", "{method} {path}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert!(body["status"].as_u64().is_some(), "{body}");
    }
}

#[tokio::test]
async fn the_partner_row_shows_the_email_as_name_and_its_role() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 2).await;
    let b = admin_browser(&t, "admin@acme.test").await;
    let form = get(&b, &t, &format!("/app/{app}/admin/partners/add")).await;
    let c = csrf(&form.html);
    for (email, admin) in [("mike@agency.test", "yes"), ("pat@agency.test", "no")] {
        let r = post(
            &b,
            &t,
            &format!("/app/{app}/admin/partners/add"),
            &[("csrf", &c), ("email", email), ("admin", admin)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    }
    let page = get(&b, &t, &format!("/app/{app}/admin/users?filter=partners")).await;
    let mike = row(&page.html, "mike@agency.test");
    assert!(
        mike.contains("<span class=\"who\">mike@agency.test</span>"),
        "{mike}"
    );
    assert!(mike.contains("title=\"Partner\">P</span>"));
    assert!(mike.contains(">Partner · Admin<"), "{mike}");
    assert!(row(&page.html, "pat@agency.test").contains(">Partner<"));
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    assert!(row(&users.html, "admin@acme.test").contains(">Admin<"));
}

fn with_offset(t: &TestApp, minutes: i32) -> reqwest::Client {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let url: url::Url = t.addr.parse().expect("url");
    jar.add_cookie_str(&format!("tz_offset={minutes}; Path=/"), &url);
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn last_login_is_shown_in_the_viewers_zone_and_names_it() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 2).await;
    // no zone anywhere: UTC, named
    let b = admin_browser(&t, "admin@acme.test").await;
    let page = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    let me = row(&page.html, "admin@acme.test");
    assert!(me.contains(" UTC<"), "{me}");
    // the browser's offset
    let b = with_offset(&t, 60);
    log_in(&t, &b, "admin@acme.test").await;
    let page = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    let me = row(&page.html, "admin@acme.test");
    assert!(me.contains(" UTC+01:00<"), "{me}");
    // the profile's zone wins over the browser's
    let s1 = get(&b, &t, &format!("/app/{app}/setup/1")).await;
    let c = csrf(&s1.html);
    let saved = post(
        &b,
        &t,
        &format!("/app/{app}/setup/1"),
        &[
            ("csrf", &c),
            ("action", "save"),
            ("first_name", "Ada"),
            ("time_zone", "Asia/Kolkata"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let page = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    let me = row(&page.html, "admin@acme.test");
    assert!(me.contains(" Asia/Kolkata<"), "{me}");
    // and the time is converted: the clock's UTC time + 5:30
    let utc = t
        .now()
        .to_offset(time::UtcOffset::from_hms(5, 30, 0).expect("offset"));
    let hm = format!("{:02}:{:02} Asia/Kolkata", utc.hour(), utc.minute());
    assert!(me.contains(&hm), "{hm} in {me}");
}

#[tokio::test]
async fn revoking_an_invitation_asks_first() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    let r = t
        .invite(&app, &admin, "bob@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = token_from(&t.deliver_mail().await[0]);
    let b = admin_browser(&t, "admin@acme.test").await;
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    assert!(users.html.contains("Seats: 2 used of 3"));
    let revoke = href_in(row(&users.html, "bob@example.com"), "/revoke");
    let confirm = get(&b, &t, &revoke).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .html
            .contains("Revoke the invitation to bob@example.com?")
    );
    let c = csrf(&confirm.html);
    let done = post(&b, &t, &revoke, &[("csrf", &c)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let users = get(&b, &t, &done.location).await;
    assert_eq!(
        flash(&users.html).as_deref(),
        Some("The invitation was revoked.")
    );
    assert!(!users.html.contains("bob@example.com"));
    assert!(users.html.contains("Seats: 1 used of 3"));
    let dead = get(&browser(), &t, &format!("/invite/{token}")).await;
    assert_eq!(dead.status, StatusCode::GONE);
}

#[tokio::test]
async fn the_app_home_shows_seats_pending_invitations_activity_and_quick_actions() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    let (other, _) = t.app_with_admin("Beta", 1).await;
    let r = t
        .invite(&app, &admin, "bob@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let (_, _) = t.add_user(&app, &admin, "una@example.com").await;
    let b = admin_browser(&t, "admin@acme.test").await;
    let home = get(&b, &t, &format!("/app/{app}")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.html.contains("3 / 3</span> seats used"),
        "{}",
        home.html
    );
    assert!(
        home.html.contains("1</span> pending invitation<"),
        "{}",
        home.html
    );
    assert!(
        home.html.contains("invited bob@example.com"),
        "{}",
        home.html
    );
    assert!(
        home.html
            .contains(&format!("href=\"/app/{app}/admin/users/add\""))
    );
    assert!(
        home.html
            .contains(&format!("href=\"/app/{app}/admin/partners/add\""))
    );
    // the frame: the app and its App ID, the switcher, the admin links, the account menu
    assert!(home.html.contains(&format!("App ID {app}")));
    assert!(
        home.html
            .contains(&format!("href=\"/app/{app}/admin/users\">Users</a>"))
    );
    assert!(
        home.html
            .contains(&format!("href=\"/app/{app}/profile\">Profile</a>"))
    );
    assert!(home.html.contains("href=\"/account/security\""));
    let _ = other;
    let sec = get(&b, &t, "/account/security").await;
    assert_eq!(sec.status, StatusCode::OK);
    for link in [
        "/account/password",
        "/account/email",
        "/account/sessions",
        "/account/activity",
    ] {
        assert!(sec.html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(
        home.html
            .contains(&format!("href=\"/app/{app}/admin/audit\">Audit log</a>"))
    );

    // a member who is not an admin sees neither numbers nor admin actions
    let user = browser();
    log_in(&t, &user, "una@example.com").await;
    let home = get(&user, &t, &format!("/app/{app}")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.html.contains("Welcome to Acme"));
    assert!(!home.html.contains("seats used") && !home.html.contains("/admin/users"));
}

#[tokio::test]
async fn the_app_switcher_lists_every_app_of_the_id() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b_app, _) = t.app_with_admin("Beta", 3).await;
    let r = t
        .invite(&a, &admin_a, "admin@beta.test", "partner", true)
        .await;
    let token = token_from(&t.deliver_mail().await[0]);
    let _ = r;
    let br = browser();
    let page = get(&br, &t, &format!("/invite/{token}")).await;
    let c = csrf(&page.html);
    let joined = post(
        &br,
        &t,
        &format!("/invite/{token}/join"),
        &[("csrf", &c), ("password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);
    let home = get(&br, &t, &format!("/app/{b_app}")).await;
    let i = home.html.find("class=\"menu switcher\"").expect("switcher");
    let menu = &home.html[i..i + home.html[i..].find("</details>").expect("end")];
    assert!(menu.contains(&format!("href=\"/app/{a}\"")) && menu.contains("Alpha"));
    assert!(menu.contains(&format!("href=\"/app/{b_app}\"")) && menu.contains("Beta"));
    assert!(menu.contains(&format!("App ID {a}")));
}

#[tokio::test]
async fn a_flash_set_by_one_node_is_shown_by_another() {
    // Behind a load balancer the redirect may land on another node: the key is in the database.
    let t = spawn_app(Backend::Sqlite).await;
    let other = roster_testkit::spawn_second_node(&t).await;
    let (app, admin) = t.app_with_admin("Acme", 2).await;
    t.add_user(&app, &admin, "una@example.com").await;
    let b = admin_browser(&t, "admin@acme.test").await;
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    let confirm_url = href_in(row(&users.html, "una@example.com"), "/deactivate");
    let confirm = get(&b, &t, &confirm_url).await;
    let c = csrf(&confirm.html);
    let done = post(&b, &t, &confirm_url, &[("csrf", &c), ("records_to", "")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let after = get(&b, &other, &done.location).await;
    assert_eq!(
        flash(&after.html).as_deref(),
        Some("una@example.com was deactivated.")
    );
}
