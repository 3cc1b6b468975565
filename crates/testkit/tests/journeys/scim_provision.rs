//! SCIM direct provisioning (issue 10): an app set to `active` has its identity provider's new
//! users made Active members at once — linked to an existing Roster ID, or to one made for them
//! whose password they choose from an email — under the same seat rules.

use super::scim::{new_user, scim};
use reqwest::{Method, StatusCode};
use roster_testkit::{GOOD_PASSWORD, TestApp, link_token};
use serde_json::json;

pub(super) async fn scim_can_make_active_members_and_ids_their_owners_claim(t: TestApp) {
    let (a, admin) = t.app_with_admin("Direct", 3).await; // the admin holds one: two free
    let (b, admin_b) = t.app_with_admin("Elsewhere", 2).await;
    let settings = format!("/api/v1/apps/{a}/scim-settings");
    let key = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": "Entra", "kind": "service", "scopes": ["scim"]}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("key")
        .to_string();
    let read_only = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": "ro", "kind": "service", "scopes": ["read", "write"]}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("key")
        .to_string();

    // the setting: invitations until an admin says otherwise; another app's admin sees nothing
    let s = t.get(&settings, Some(&admin)).await;
    assert_eq!(
        (s.status, &s.body),
        (StatusCode::OK, &json!({"provisioning": "invite"}))
    );
    assert_eq!(
        t.get(&settings, Some(&admin_b)).await.status,
        StatusCode::NOT_FOUND
    );
    let put = |token: String, body: serde_json::Value| {
        let t = &t;
        let settings = settings.clone();
        async move {
            t.request(Method::PUT, &settings, Some(&token), Some(body))
                .await
        }
    };
    let r = put(read_only.clone(), json!({"provisioning": "active"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    // nor can the identity provider's own key widen what it may do
    let r = put(key.clone(), json!({"provisioning": "active"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let r = put(admin.clone(), json!({"provisioning": "everyone"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = put(admin.clone(), json!({"provisioning": "active"})).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"provisioning": "active"}))
    );
    assert_eq!(
        t.get(&settings, Some(&admin)).await.body["provisioning"],
        "active"
    );

    // a person who has an ID already (the other app's admin): an Active member at once
    let base = format!("/scim/v2/{a}");
    let (s, _, u) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("admin@elsewhere.test", "Eli", "ext-eli")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(u["active"], true);
    let members = t
        .get(&format!("/api/v1/apps/{a}/members"), Some(&admin))
        .await;
    let eli = members.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["email"] == "admin@elsewhere.test")
        .cloned()
        .expect("an active member");
    assert_eq!(eli["status"], "active");
    let mails = t.deliver_mail().await;
    let told = mails
        .iter()
        .find(|m| m.to == "admin@elsewhere.test")
        .expect("the person is told");
    assert!(
        told.subject.contains("You were added to Direct"),
        "{}",
        told.subject
    );
    assert!(!told.text.contains("/reset-password/"), "{}", told.text);
    // their ID now opens the app (its own session lists it)
    let eli_session = t.login_token("admin@elsewhere.test", GOOD_PASSWORD).await;
    assert_eq!(
        t.get(&format!("/api/v1/apps/{a}/profile"), Some(&eli_session))
            .await
            .status,
        StatusCode::OK
    );
    let _ = (b, admin_b);

    // a person without an ID: one is made, the member is Active, and the email lets its owner
    // choose a password; nobody can sign in before that
    let (s, _, u) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("newbie@direct.test", "Nia", "ext-nia")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    assert_eq!(u["active"], true);
    assert_eq!(
        t.login("newbie@direct.test", GOOD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mail = t
        .deliver_mail()
        .await
        .into_iter()
        .find(|m| m.to == "newbie@direct.test")
        .expect("the set-up email");
    assert!(mail.subject.contains("You were added to Direct"));
    assert!(mail.text.contains("Choose its password"), "{}", mail.text);
    let token = link_token(&mail, "/reset-password/");
    let r = t
        .post(
            "/api/v1/password/reset",
            None,
            json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // the link works once; no "your password was reset" notice for a first password
    let again = t
        .post(
            "/api/v1/password/reset",
            None,
            json!({"token": token, "password": "Other-Password-9"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(
        t.deliver_mail()
            .await
            .iter()
            .all(|m| !m.subject.contains("password was reset")),
        "no reset notice"
    );
    // signed in, the new ID agrees to the terms first, then is inside the app
    let nia = t.login_token("newbie@direct.test", GOOD_PASSWORD).await;
    let me = t.get("/api/v1/me", Some(&nia)).await;
    let version = me.body["terms_pending"]
        .as_str()
        .expect("terms pending")
        .to_string();
    let r = t
        .post("/api/v1/me/terms", Some(&nia), json!({"version": version}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let p = t
        .get(&format!("/api/v1/apps/{a}/profile"), Some(&nia))
        .await;
    assert_eq!(
        (p.status, p.body["first_name"].as_str()),
        (StatusCode::OK, Some("Nia"))
    );

    // the seats: all three held now; the next create is refused and nothing is made
    let seats = t.seats(&a, &admin).await;
    assert_eq!(
        (seats["used"].as_i64(), seats["available"].as_i64()),
        (Some(3), Some(0))
    );
    let (s, _, e) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("late@direct.test", "Lee", "ext-lee")),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(
        t.login("late@direct.test", GOOD_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // the same person again: uniqueness
    let (s, _, e) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("newbie@direct.test", "Nia", "ext-nia-2")),
    )
    .await;
    assert_eq!(
        (s, e["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness"))
    );
    t.assert_seats_consistent(&a).await;

    // the app's audit log tells the story
    let audit = t
        .get(&format!("/api/v1/apps/{a}/audit?limit=100"), Some(&admin))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for expected in ["scim.provisioning_changed", "member.provisioned"] {
        assert!(actions.contains(&expected), "{expected}: {actions:?}");
    }
    // nothing in it tells the admins who already had a Roster ID: the ID made for Nia is
    // recorded outside the app, and both provisioned members read the same
    assert!(!actions.contains(&"id.provisioned"), "{actions:?}");
    let provisioned: Vec<&serde_json::Value> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "member.provisioned")
        .collect();
    assert_eq!(provisioned.len(), 2);
    for e in provisioned {
        let keys: Vec<&String> = e["details"].as_object().expect("details").keys().collect();
        assert_eq!(keys, ["member"], "{e}");
    }

    // back to invitations: a create is an invitation again
    let r = put(admin.clone(), json!({"provisioning": "invite"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let (s, _, u) = scim(
        &t,
        Method::DELETE,
        &format!("{base}/Users/{}", eli["id"].as_str().expect("id")),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{u}");
    let (s, _, u) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("invited@direct.test", "Ivo", "ext-ivo")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let mail = t
        .deliver_mail()
        .await
        .into_iter()
        .find(|m| m.to == "invited@direct.test")
        .expect("an invitation");
    assert!(mail.text.contains("/invite/"), "{}", mail.text);
    let invited = t
        .get(&format!("/api/v1/apps/{a}/members"), Some(&admin))
        .await;
    assert!(
        invited.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|m| m["email"] == "invited@direct.test" && m["status"] == "invited"),
        "{:?}",
        invited.body
    );
}
