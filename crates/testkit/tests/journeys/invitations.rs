//! Invitations journey: unusable tokens, inviting twice or a member, one address in several
//! spellings.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::json;
use time::Duration;

pub(super) async fn unusable_tokens_each_get_their_own_code(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 10).await;
    let url = |r: &roster_testkit::Resp| {
        r.body["accept_url"]
            .as_str()
            .expect("url")
            .rsplit('/')
            .next()
            .expect("t")
            .to_string()
    };

    // revoked
    let r = t
        .invite(&a, &admin, "revoked@example.com", "user", false)
        .await;
    let (revoked, id) = (url(&r), r.body["id"].as_str().expect("id").to_string());
    let seats_before = t.seats(&a, &admin).await["used"].as_i64();
    let d = t
        .delete(&format!("/api/v1/apps/{a}/invitations/{id}"), Some(&admin))
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.seats(&a, &admin).await["used"].as_i64(),
        seats_before.map(|n| n - 1)
    );
    let r = t.accept_new(&revoked, "R", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::GONE, "invitation_revoked")
    );

    // used
    let r = t
        .invite(&a, &admin, "used@example.com", "user", false)
        .await;
    let used = url(&r);
    assert_eq!(
        t.accept_new(&used, "U", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    let r = t.accept_new(&used, "U", GOOD_PASSWORD).await;
    assert_eq!((r.status, r.code()), (StatusCode::GONE, "invitation_used"));

    // resent: the old link dies, the new one works
    let r = t
        .invite(&a, &admin, "resent@example.com", "user", false)
        .await;
    let (old, id) = (url(&r), r.body["id"].as_str().expect("id").to_string());
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations/{id}/resend"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let new = url(&r);
    assert_ne!(old, new);
    let r = t.accept_new(&old, "O", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::GONE, "invitation_replaced")
    );
    let info = t.get(&format!("/api/v1/invitations/{old}"), None).await;
    assert_eq!(info.code(), "invitation_replaced");

    // expired (the clock is moved, nobody sleeps) — and its seat is free again
    let r = t
        .invite(&a, &admin, "late@example.com", "user", false)
        .await;
    let late = url(&r);
    let late_id = r.body["id"].as_str().expect("id").to_string();
    let used_before = t.seats(&a, &admin).await["used"].as_i64().expect("used");
    t.clock.advance(Duration::days(7) + Duration::seconds(1));
    // the admin's session idled out meanwhile
    let admin = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    let r = t.accept_new(&late, "L", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::GONE, "invitation_expired")
    );
    assert!(r.body["detail"].as_str().unwrap_or("").contains("resend"));
    // the new link (resent before the clock moved) expired too
    assert_eq!(
        t.accept_new(&new, "N", GOOD_PASSWORD).await.code(),
        "invitation_expired"
    );
    let used_after = t.seats(&a, &admin).await["used"].as_i64().expect("used");
    assert_eq!(
        used_after,
        used_before - 2,
        "expired invitations hold no seat"
    );
    // the expired invitation stays listed, and can be renewed
    let list = t
        .get(&format!("/api/v1/apps/{a}/invitations"), Some(&admin))
        .await;
    let entry = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == late_id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(entry["status"], "expired");
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations/{late_id}/resend"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(
        t.accept_new(&url(&r), "L", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );

    // a token that never existed
    let r = t.get("/api/v1/invitations/not-a-real-token", None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = t.accept_new("not-a-real-token", "X", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    t.assert_seats_consistent(&a).await;
}

pub(super) async fn inviting_twice_or_a_member_is_a_clear_error(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 5).await;
    assert_eq!(
        t.invite(&a, &admin, "dup@example.com", "user", false)
            .await
            .status,
        StatusCode::CREATED
    );
    let r = t.invite(&a, &admin, "DUP@example.com", "user", false).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_invited")
    );
    let r = t
        .invite(&a, &admin, "admin@alpha.test", "user", false)
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_member")
    );
    t.assert_seats_consistent(&a).await;
}

/// `idn@bücher.example`, its punycode spelling and its decomposed (u + U+0308) spelling are one
/// address: the second and third invitations are refused and only one seat is held.
pub(super) async fn idn_spellings_of_one_address_are_one_invitation(t: TestApp) {
    let (a, admin) = t.app_with_admin("Idn", 5).await;
    let used = t.seats(&a, &admin).await["used"].as_i64().expect("used");
    let r = t
        .invite(&a, &admin, "idn@bücher.example", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    for spelling in [
        "idn@xn--bcher-kva.example",
        "idn@bu\u{0308}cher.example",
        "IDN@BÜCHER.EXAMPLE",
    ] {
        let r = t.invite(&a, &admin, spelling, "user", false).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::CONFLICT, "already_invited"),
            "{spelling}: {:?}",
            r.body
        );
    }
    assert_eq!(t.seats(&a, &admin).await["used"].as_i64(), Some(used + 1));
    t.assert_seats_consistent(&a).await;
    let r = t
        .get(&format!("/api/v1/apps/{a}/members?q=idn@"), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        r.body
    );
}
