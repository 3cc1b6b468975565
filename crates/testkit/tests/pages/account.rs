//! The ID's account page: its apps, and leaving one through a confirmation page.

use super::{csrf, get, post};
use reqwest::StatusCode;
use roster_testkit::pages::logged_in_browser;
use roster_testkit::{Backend, GOOD_PASSWORD, spawn_app};

#[tokio::test]
async fn a_member_leaves_an_app_from_the_account_page() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 2).await;
    t.add_user(&app, &admin, "lea@example.com").await;
    let b = logged_in_browser(&t, "lea@example.com").await;

    let account = get(&b, &t, "/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.html.contains("lea@example.com"), "{}", account.html);
    let leave = format!("/account/apps/{app}/leave");
    assert!(
        account.html.contains(&format!("href=\"{leave}\"")),
        "{}",
        account.html
    );

    // GET asks first and changes nothing
    let confirm = get(&b, &t, &leave).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.html.contains("Leave Acme?"), "{}", confirm.html);
    assert!(
        confirm.html.contains("Your seat is freed"),
        "{}",
        confirm.html
    );
    assert_eq!(t.seats(&app, &admin).await["available"], 0);
    // without its CSRF token the POST does nothing
    let forged = post(&b, &t, &leave, &[]).await;
    assert!(forged.status.is_client_error(), "{}", forged.status);
    assert_eq!(t.seats(&app, &admin).await["available"], 0);

    let c = csrf(&confirm.html);
    let done = post(&b, &t, &leave, &[("csrf", &c)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location, "/account");
    let after = get(&b, &t, "/account").await;
    assert!(
        after
            .html
            .contains(&format!("You left the app with App ID {app}.")),
        "{}",
        after.html
    );
    assert!(
        !after.html.contains(&format!("href=\"{leave}\"")),
        "{}",
        after.html
    );
    assert_eq!(t.seats(&app, &admin).await["available"], 1);
    // the app is gone for this ID: its pages are 404
    let gone = get(&b, &t, &format!("/app/{app}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_admin_is_told_they_cannot_leave() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _admin) = t.app_with_admin("Acme", 2).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let leave = format!("/account/apps/{app}/leave");
    let confirm = get(&b, &t, &leave).await;
    let c = csrf(&confirm.html);
    let r = post(&b, &t, &leave, &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.html);
    assert!(r.html.contains("last admin"), "{}", r.html);
    // a page in the frame, with a way back
    assert!(r.html.contains("<header"), "{}", r.html);
}

#[tokio::test]
async fn the_sessions_page_lists_and_ends_sessions() {
    let t = spawn_app(Backend::Sqlite).await;
    let (_app, admin_api) = t.app_with_admin("Acme", 2).await;
    let other_api = t.login_token("admin@acme.test", GOOD_PASSWORD).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let page = get(&b, &t, "/account/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.html.matches("<li class=\"session\">").count(),
        3,
        "{}",
        page.html
    );
    assert_eq!(
        page.html.matches("This browser").count(),
        1,
        "{}",
        page.html
    );
    let ends: Vec<String> = page
        .html
        .match_indices("action=\"/account/sessions/")
        .filter_map(|(i, _)| {
            let rest = &page.html[i + 8..];
            rest.split('"').next().map(str::to_string)
        })
        .filter(|a| a.ends_with("/end"))
        .collect();
    assert_eq!(ends.len(), 2, "{ends:?}");
    // End this session (one of the API ones)
    let c = csrf(&page.html);
    let r = post(&b, &t, &ends[0], &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let page = get(&b, &t, &r.location).await;
    assert!(
        page.html.contains("The session was ended."),
        "{}",
        page.html
    );
    assert_eq!(
        page.html.matches("<li class=\"session\">").count(),
        2,
        "{}",
        page.html
    );
    // End all other sessions: only this browser is left, both API tokens are dead
    let r = post(&b, &t, "/account/sessions/end-others", &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let page = get(&b, &t, &r.location).await;
    assert!(
        page.html.contains("1 other session was ended."),
        "{}",
        page.html
    );
    assert_eq!(
        page.html.matches("<li class=\"session\">").count(),
        1,
        "{}",
        page.html
    );
    for token in [&admin_api, &other_api] {
        assert_eq!(
            t.get("/api/v1/me", Some(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // without the CSRF token nothing happens
    let r = post(&b, &t, "/account/sessions/end-others", &[]).await;
    assert!(r.status.is_client_error());
}
