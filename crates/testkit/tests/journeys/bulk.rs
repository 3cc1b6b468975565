//! Bulk invitations (issue 10): a list, JSON or CSV; each row on its own, seats in list order,
//! one summary to the admins.

use reqwest::{Method, StatusCode};
use roster_testkit::{GOOD_PASSWORD, TestApp, token_from};
use serde_json::{Value, json};

async fn bulk_csv(t: &TestApp, app: &str, token: &str, csv: &str) -> (StatusCode, Value) {
    let res = t
        .client
        .request(
            Method::POST,
            format!("{}/api/v1/apps/{app}/invitations/bulk", t.addr),
        )
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_string())
        .send()
        .await
        .expect("request");
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

pub(super) async fn a_bulk_list_invites_each_row_on_its_own_in_list_order(t: TestApp) {
    // 4 seats: the admin and a second admin hold two, two are free
    let (a, admin) = t.app_with_admin("Bulk", 4).await;
    let r = t.invite(&a, &admin, "bea@bulk.test", "user", true).await;
    let token = r.body["accept_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        t.accept_new(&token, "Bea", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    t.deliver_mail().await;

    let rows = json!([
        {"email": "ann@example.com", "first_name": "Ann"},
        {"email": "not an email", "first_name": "X"},
        {"email": "ANN@example.com", "first_name": "Ann again"},
        {"email": "admin@bulk.test", "first_name": "Ada"},
        {"email": "pat@partner.example", "kind": "partner"},
        {"email": "bob@example.com", "first_name": "Bob", "last_name": "B"},
        {"email": "cid@example.com", "first_name": "Cid"},
        {"email": "dot@example.com", "first_name": "Dot"},
        {"email": "nameless@example.com"}
    ]);
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations/bulk"),
            Some(&admin),
            rows,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let b = &r.body;
    assert_eq!(
        (b["invited"].as_u64(), b["failed"].as_u64()),
        (Some(3), Some(6)),
        "{b}"
    );
    assert_eq!(b["seats_needed"], 2);
    let codes: Vec<(&str, Option<&str>)> = b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["email"].as_str().unwrap(), r["code"].as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("ann@example.com", None),
            ("not an email", Some("invalid_email")),
            ("ANN@example.com", Some("duplicate_in_file")),
            ("admin@bulk.test", Some("already_member")),
            ("pat@partner.example", None),
            ("bob@example.com", None),
            ("cid@example.com", Some("seat_unavailable")),
            ("dot@example.com", Some("seat_unavailable")),
            ("nameless@example.com", Some("invalid_input")),
        ]
    );
    assert_eq!(b["rows"][0]["row"], 1);
    assert!(b["rows"][0]["invitation_id"].is_string());
    assert_eq!(t.seats(&a, &admin).await["available"], 0);
    t.assert_seats_consistent(&a).await;

    // each invited person gets their invitation; the other admin one summary
    let mails = t.deliver_mail().await;
    let to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    for who in ["ann@example.com", "pat@partner.example", "bob@example.com"] {
        assert_eq!(to.iter().filter(|t| **t == who).count(), 1, "{who}: {to:?}");
    }
    let summaries: Vec<_> = mails.iter().filter(|m| m.to == "bea@bulk.test").collect();
    assert_eq!(summaries.len(), 1, "{to:?}");
    assert!(
        summaries[0].subject.contains('3'),
        "{}",
        summaries[0].subject
    );
    assert!(
        !to.contains(&"admin@bulk.test"),
        "the admin who sent the list is not told"
    );
    let accepted = t
        .accept_new(
            &token_from(mails.iter().find(|m| m.to == "bob@example.com").unwrap()),
            "Bob",
            GOOD_PASSWORD,
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED);

    // the same as CSV, after buying a seat: the first refused row now goes through
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    let (s, b) = bulk_csv(
        &t,
        a.as_str(),
        &admin,
        "email,first_name,last_name,admin,kind\ncid@example.com,Cid,,no,user\ndot@example.com,Dot,,no,user\neve@example.com,Eve,,maybe,user\n",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["invited"].as_u64(), b["seats_needed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(b["rows"][0]["status"], "invited");
    assert_eq!(b["rows"][1]["code"], "seat_unavailable");
    assert_eq!(b["rows"][2]["code"], "invalid_input");
    assert!(b["rows"][2]["message"].as_str().unwrap().contains("maybe"));
    t.assert_seats_consistent(&a).await;

    // what cannot be a list at all is one clear 4xx
    let (s, b) = bulk_csv(&t, a.as_str(), &admin, "name,first\nx,y\n").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input"))
    );
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations/bulk"),
            Some(&admin),
            json!([]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations/bulk"),
            Some(&admin),
            json!({"rows": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = t
        .client
        .post(format!("{}/api/v1/apps/{a}/invitations/bulk", t.addr))
        .bearer_auth(&admin)
        .header("content-type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // a non-admin gets 404
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    let (_, user) = t.add_user(&a, &admin, "una@example.com").await;
    let (s, _) = bulk_csv(&t, a.as_str(), &user, "email\nz@example.com\n").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
