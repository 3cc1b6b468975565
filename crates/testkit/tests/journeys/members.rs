//! Members journey: the list (filters, search, pages), deactivation and reactivation, the last
//! admin.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::json;

pub(super) async fn deactivation_frees_the_seat_and_ends_sessions_reactivation_needs_one(
    t: TestApp,
) {
    let (a, admin) = t.app_with_admin("Alpha", 2).await;
    let (member, session) = t.add_user(&a, &admin, "dee@example.com").await;
    assert_eq!(t.seats(&a, &admin).await["available"], 0);
    // Dee's session works in the app (she can see herself in `me`)
    assert_eq!(
        t.get("/api/v1/me", Some(&session)).await.status,
        StatusCode::OK
    );

    let path = format!("/api/v1/apps/{a}/members/{member}");
    let r = t
        .patch(&path, Some(&admin), json!({"status": "inactive"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "inactive");
    assert_eq!(t.seats(&a, &admin).await["available"], 1);
    // the session bound to the app has ended
    let me = t.get("/api/v1/me", Some(&session)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    // a fresh login no longer lists the app, and the app's routes are 404
    let dee = t.login_token("dee@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        t.get("/api/v1/me", Some(&dee)).await.body["apps"],
        json!([])
    );

    // someone else takes the freed seat; reactivation then has none
    let r = t
        .invite(&a, &admin, "taker@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = t
        .patch(&path, Some(&admin), json!({"status": "active"}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "seat_unavailable")
    );
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    let r = t
        .patch(&path, Some(&admin), json!({"status": "active"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "active");
    t.assert_seats_consistent(&a).await;
}

pub(super) async fn the_last_admin_cannot_be_demoted_or_deactivated(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let me = t
        .get(&format!("/api/v1/apps/{a}/members"), Some(&admin))
        .await;
    let admin_id = me.body["items"][0]["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/apps/{a}/members/{admin_id}");
    let r = t.patch(&path, Some(&admin), json!({"admin": false})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "last_admin"));
    let r = t
        .patch(&path, Some(&admin), json!({"status": "inactive"}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "last_admin"));

    // with a second admin, the first can step down
    let (second, second_session) = t.add_user(&a, &admin, "second@example.com").await;
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/members/{second}"),
            Some(&admin),
            json!({"admin": true}),
        )
        .await;
    assert_eq!(r.body["admin"], true);
    let r = t
        .patch(&path, Some(&second_session), json!({"admin": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["admin"], false);
    // the demoted admin no longer reaches admin routes
    let r = t
        .get(&format!("/api/v1/apps/{a}/members"), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

pub(super) async fn members_list_filters_searches_and_pages(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 30).await;
    for n in 0..12 {
        t.invite(
            &a,
            &admin,
            &format!("user{n:02}@example.com"),
            "user",
            false,
        )
        .await;
    }
    t.invite(&a, &admin, "partner@agency.com", "partner", true)
        .await;
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/apps/{a}/members?limit=5&cursor={c}"),
            None => format!("/api/v1/apps/{a}/members?limit=5"),
        };
        let r = t.get(&path, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK);
        for m in r.body["items"].as_array().expect("items") {
            seen.push(m["email"].as_str().unwrap_or("").to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 14);
    let r = t
        .get(
            &format!("/api/v1/apps/{a}/members?filter=partners"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["items"].as_array().expect("i").len(), 1);
    assert_eq!(r.body["items"][0]["kind"], "partner");
    assert_eq!(r.body["items"][0]["admin"], true);
    let r = t
        .get(&format!("/api/v1/apps/{a}/members?q=USER0"), Some(&admin))
        .await;
    assert_eq!(r.body["items"].as_array().expect("i").len(), 10);
    // 1–2 characters match the start of the email or a name, not the middle
    // control characters are dropped (a NUL made the database refuse the query: 500)
    for (q, hits) in [
        ("US", 12),
        ("er", 0),
        ("p", 1),
        ("zq", 0),
        ("u%00s", 12),
        ("%00", 14),
    ] {
        let r = t
            .get(&format!("/api/v1/apps/{a}/members?q={q}"), Some(&admin))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["items"].as_array().expect("i").len(), hits, "q={q}");
    }
    let r = t
        .get(
            &format!("/api/v1/apps/{a}/members?filter=inactive"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
}

/// A control character in a search (a NUL ended SQLite's FTS query; PostgreSQL refuses it in
/// text) is dropped, in the member list and in the operator's search of apps: never a 500.
pub(super) async fn control_characters_in_searches_are_dropped(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 5).await;
    t.invite(&a, &admin, "ann@example.com", "user", false).await;
    for q in ["an%00n", "ann%00", "%01an", "a%00"] {
        let r = t
            .get(&format!("/api/v1/apps/{a}/members?q={q}"), Some(&admin))
            .await;
        assert_eq!(r.status, StatusCode::OK, "q={q}");
        let items = r.body["items"].as_array().expect("items");
        assert!(
            items.iter().any(|m| m["email"] == "ann@example.com"),
            "q={q}: {items:?}"
        );
    }
    // the operator's search (here as `roster` on the command line, no principal)
    for q in ["Alp\0ha", "\0", "al\u{7}"] {
        let found = t
            .services
            .operator_find_apps(None, Some(q))
            .await
            .expect("search");
        assert!(found.iter().any(|app| app.app_id == a), "{q:?}");
    }
}
