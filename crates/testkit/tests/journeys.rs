//! End-to-end journeys through the real HTTP API on a fresh SQLite file.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp, token_from};
use serde_json::json;
use time::Duration;

roster_testkit::on_every_backend!(
    the_seed_journey_rohit_as_admin_and_mike_as_partner,
    third_user_without_a_seat_is_refused_until_a_seat_is_bought,
    an_id_of_app_a_joins_app_b_with_its_password_and_keeps_a,
    a_logged_in_id_cannot_use_up_someone_elses_invitation,
    unusable_tokens_each_get_their_own_code,
    password_rules_are_reported_by_name_and_all_at_once,
    the_security_answer_is_never_returned,
    fifty_concurrent_invitations_against_ten_free_seats,
    deactivation_frees_the_seat_and_ends_sessions_reactivation_needs_one,
    the_last_admin_cannot_be_demoted_or_deactivated,
    a_member_of_app_a_gets_404_on_every_app_b_route,
    bad_input_gets_4xx_problem_json_never_500,
    a_failed_delivery_is_retried_and_later_delivered,
    a_restart_delivers_what_was_pending,
    parallel_wrong_passwords_cannot_bypass_the_lockout,
    health_and_openapi_are_served,
    security_questions_are_published_as_a_list_and_an_enum,
    logout_ends_the_session,
    sessions_expire_when_idle,
    members_list_filters_searches_and_pages,
    inviting_twice_or_a_member_is_a_clear_error,
    idn_spellings_of_one_address_are_one_invitation,
);

async fn the_seed_journey_rohit_as_admin_and_mike_as_partner(t: TestApp) {
    // Operator creates Acme with 2 seats; its admin accepts and is inside Acme.
    let (acme, admin) = t.app_with_admin("Acme", 2).await;

    // The admin invites Rohit as Admin → an email with a link.
    let r = t
        .post(
            &format!("/api/v1/apps/{acme}/invitations"),
            Some(&admin),
            json!({"email": "rohitg@clientengagementacademy.com", "first_name": "Rohit", "admin": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["status"], "pending");
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, "rohitg@clientengagementacademy.com");
    assert!(
        mail.subject.contains("Acme") && mail.subject.contains("Ada"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains(&format!("App ID {acme}")));
    assert!(mail.html.contains("Accept the invitation"));
    let token = token_from(mail);

    // The public invitation page data names the app and inviter.
    let info = t.get(&format!("/api/v1/invitations/{token}"), None).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.body["app_name"], "Acme");
    assert_eq!(info.body["app_id"], acme.to_string());
    assert_eq!(info.body["inviter_name"], "Ada Tester");
    assert_eq!(info.body["id_exists"], false);

    // Rohit creates his ID through the link and ends logged in inside Acme.
    let r = t.accept_new(&token, "Rohit", "RohitG-Is-Great-7").await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "contains the email name"
    );
    assert_eq!(r.code(), "password_policy");
    let r = t.accept_new(&token, "Rohit", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["app_id"], acme.to_string());
    let cookie = r.set_cookie.expect("cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));

    // Rohit logs in; `me` lists Acme with its App ID.
    let rohit = t
        .login_token("RohitG@clientengagementacademy.com", GOOD_PASSWORD)
        .await;
    let me = t.get("/api/v1/me", Some(&rohit)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["apps"][0]["app_id"], acme.to_string());
    assert_eq!(me.body["apps"][0]["name"], "Acme");
    assert_eq!(me.body["apps"][0]["admin"], true);

    // Rohit, an admin, adds Mike Weiss as a partner: seats stay 2 of 2.
    assert_eq!(t.seats(&acme, &admin).await["used"], 2);
    let r = t
        .post(
            &format!("/api/v1/apps/{acme}/invitations"),
            Some(&rohit),
            json!({"email": "mike@mikeweiss.com", "kind": "partner", "admin": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let seats = t.seats(&acme, &admin).await;
    assert_eq!(
        (seats["used"].as_i64(), seats["total"].as_i64()),
        (Some(2), Some(2))
    );
    let mails = t.deliver_mail().await;
    assert!(mails[0].text.contains("as a partner"));
    let r = t
        .accept_new(&token_from(&mails[0]), "Mike", GOOD_PASSWORD)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let members = t
        .get(&format!("/api/v1/apps/{acme}/members"), Some(&admin))
        .await;
    let items = members.body["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 3);
    let mike = items
        .iter()
        .find(|m| m["email"] == "mike@mikeweiss.com")
        .expect("mike");
    assert_eq!(mike["kind"], "partner");
    assert_eq!(mike["status"], "active");
    assert_eq!(mike["holds_seat"], false);
    let seats = t.seats(&acme, &admin).await;
    assert_eq!(seats["used"], 2);
    t.assert_seats_consistent(&acme).await;
}

async fn third_user_without_a_seat_is_refused_until_a_seat_is_bought(t: TestApp) {
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
    assert_eq!(t.deliver_mail().await.len(), 1);
    let seats = t.seats(&acme, &admin).await;
    assert_eq!(
        (seats["used"].as_i64(), seats["available"].as_i64()),
        (Some(3), Some(0))
    );
    let audit = t
        .get(&format!("/api/v1/apps/{acme}/audit"), Some(&admin))
        .await;
    assert!(
        audit
            .body
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "seats.purchased"),
        "seat purchase audited"
    );
    t.assert_seats_consistent(&acme).await;
}

async fn an_id_of_app_a_joins_app_b_with_its_password_and_keeps_a(t: TestApp) {
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b, admin_b) = t.app_with_admin("Beta", 3).await;
    t.add_user(&a, &admin_a, "pat@example.com").await;

    let r = t
        .invite(&b, &admin_b, "PAT@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mails = t.deliver_mail().await;
    let to_b = mails
        .iter()
        .find(|m| m.subject.contains("Beta"))
        .expect("mail for Beta");
    let token = token_from(to_b);
    let info = t.get(&format!("/api/v1/invitations/{token}"), None).await;
    assert_eq!(info.body["id_exists"], true);

    // creating a second ID for the same email is refused
    let r = t.accept_new(&token, "Pat", GOOD_PASSWORD).await;
    assert_eq!(r.code(), "id_exists");
    // wrong password: nothing is used up
    let r = t
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": "Wrong-pass-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "invalid_credentials");
    let r = t
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["app_id"], b.to_string());

    let pat = t.login_token("pat@example.com", GOOD_PASSWORD).await;
    let me = t.get("/api/v1/me", Some(&pat)).await;
    let mut ids: Vec<String> = me.body["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|x| x["app_id"].as_str().unwrap_or("").to_string())
        .collect();
    ids.sort();
    let mut want = vec![a.to_string(), b.to_string()];
    want.sort();
    assert_eq!(ids, want);
}

async fn a_logged_in_id_cannot_use_up_someone_elses_invitation(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let r = t.invite(&a, &admin, "bob@example.com", "user", false).await;
    let token = r.body["accept_url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .expect("t")
        .to_string();
    // the admin (another ID) is logged in and tries to accept Bob's invitation
    let r = t
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "wrong_identity");
    // still usable by Bob
    let r = t.accept_new(&token, "Bob", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

async fn unusable_tokens_each_get_their_own_code(t: TestApp) {
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

async fn password_rules_are_reported_by_name_and_all_at_once(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 10).await;
    let cases: &[(&str, &[&str])] = &[
        ("Sh0rt", &["min_length"]),
        ("nouppercase1", &["uppercase"]),
        ("NOLOWERCASE1", &["lowercase"]),
        ("NoDigitsHere", &["digit"]),
        ("Password1", &["common"]),
        ("xxCarla5Yz", &["contains_email"]),
        ("abc123", &["min_length", "uppercase", "common"]),
    ];
    for (n, (pw, rules)) in cases.iter().enumerate() {
        let r = t
            .invite(&a, &admin, &format!("carla{n}@example.com"), "user", false)
            .await;
        let token = r.body["accept_url"]
            .as_str()
            .expect("url")
            .rsplit('/')
            .next()
            .expect("t")
            .to_string();
        let r = t.accept_new(&token, "Carla", pw).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{pw}");
        assert_eq!(r.code(), "password_policy");
        let got: Vec<&str> = r.body["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(got, *rules, "{pw}");
        // the invitation is not used up by a refused password
        let again = t.get(&format!("/api/v1/invitations/{token}"), None).await;
        assert_eq!(again.status, StatusCode::OK);
    }
    let long = format!("Aa1{}", "x".repeat(126));
    let r = t
        .invite(&a, &admin, "long@example.com", "user", false)
        .await;
    let token = r.body["accept_url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .expect("t")
        .to_string();
    let r = t.accept_new(&token, "Long", &long).await;
    assert_eq!(r.body["rules"], json!(["max_length"]));
}

async fn the_security_answer_is_never_returned(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 10).await;
    let (member, session) = t.add_user(&a, &admin, "secret@example.com").await;
    let mut bodies = vec![
        t.get("/api/v1/me", Some(&session)).await.body,
        t.get(&format!("/api/v1/apps/{a}/members"), Some(&admin))
            .await
            .body,
        t.get(&format!("/api/v1/apps/{a}/members/{member}"), Some(&admin))
            .await
            .body,
        t.get(&format!("/api/v1/apps/{a}/invitations"), Some(&admin))
            .await
            .body,
        t.get(&format!("/api/v1/apps/{a}/audit"), Some(&admin))
            .await
            .body,
    ];
    bodies.push(t.login("secret@example.com", GOOD_PASSWORD).await.body);
    for b in bodies {
        let s = b.to_string().to_lowercase();
        assert!(!s.contains("rex"), "answer leaked: {s}");
        assert!(!s.contains("argon2"), "hash leaked: {s}");
        assert!(!s.contains("security_answer"), "field leaked: {s}");
        assert!(
            !s.contains(&GOOD_PASSWORD.to_lowercase()),
            "password leaked"
        );
    }
    // stored hashed and normalised
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("secret@example.com")
        .await
        .expect("find")
        .expect("id");
    let hash = id.security_answer_hash.expect("answer hash");
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        t.services
            .hasher()
            .verify("rex".into(), Some(hash))
            .await
            .expect("verify")
    );
}

async fn fifty_concurrent_invitations_against_ten_free_seats(t: TestApp) {
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

async fn deactivation_frees_the_seat_and_ends_sessions_reactivation_needs_one(t: TestApp) {
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

async fn the_last_admin_cannot_be_demoted_or_deactivated(t: TestApp) {
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

async fn a_member_of_app_a_gets_404_on_every_app_b_route(t: TestApp) {
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b, admin_b) = t.app_with_admin("Beta", 3).await;
    let r = t
        .invite(&b, &admin_b, "victim@example.com", "user", false)
        .await;
    let inv_b = r.body["id"].as_str().expect("id").to_string();
    let member_b = r.body["member_id"].as_str().expect("id").to_string();
    let _ = a;
    let routes: Vec<(reqwest::Method, String, Option<serde_json::Value>)> = vec![
        (
            reqwest::Method::GET,
            format!("/api/v1/apps/{b}/members"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/apps/{b}/members/{member_b}"),
            None,
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/apps/{b}/members/{member_b}"),
            Some(json!({"admin": true})),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/apps/{b}/invitations"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/apps/{b}/invitations"),
            Some(json!({"email": "x@example.com", "first_name": "X"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/apps/{b}/invitations/{inv_b}/resend"),
            Some(json!({})),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/apps/{b}/invitations/{inv_b}"),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/apps/{b}/seats"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/apps/{b}/seats"),
            Some(json!({"quantity": 5})),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/apps/{b}/audit"),
            None,
        ),
        // app A's id with B's member / invitation
        (
            reqwest::Method::GET,
            format!("/api/v1/apps/{a}/members/{member_b}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/apps/{a}/invitations/{inv_b}"),
            None,
        ),
        // an app that does not exist looks the same
        (
            reqwest::Method::GET,
            "/api/v1/apps/zz99999/members".to_string(),
            None,
        ),
    ];
    for (m, path, body) in routes {
        let r = t.request(m.clone(), &path, Some(&admin_a), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {path}: {:?}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
    }
    // nothing changed in B
    let seats = t.seats(&b, &admin_b).await;
    assert_eq!(seats["total"], 3);
    let list = t
        .get(&format!("/api/v1/apps/{b}/invitations"), Some(&admin_b))
        .await;
    assert!(
        list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == inv_b.as_str() && i["status"] == "pending")
    );
}

async fn bad_input_gets_4xx_problem_json_never_500(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let url = format!("{}/api/v1/apps/{a}/invitations", t.addr);
    let send = |body: String, ct: &'static str| {
        t.client
            .post(&url)
            .bearer_auth(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: Vec<(String, &str, StatusCode)> = vec![
        (
            "{not json".to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            r#"{"email": 42}"#.to_string(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"email": "a@b.com", "admin": "yes"}"#.to_string(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"email": "a@b.com", "surprise": 1}"#.to_string(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"email": "not-an-email", "first_name": "A"}"#.to_string(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"email": "a@b.com", "first_name": "A", "kind": "boss"}"#.to_string(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"email": "a@b.com"}"#.to_string(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"email": "a@b.com", "first_name": "A"}"#.to_string(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            format!(
                r#"{{"email": "{}@b.com", "first_name": "A"}}"#,
                "a".repeat(100_000)
            ),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (body, ct, want) in cases {
        let res = send(body.clone(), ct).await.expect("send");
        let r = TestApp::resp(res).await;
        assert_eq!(
            r.status,
            want,
            "{}: {:?}",
            body.chars().take(60).collect::<String>(),
            r.body
        );
        assert_eq!(r.content_type, "application/problem+json");
        assert!(r.body["code"].is_string() && r.body["detail"].is_string());
    }
    // field errors name the field
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations"),
            Some(&admin),
            json!({"email": "nope", "first_name": ""}),
        )
        .await;
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["email", "first_name"]);
    // bad ids, cursors, filters, quantities, unknown routes
    for (path, want) in [
        (
            format!("/api/v1/apps/{a}/members/not-a-uuid"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/apps/{a}/members?cursor=zz"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("/api/v1/apps/{a}/members?filter=all"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("/api/v1/apps/{a}/members?limit=-1"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/apps/NOT-AN-ID/members".to_string(),
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/nothing-here".to_string(), StatusCode::NOT_FOUND),
    ] {
        let r = t.get(&path, Some(&admin)).await;
        assert_eq!(r.status, want, "{path}: {:?}", r.body);
        assert!(r.status.is_client_error());
    }
    for q in [0, -5, 1001] {
        let r = t
            .post(
                &format!("/api/v1/apps/{a}/seats"),
                Some(&admin),
                json!({"quantity": q}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // no or bad credentials
    assert_eq!(
        t.get("/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/v1/me", Some("garbage")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = t.login("nobody@example.com", "whatever").await;
    let r2 = t.login("admin@alpha.test", "wrong").await;
    assert_eq!(
        (r.status, r.code()),
        (r2.status, r2.code()),
        "no account enumeration"
    );
    assert_eq!(r.body["detail"], r2.body["detail"]);
    let r = t.login("", "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn a_failed_delivery_is_retried_and_later_delivered(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    t.mailer.fail_next(2);
    t.invite(&a, &admin, "retry@example.com", "user", false)
        .await;
    assert!(t.deliver_mail().await.is_empty(), "first attempt failed");
    let mut r = t.store.read().await.expect("read");
    let m = r.list_outbox(1).await.expect("list").remove(0);
    drop(r);
    assert_eq!(m.attempts, 1);
    assert!(m.last_error.as_deref().unwrap_or("").contains("451"));
    // not yet due
    t.clock.advance(Duration::seconds(10));
    assert!(t.deliver_mail().await.is_empty());
    t.clock.advance(Duration::seconds(25)); // 30 s backoff passed → 2nd attempt fails too
    assert!(t.deliver_mail().await.is_empty());
    t.clock.advance(Duration::seconds(61)); // 60 s backoff → 3rd attempt succeeds
    let sent = t.deliver_mail().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "retry@example.com");
    let mut r = t.store.read().await.expect("read");
    let m = r.get_outbox(m.id).await.expect("get").expect("some");
    assert_eq!(m.attempts, 3);
    assert_eq!(m.secret, None);
}

async fn a_restart_delivers_what_was_pending(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let r = t
        .invite(&a, &admin, "pending@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // The process "dies" before delivering: a brand-new server on the same database file
    // (new pool, new worker, new mailer) delivers the message.
    let store = roster::open_store(&t.db_url).await.expect("reopen");
    let mailer = std::sync::Arc::new(roster_testkit::CapturingMailer::default());
    let worker = roster_mail::OutboxWorker::new(
        store,
        mailer.clone(),
        roster_testkit::test_renderer(&t.addr),
        roster_mail::RetryPolicy::default(),
    );
    worker.drain(t.now()).await.expect("drain");
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "pending@example.com");
    // and it is not delivered twice
    assert!(t.deliver_mail().await.is_empty());

    // a message claimed by a worker that died is delivered after its lease
    t.invite(&a, &admin, "lease@example.com", "user", false)
        .await;
    let mut tx = t.store.begin().await.expect("begin");
    let claimed = tx
        .claim_outbox(t.now(), t.now() + Duration::minutes(5), 10)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!(claimed.len(), 1); // ...and that worker crashed here
    assert!(t.deliver_mail().await.is_empty());
    t.clock.advance(Duration::minutes(6));
    let sent = t.deliver_mail().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].message_id,
        claimed[0].message_id_header("roster.test")
    );
}

async fn parallel_wrong_passwords_cannot_bypass_the_lockout(t: TestApp) {
    t.app_with_admin("Alpha", 3).await;
    let attempts = (0..20).map(|_| t.login("admin@alpha.test", "Wrong-Password-1"));
    let results = futures::future::join_all(attempts).await;
    assert!(results.iter().all(|r| r.status == StatusCode::UNAUTHORIZED));
    // now locked: even the right password is refused, with the same answer
    let r = t.login("admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("admin@alpha.test")
        .await
        .expect("f")
        .expect("id");
    assert!(id.lockout.is_locked(t.now()));
    drop(r);
    // after the lock ends (1 minute for the first lock), the right password works
    t.clock.advance(Duration::minutes(2));
    let r = t.login("admin@alpha.test", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn health_and_openapi_are_served(t: TestApp) {
    let r = t.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["backend"], t.store.backend());
    let r = t.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    for p in [
        "/api/v1/session",
        "/api/v1/me",
        "/api/v1/apps/{app_id}/members",
        "/api/v1/apps/{app_id}/invitations",
        "/api/v1/invitations/{token}/accept",
        "/api/v1/apps/{app_id}/seats",
    ] {
        assert!(r.body["paths"][p].is_object(), "{p} missing from OpenAPI");
    }
}

async fn security_questions_are_published_as_a_list_and_an_enum(t: TestApp) {
    let (_app, token) = t.create_app("Acme", 2, "ada@acme.example", "Ada").await;
    let r = t.get(&format!("/api/v1/invitations/{token}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["security_question_mode"], "required");
    let list = r.body["security_questions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 7, "{list:?}");
    let keys: Vec<&str> = list.iter().filter_map(|q| q["key"].as_str()).collect();
    assert!(keys.contains(&"first_pet_name"), "{keys:?}");
    assert!(
        list.iter()
            .all(|q| q["label"].as_str().is_some_and(|l| l.ends_with('?'))),
        "{list:?}"
    );
    // The accept body's schema names the same keys as an enum.
    let doc = t.get("/api/v1/openapi.json", None).await.body;
    let schema = &doc["components"]["schemas"]["AcceptBody"]["properties"]["security_question"];
    let en: Vec<&str> = schema["enum"]
        .as_array()
        .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(en, keys, "{schema}");
    // A key outside the list is a field error naming security_question.
    let r = t
        .post(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"first_name": "Ada", "password": GOOD_PASSWORD, "security_question": "favourite_colour",
                   "security_answer": "blue", "accept_terms": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.body.to_string().contains("security_question"),
        "{:?}",
        r.body
    );
}

async fn logout_ends_the_session(t: TestApp) {
    let (_a, admin) = t.app_with_admin("Alpha", 3).await;
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::OK
    );
    let r = t.delete("/api/v1/session", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.set_cookie.unwrap_or_default().contains("Max-Age=0"));
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn sessions_expire_when_idle(t: TestApp) {
    let (_a, admin) = t.app_with_admin("Alpha", 3).await;
    t.clock.advance(Duration::hours(13));
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn members_list_filters_searches_and_pages(t: TestApp) {
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
    let r = t
        .get(
            &format!("/api/v1/apps/{a}/members?filter=inactive"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
}

async fn inviting_twice_or_a_member_is_a_clear_error(t: TestApp) {
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
async fn idn_spellings_of_one_address_are_one_invitation(t: TestApp) {
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
