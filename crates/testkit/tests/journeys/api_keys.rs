//! API keys, Idempotency-Key and ETag/If-Match (issue 10): personal keys act as their member,
//! service keys as an admin of one app; both are scoped, expire, are revoked and audited.

use reqwest::{Method, StatusCode};
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::{Value, json};
use time::Duration;

/// A request with extra headers; returns status, headers and JSON body.
pub(super) async fn send(
    t: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut rb = t.client.request(method, format!("{}{}", t.addr, path));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.expect("request");
    let status = res.status();
    let h = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Make a key with a session; returns its secret and id.
pub(super) async fn make_key(
    t: &TestApp,
    app: &str,
    session: &str,
    body: Value,
) -> (String, String) {
    let r = t
        .post(&format!("/api/v1/apps/{app}/api-keys"), Some(session), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    (
        r.body["secret"].as_str().expect("secret").to_string(),
        r.body["id"].as_str().expect("id").to_string(),
    )
}

pub(super) async fn a_personal_key_can_do_exactly_what_its_member_can(t: TestApp) {
    let (a, admin) = t.app_with_admin("Keys", 5).await;
    let (_, user) = t.add_user(&a, &admin, "una@example.com").await;

    // any member makes a personal key for themselves; it is shown once, recognisably
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&user),
            json!({"name": "my script", "kind": "personal"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let una_key = r.body["secret"].as_str().unwrap().to_string();
    assert!(una_key.starts_with(&format!("rk_live_{a}_")), "{una_key}");
    assert!(una_key.starts_with(r.body["prefix"].as_str().unwrap()));
    assert_eq!(r.body["scopes"], json!(["read", "write"]));
    // never listed again
    let list = t
        .get(&format!("/api/v1/apps/{a}/api-keys"), Some(&user))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert!(list.body["items"][0].get("secret").is_none());
    assert!(!list.body.to_string().contains(&una_key));

    // a user cannot list members; neither can their key
    let members = format!("/api/v1/apps/{a}/members");
    assert_eq!(
        t.get(&members, Some(&una_key)).await.status,
        StatusCode::NOT_FOUND
    );
    // a user cannot make service keys
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&user),
            json!({"name": "svc", "kind": "service"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // keys do not open the ID's own routes
    let r = t.get("/api/v1/me", Some(&una_key)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["detail"].as_str().unwrap().contains("app's routes"));

    // an admin's read-only key reads but cannot write
    let (ro, _) = make_key(
        &t,
        a.as_str(),
        &admin,
        json!({"name": "reporting", "kind": "personal", "scopes": ["read"]}),
    )
    .await;
    assert_eq!(t.get(&members, Some(&ro)).await.status, StatusCode::OK);
    let r = t.invite(&a, &ro, "x@example.com", "user", false).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    // the X-Roster-Api-Key header works too
    let (s, _, _) = send(
        &t,
        Method::GET,
        &members,
        &[("x-roster-api-key", &ro)],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // read-write: invites, but needs the admin scope for admins and for keys
    let (rw, _) = make_key(
        &t,
        a.as_str(),
        &admin,
        json!({"name": "crm sync", "kind": "personal"}),
    )
    .await;
    let r = t.invite(&a, &rw, "x@example.com", "user", false).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = t.invite(&a, &rw, "y@example.com", "user", true).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&rw),
            json!({"name": "minted", "kind": "personal"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    // bad input is a clear 422 with every field named
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": " ", "kind": "personal", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "expires_at"]);
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": "x", "kind": "robot"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

pub(super) async fn revoked_expired_and_deactivated_members_keys_get_401_at_once(t: TestApp) {
    let (a, admin) = t.app_with_admin("Revoke", 5).await;
    let seats = format!("/api/v1/apps/{a}/seats");
    let (k, id) = make_key(
        &t,
        a.as_str(),
        &admin,
        json!({"name": "k", "kind": "personal"}),
    )
    .await;
    assert_eq!(t.get(&seats, Some(&k)).await.status, StatusCode::OK);
    let r = t
        .delete(&format!("/api/v1/apps/{a}/api-keys/{id}"), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "revoked");
    assert_eq!(
        t.get(&seats, Some(&k)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // expiry
    let soon = (t.now() + Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (k, _) = make_key(
        &t,
        a.as_str(),
        &admin,
        json!({"name": "short", "kind": "personal", "expires_at": soon}),
    )
    .await;
    assert_eq!(t.get(&seats, Some(&k)).await.status, StatusCode::OK);
    t.clock.advance(Duration::hours(2));
    assert_eq!(
        t.get(&seats, Some(&k)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let admin = t.login_token("admin@revoke.test", GOOD_PASSWORD).await;

    // a deactivated member's keys stop at once, and stay revoked after reactivation
    let (member, user) = t.add_user(&a, &admin, "dee@example.com").await;
    let (dk, _) = make_key(
        &t,
        a.as_str(),
        &user,
        json!({"name": "dee's", "kind": "personal"}),
    )
    .await;
    let me_in_app = format!("/api/v1/apps/{a}/api-keys");
    assert_eq!(t.get(&me_in_app, Some(&dk)).await.status, StatusCode::OK);
    let path = format!("/api/v1/apps/{a}/members/{member}");
    let r = t
        .patch(&path, Some(&admin), json!({"status": "inactive"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.get(&me_in_app, Some(&dk)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = t
        .patch(&path, Some(&admin), json!({"status": "active"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.get(&me_in_app, Some(&dk)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // garbage keys are 401 too, never 500
    for bad in [
        "rk_live_",
        "rk_live_zz999_short",
        &format!("rk_live_{a}_{}", "x".repeat(43)),
    ] {
        assert_eq!(
            t.get(&seats, Some(bad)).await.status,
            StatusCode::UNAUTHORIZED,
            "{bad}"
        );
    }
}

pub(super) async fn a_service_key_acts_as_admin_in_its_app_only(t: TestApp) {
    let (a, admin) = t.app_with_admin("Svc", 5).await;
    let (b, b_admin) = t.app_with_admin("Other", 5).await;
    let (svc, svc_id) = make_key(
        &t,
        a.as_str(),
        &admin,
        json!({"name": "Zapier", "kind": "service"}),
    )
    .await;
    let r = t
        .get(&format!("/api/v1/apps/{a}/members"), Some(&svc))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.invite(&a, &svc, "sam@example.com", "user", false).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let member = r.body["member_id"].as_str().unwrap().to_string();
    // admins and keys are out of reach without the admin scope
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/members/{member}"),
            Some(&svc),
            json!({"admin": true}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let r = t
        .delete(&format!("/api/v1/apps/{a}/api-keys/{svc_id}"), Some(&svc))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // with it, they are not
    let (svc_admin, _) = make_key(
        &t,
        a.as_str(),
        &admin,
        json!({"name": "IdP", "kind": "service", "scopes": ["read", "write", "admin"]}),
    )
    .await;
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/members/{member}"),
            Some(&svc_admin),
            json!({"admin": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // another app's anything is 404
    for path in [
        format!("/api/v1/apps/{b}/members"),
        format!("/api/v1/apps/{b}/seats"),
        format!("/api/v1/apps/{b}/api-keys?kind=service"),
    ] {
        assert_eq!(
            t.get(&path, Some(&svc_admin)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = t
        .invite(&b, &svc_admin, "z@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // admins list service keys; the list shows when and where each was last used
    let list = t
        .get(
            &format!("/api/v1/apps/{a}/api-keys?kind=service"),
            Some(&admin),
        )
        .await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["name"], "Zapier");
    assert_eq!(items[1]["last_used_address"], "127.0.0.1");
    assert!(items[1]["last_used_at"].is_string());
    let other = t
        .get(
            &format!("/api/v1/apps/{b}/api-keys?kind=service"),
            Some(&b_admin),
        )
        .await;
    assert_eq!(other.body["items"], json!([]));

    // the audit log names the key as the actor, and records creation and the first address
    let audit = t
        .get(&format!("/api/v1/apps/{a}/audit?limit=100"), Some(&admin))
        .await;
    let events = audit.body["items"].as_array().unwrap();
    let has = |action: &str, actor: &str| {
        events
            .iter()
            .any(|e| e["action"] == action && e["actor"].as_str().unwrap().contains(actor))
    };
    assert!(has("api_key.created", "admin@svc.test"), "{events:?}");
    assert!(has("api_key.new_address", "Zapier"), "{events:?}");
    assert!(has("invitation.sent", "service key “Zapier”"), "{events:?}");
    assert!(
        has("member.role_changed", "service key “IdP”"),
        "{events:?}"
    );
    // one new-address event per key and address, however often it is used
    let n = events
        .iter()
        .filter(|e| e["action"] == "api_key.new_address" && e["target"] == svc_id.as_str())
        .count();
    assert_eq!(n, 1);
    t.assert_seats_consistent(&a).await;
}

pub(super) async fn an_idempotency_key_replays_the_first_answer(t: TestApp) {
    let (a, admin) = t.app_with_admin("Idem", 5).await;
    let path = format!("/api/v1/apps/{a}/invitations");
    let bearer = format!("Bearer {admin}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("idempotency-key", "6f1c-once"),
    ];
    let body = json!({"email": "ivy@example.com", "first_name": "Ivy", "kind": "user"});
    let (s1, h1, b1) = send(&t, Method::POST, &path, &headers, Some(body.clone())).await;
    assert_eq!(s1, StatusCode::CREATED, "{b1:?}");
    assert!(h1.get("idempotent-replayed").is_none());
    let (s2, h2, b2) = send(&t, Method::POST, &path, &headers, Some(body.clone())).await;
    assert_eq!((s2, &b2), (StatusCode::CREATED, &b1));
    assert_eq!(h2["idempotent-replayed"], "true");
    assert!(h2["content-type"].to_str().unwrap().contains("json"));
    // another body under the same key is refused
    let other = json!({"email": "ivan@example.com", "first_name": "Ivan", "kind": "user"});
    let (s3, _, b3) = send(&t, Method::POST, &path, &headers, Some(other)).await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b3["code"], "idempotency_key_reused");
    // a refusal is an answer too: replayed, not re-run
    let (s4, _, b4) = send(
        &t,
        Method::POST,
        &path,
        &[("authorization", &bearer), ("idempotency-key", "dup")],
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (s4, b4["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_invited"))
    );
    // keys are kept a day
    t.clock.advance(Duration::hours(25));
    let admin = t.login_token("admin@idem.test", GOOD_PASSWORD).await;
    let bearer = format!("Bearer {admin}");
    let (s5, _, b5) = send(
        &t,
        Method::POST,
        &path,
        &[("authorization", &bearer), ("idempotency-key", "6f1c-once")],
        Some(json!({"email": "later@example.com", "first_name": "L", "kind": "user"})),
    )
    .await;
    assert_eq!(s5, StatusCode::CREATED, "{b5:?}");
    // a bad key is a clear 422
    let (s6, _, b6) = send(
        &t,
        Method::POST,
        &path,
        &[("authorization", &bearer), ("idempotency-key", "")],
        Some(body),
    )
    .await;
    assert_eq!(
        (s6, b6["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let list = t.get(&path, Some(&admin)).await;
    let emails: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails.iter().filter(|e| **e == "ivy@example.com").count(),
        1
    );
    assert!(!emails.contains(&"ivan@example.com"));
}

pub(super) async fn twenty_concurrent_posts_with_one_key_create_one_invitation(t: TestApp) {
    let (a, admin) = t.app_with_admin("Burst", 30).await;
    let path = format!("/api/v1/apps/{a}/invitations");
    let bearer = format!("Bearer {admin}");
    let body = json!({"email": "once@example.com", "first_name": "Once", "kind": "user"});
    let t = std::sync::Arc::new(t);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (t, path, bearer, body) = (t.clone(), path.clone(), bearer.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            send(
                &t,
                Method::POST,
                &path,
                &[("authorization", &bearer), ("idempotency-key", "burst-1")],
                Some(body),
            )
            .await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        let (s, _, b) = task.await.unwrap();
        answers.push((s, b));
    }
    for (s, b) in &answers {
        assert_eq!(*s, StatusCode::CREATED, "{b:?}");
        assert_eq!(b, &answers[0].1);
    }
    let list = t.get(&path, Some(&admin)).await;
    let n = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["email"] == "once@example.com")
        .count();
    assert_eq!(n, 1, "{}", list.body);
    assert_eq!(t.seats(&a, &admin).await["used"], 2);
    t.assert_seats_consistent(&a).await;
}

pub(super) async fn a_stale_if_match_gets_412(t: TestApp) {
    let (a, admin) = t.app_with_admin("Etag", 5).await;
    let (member, _) = t.add_user(&a, &admin, "eve@example.com").await;
    let path = format!("/api/v1/apps/{a}/members/{member}");
    let bearer = format!("Bearer {admin}");
    let (s, h, _) = send(&t, Method::GET, &path, &[("authorization", &bearer)], None).await;
    assert_eq!(s, StatusCode::OK);
    let v1 = h["etag"].to_str().unwrap().to_string();
    assert!(v1.starts_with('"') && v1.ends_with('"'), "{v1}");

    let (s, h, b) = send(
        &t,
        Method::PATCH,
        &path,
        &[("authorization", &bearer), ("if-match", &v1)],
        Some(json!({"admin": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b:?}");
    let v2 = h["etag"].to_str().unwrap().to_string();
    assert_ne!(v1, v2);
    // a writer who read before that change is refused, and nothing changes
    let (s, _, b) = send(
        &t,
        Method::PATCH,
        &path,
        &[("authorization", &bearer), ("if-match", &v1)],
        Some(json!({"status": "inactive"})),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("precondition_failed"))
    );
    assert_eq!(t.get(&path, Some(&admin)).await.body["status"], "active");
    // weak or malformed tags never match a write; `*` always does
    for bad in [format!("W/{v2}"), "nonsense".to_string()] {
        let (s, _, _) = send(
            &t,
            Method::PATCH,
            &path,
            &[("authorization", &bearer), ("if-match", &bad)],
            Some(json!({"admin": false})),
        )
        .await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{bad}");
    }
    let (s, _, b) = send(
        &t,
        Method::PATCH,
        &path,
        &[("authorization", &bearer), ("if-match", "*")],
        Some(json!({"admin": false})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["admin"], false);
}
