//! What the pages do, the API does too (issue 10): the seat ledger, seat requests, the
//! caller's profile, and a fresh invitation link to copy.

use reqwest::StatusCode;
use roster_testkit::{PNG_1X1, TestApp};
use serde_json::json;

pub(super) async fn the_api_has_the_ledger_seat_requests_profile_and_copy_link(t: TestApp) {
    let (a, admin) = t.app_with_admin("Cover", 2).await;
    let base = format!("/api/v1/apps/{a}");
    // ledger: the initial seats, then a purchase, newest first, paged
    t.post(
        &format!("{base}/seats"),
        Some(&admin),
        json!({"quantity": 3}),
    )
    .await;
    let l = t
        .get(&format!("{base}/seats/ledger?limit=1"), Some(&admin))
        .await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    assert_eq!(l.body["items"][0]["kind"], "purchase");
    assert_eq!(l.body["items"][0]["quantity"], 3);
    let cursor = l.body["next_cursor"].as_str().expect("cursor").to_string();
    let l2 = t
        .get(
            &format!("{base}/seats/ledger?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(l2.body["items"][0]["kind"], "initial");
    assert!(l2.body["next_cursor"].is_null());
    assert_eq!(
        t.get(&format!("{base}/seats/ledger?cursor=zzz"), Some(&admin))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // seat requests
    let r = t
        .post(
            &format!("{base}/seat-requests"),
            Some(&admin),
            json!({"quantity": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["status"], "pending");
    t.post(
        &format!("{base}/seat-requests"),
        Some(&admin),
        json!({"quantity": 5}),
    )
    .await;
    let first = t
        .get(&format!("{base}/seat-requests?limit=1"), Some(&admin))
        .await;
    assert_eq!(first.body["items"][0]["quantity"], 5, "newest first");
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let list = t
        .get(
            &format!("{base}/seat-requests?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert!(list.body["next_cursor"].is_null());
    assert_eq!(list.body["items"][0]["quantity"], 2);
    assert_eq!(
        t.post(
            &format!("{base}/seat-requests"),
            Some(&admin),
            json!({"quantity": 0})
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // profile: read, change details and signature
    let p = t.get(&format!("{base}/profile"), Some(&admin)).await;
    assert_eq!(
        (p.status, p.body["email"].as_str()),
        (StatusCode::OK, Some("admin@cover.test"))
    );
    let p = t
        .request(
            reqwest::Method::PUT,
            &format!("{base}/profile"),
            Some(&admin),
            Some(json!({"first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 1234 5678", "time_zone": "Europe/London"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(
        (p.body["last_name"].as_str(), p.body["time_zone"].as_str()),
        (Some("Lovelace"), Some("Europe/London"))
    );
    let p = t
        .request(
            reqwest::Method::PUT,
            &format!("{base}/profile"),
            Some(&admin),
            Some(json!({"first_name": "", "time_zone": "Mars/Olympus"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    let p = t
        .request(
            reqwest::Method::PUT,
            &format!("{base}/profile/signature"),
            Some(&admin),
            Some(json!({"html": "<p><b>Ada</b></p>", "text": "Ada"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["signature_text"], "Ada");

    // the logo: upload the image itself, read it back, replace, remove
    let logo = format!("{}{base}/profile/logo", t.addr);
    let put = |body: Vec<u8>, ct: &'static str| {
        t.client
            .put(&logo)
            .bearer_auth(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let none = t
        .client
        .get(&logo)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    let r = put(PNG_1X1.to_vec(), "image/png").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["has_logo"], true, "{body}");
    let got = t
        .client
        .get(&logo)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG_1X1);
    // told by its bytes: an SVG is refused whatever it is called, and so is a large image
    let svg = put(
        b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
        "image/png",
    )
    .await
    .unwrap();
    assert_eq!(svg.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let svg: serde_json::Value = svg.json().await.unwrap();
    assert_eq!(svg["code"], "invalid_input", "{svg}");
    let mut big = PNG_1X1.to_vec();
    big.resize(2 * 1024 * 1024 + 10, 0);
    let big = put(big, "image/png").await.unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // the PNG is still there; then it is removed, twice without harm
    let got = t
        .client
        .get(&logo)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG_1X1);
    for _ in 0..2 {
        let d = t
            .delete(&format!("{base}/profile/logo"), Some(&admin))
            .await;
        assert_eq!(d.status, StatusCode::NO_CONTENT);
    }
    let gone = t
        .client
        .get(&logo)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        t.get(&format!("{base}/profile"), Some(&admin)).await.body["has_logo"],
        false
    );

    // copy a fresh link: the old one stops working
    let r = t.invite(&a, &admin, "lin@example.com", "user", false).await;
    let inv = r.body["id"].as_str().expect("id").to_string();
    let old = r.body["accept_url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let n = t
        .post(
            &format!("{base}/invitations/{inv}/link"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(n.status, StatusCode::CREATED, "{:?}", n.body);
    let new = n.body["accept_url"]
        .as_str()
        .expect("url")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(old, new);
    assert_eq!(
        t.get(&format!("/api/v1/invitations/{old}"), None)
            .await
            .status,
        StatusCode::GONE
    );
    assert_eq!(
        t.get(&format!("/api/v1/invitations/{new}"), None)
            .await
            .status,
        StatusCode::OK
    );

    // a member who is not an admin gets 404 on the admin parts, their own profile otherwise
    let (_, user) = t.add_user(&a, &admin, "una@example.com").await;
    assert_eq!(
        t.get(&format!("{base}/seats/ledger"), Some(&user))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("{base}/seat-requests"), Some(&user))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("{base}/profile"), Some(&user)).await.body["email"],
        "una@example.com"
    );
    // a service key has no profile
    let key = t
        .post(
            &format!("{base}/api-keys"),
            Some(&admin),
            json!({"name": "s", "kind": "service"}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("key")
        .to_string();
    assert_eq!(
        t.get(&format!("{base}/profile"), Some(&key)).await.status,
        StatusCode::NOT_FOUND
    );
    let k = put_as(&t, &logo, &key).await;
    assert_eq!(k, StatusCode::NOT_FOUND);
    assert_eq!(
        t.get(&format!("{base}/seats/ledger"), Some(&key))
            .await
            .status,
        StatusCode::OK
    );
}

async fn put_as(t: &TestApp, url: &str, token: &str) -> StatusCode {
    t.client
        .put(url)
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(PNG_1X1.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}
