//! Seats journey: no seat, no member until one is bought; concurrent invitations never oversell.

use reqwest::StatusCode;
use roster_testkit::TestApp;
use serde_json::json;

pub(super) async fn third_user_without_a_seat_is_refused_until_a_seat_is_bought(t: TestApp) {
    let (acme, admin) = t.app_with_admin("Acme", 2).await;
    let r = t
        .invite(&acme, &admin, "second@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    t.deliver_mail().await;

    let r = t
        .invite(&acme, &admin, "third@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "seat_unavailable");
    assert_eq!(r.content_type, "application/problem+json");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Buy another seat")
    );
    assert_eq!(r.body["seats"]["total"], 2);
    assert!(t.deliver_mail().await.is_empty(), "no email without a seat");
    let list = t
        .get(&format!("/api/v1/apps/{acme}/invitations"), Some(&admin))
        .await;
    assert!(
        list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["email"] != "third@example.com"),
        "no invitation without a seat"
    );

    let r = t
        .post(
            &format!("/api/v1/apps/{acme}/seats"),
            Some(&admin),
            json!({"quantity": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["total"], 3);
    let r = t
        .invite(&acme, &admin, "third@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let mails = t.deliver_mail().await;
    assert_eq!(
        mails.iter().filter(|m| m.to == "third@example.com").count(),
        1
    );
    let seats = t.seats(&acme, &admin).await;
    assert_eq!(
        (seats["used"].as_i64(), seats["available"].as_i64()),
        (Some(3), Some(0))
    );
    let audit = t
        .get(&format!("/api/v1/apps/{acme}/audit"), Some(&admin))
        .await;
    assert!(
        audit.body["items"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "seats.purchased"),
        "seat purchase audited"
    );
    t.assert_seats_consistent(&acme).await;
}

pub(super) async fn fifty_concurrent_invitations_against_ten_free_seats(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 11).await; // the admin holds one
    let futures = (0..50).map(|n| {
        let (t, a, admin) = (&t, a.clone(), admin.clone());
        async move {
            t.invite(&a, &admin, &format!("c{n}@example.com"), "user", false)
                .await
        }
    });
    let results = futures::future::join_all(futures).await;
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT && r.code() == "seat_unavailable")
        .count();
    assert_eq!((ok, refused), (10, 40));
    assert_eq!(t.deliver_mail().await.len(), 10);
    let seats = t.seats(&a, &admin).await;
    assert_eq!(
        (seats["used"].as_i64(), seats["total"].as_i64()),
        (Some(11), Some(11))
    );
    t.assert_seats_consistent(&a).await;
}
