//! Accept journey: a new ID accepts an invitation (the seed journey, the password rules, the
//! security questions), an existing ID joins another app, and an invitation is only usable by
//! its invitee.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp, token_from};
use serde_json::json;

pub(super) async fn the_seed_journey_rohit_as_admin_and_mike_as_partner(t: TestApp) {
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
    let mails: Vec<_> = t
        .deliver_mail()
        .await
        .into_iter()
        .filter(|m| m.to == "mike@mikeweiss.com")
        .collect();
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

pub(super) async fn an_id_of_app_a_joins_app_b_with_its_password_and_keeps_a(t: TestApp) {
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

pub(super) async fn a_logged_in_id_cannot_use_up_someone_elses_invitation(t: TestApp) {
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

pub(super) async fn password_rules_are_reported_by_name_and_all_at_once(t: TestApp) {
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

pub(super) async fn security_questions_are_published_as_a_list_and_an_enum(t: TestApp) {
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
