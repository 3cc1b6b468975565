//! Account journey: a person leaves an app from their own ID.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::json;

pub(super) async fn a_member_leaves_an_app_its_seat_is_freed_and_its_admins_are_told(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 2).await;
    let (member, session) = t.add_user(&a, &admin, "lea@example.com").await;
    let (b, _) = t.app_with_admin("Beta", 2).await;
    t.deliver_mail().await;
    assert_eq!(t.seats(&a, &admin).await["available"], 0);

    // not a member of Beta, and an unknown App ID: 404 (nothing to learn about other apps)
    for other in [b.to_string(), "zz999".into(), "NOT-AN-ID".into()] {
        let r = t
            .delete(&format!("/api/v1/me/apps/{other}"), Some(&session))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{other}: {:?}", r.body);
    }
    // the last admin cannot leave
    let r = t
        .delete(&format!("/api/v1/me/apps/{a}"), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.code(), "last_admin");

    let r = t
        .delete(&format!("/api/v1/me/apps/{a}"), Some(&session))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // Inactive, seat freed, the session bound to the app ended
    let m = t
        .get(&format!("/api/v1/apps/{a}/members/{member}"), Some(&admin))
        .await;
    assert_eq!(m.body["status"], "inactive");
    assert_eq!(t.seats(&a, &admin).await["available"], 1);
    t.assert_seats_consistent(&a).await;
    assert_eq!(
        t.get("/api/v1/me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let lea = t.login_token("lea@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/me", Some(&lea)).await.body["apps"],
        json!([])
    );
    // leaving twice: no longer an Active member
    let r = t.delete(&format!("/api/v1/me/apps/{a}"), Some(&lea)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // the admin is told, with a link to the Inactive members
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, "admin@alpha.test");
    assert!(
        mails[0].subject.contains("left Alpha"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0].text.contains("lea@example.com"),
        "{}",
        mails[0].text
    );
    assert!(
        mails[0].text.contains("seat is free again"),
        "{}",
        mails[0].text
    );
    assert!(
        mails[0]
            .text
            .contains(&format!("/app/{a}/admin/users?filter=inactive")),
        "{}",
        mails[0].text
    );
    // and it is in the app's audit log with the member as actor
    let audit = t
        .get(&format!("/api/v1/apps/{a}/audit"), Some(&admin))
        .await;
    assert!(
        audit.body.to_string().contains("member.left"),
        "{:?}",
        audit.body
    );
}

const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

pub(super) async fn an_id_sees_its_sessions_and_ends_them(t: TestApp) {
    let (_a, first) = t.app_with_admin("Alpha", 2).await;
    let (_b, stranger) = t.app_with_admin("Beta", 2).await;
    // a second sign-in from another browser
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/session", t.addr))
        .header("user-agent", FIREFOX_LINUX)
        .json(&json!({"email": "admin@alpha.test", "password": GOOD_PASSWORD}))
        .send()
        .await
        .expect("login");
    let second = TestApp::resp(res).await.body["token"]
        .as_str()
        .expect("token")
        .to_string();
    let third = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;

    let list = t.get("/api/v1/me/sessions", Some(&second)).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let items = list.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3, "{items:?}");
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Firefox on Linux");
    assert_eq!(current[0]["user_agent"], FIREFOX_LINUX);
    assert!(current[0]["client_addr"].as_str().is_some(), "{items:?}");
    // another ID's sessions are not listed, and cannot be ended from here
    let theirs = t.get("/api/v1/me/sessions", Some(&stranger)).await.body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = t
        .delete(&format!("/api/v1/me/sessions/{theirs}"), Some(&second))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.get("/api/v1/me", Some(&stranger)).await.status,
        StatusCode::OK
    );
    let r = t
        .delete("/api/v1/me/sessions/not-a-uuid", Some(&second))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // end the third one by its id
    let third_id = t.get("/api/v1/me/sessions", Some(&third)).await.body["items"]
        .as_array()
        .and_then(|v| v.iter().find(|s| s["current"] == true).cloned())
        .expect("current")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = t
        .delete(&format!("/api/v1/me/sessions/{third_id}"), Some(&second))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(
        t.get("/api/v1/me", Some(&third)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // then every other one: the first ends, the second (this one) stays
    let r = t.delete("/api/v1/me/sessions", Some(&second)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["ended"], 1);
    assert_eq!(
        t.get("/api/v1/me", Some(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/v1/me", Some(&second)).await.status,
        StatusCode::OK
    );
    let left = t.get("/api/v1/me/sessions", Some(&second)).await.body["items"]
        .as_array()
        .map(|v| v.len());
    assert_eq!(left, Some(1));
    // after the idle timeout the session is gone (and not listed for anyone)
    t.clock.advance(time::Duration::hours(13));
    assert_eq!(
        t.get("/api/v1/me/sessions", Some(&second)).await.status,
        StatusCode::UNAUTHORIZED
    );
}
