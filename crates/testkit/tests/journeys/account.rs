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
