//! SCIM 2.0 (issue 10): the sequences Okta and Entra ID document — look up by filter, create,
//! update names and addresses, deactivate with `active: false`, delete — and the Admins /
//! Users groups, all under the app's seat rules.

use reqwest::{Method, StatusCode};
use roster_testkit::TestApp;
use serde_json::{Value, json};

pub(super) async fn scim(
    t: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut rb = t
        .client
        .request(method, format!("{}{path}", t.addr))
        .bearer_auth(key)
        .header("accept", "application/scim+json");
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    let res = rb.send().await.expect("request");
    let s = res.status();
    let h = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    (s, h, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(super) fn new_user(email: &str, given: &str, external: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": given, "familyName": "Doe"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": format!("{given} Doe"),
        "locale": "en-US",
        "externalId": external,
        "active": true
    })
}

pub(super) async fn an_identity_provider_provisions_people_over_scim(t: TestApp) {
    let (a, admin) = t.app_with_admin("Scim", 3).await; // the admin holds one: two free
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": "Okta", "kind": "service", "scopes": ["scim"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let key = r.body["secret"].as_str().expect("key").to_string();
    let base = format!("/scim/v2/{a}");

    // who may use it
    let (s, h, b) = scim(&t, Method::GET, &format!("{base}/Users"), "nope", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(h["content-type"], "application/scim+json");
    assert_eq!(
        b["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(
        scim(&t, Method::GET, &format!("{base}/Users"), &admin, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let plain = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": "x", "kind": "service"}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("key")
        .to_string();
    assert_eq!(
        scim(&t, Method::GET, &format!("{base}/Users"), &plain, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (b_app, _) = t.app_with_admin("Other", 2).await;
    assert_eq!(
        scim(
            &t,
            Method::GET,
            &format!("/scim/v2/{b_app}/Users"),
            &key,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, _, cfg) = scim(
        &t,
        Method::GET,
        &format!("{base}/ServiceProviderConfig"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(cfg["patch"]["supported"], true);
    assert_eq!(
        scim(
            &t,
            Method::GET,
            &format!("{base}/ResourceTypes"),
            &key,
            None
        )
        .await
        .2["totalResults"],
        2
    );
    assert_eq!(
        scim(&t, Method::GET, &format!("{base}/Schemas"), &key, None)
            .await
            .0,
        StatusCode::OK
    );

    // Okta: look up, then create
    let (s, _, b) = scim(
        &t,
        Method::GET,
        &format!(
            "{base}/Users?filter=userName%20eq%20%22ann%40example.com%22&startIndex=1&count=100"
        ),
        &key,
        None,
    )
    .await;
    assert_eq!((s, b["totalResults"].as_u64()), (StatusCode::OK, Some(0)));
    let (s, h, ann) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("ann@example.com", "Ann", "00u1")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ann}");
    assert!(
        h["location"]
            .to_str()
            .unwrap()
            .ends_with(ann["id"].as_str().unwrap())
    );
    assert_eq!(
        (ann["active"].as_bool(), ann["externalId"].as_str()),
        (Some(true), Some("00u1"))
    );
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let mails = t.deliver_mail().await;
    assert!(
        mails.iter().any(|m| m.to == "ann@example.com"),
        "an invitation is sent"
    );
    // the same person again, or the same externalId: uniqueness
    let (s, _, b) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("ANN@example.com", "Ann", "00u9")),
    )
    .await;
    assert_eq!(
        (s, b["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness"))
    );
    let (s, _, b) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("other@example.com", "O", "00u1")),
    )
    .await;
    assert_eq!(
        (s, b["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness"))
    );
    // the second seat, then none left: a clear 409
    let (s, _, bob) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("bob@example.com", "Bob", "00u2")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, b) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("cy@example.com", "Cy", "00u3")),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("No seat is free"));
    t.assert_seats_consistent(&a).await;

    // Entra ID: look up by externalId, and with or/and
    let (_, _, b) = scim(
        &t,
        Method::GET,
        &format!("{base}/Users?filter=externalId%20eq%20%2200u1%22"),
        &key,
        None,
    )
    .await;
    assert_eq!(b["Resources"][0]["id"], ann_id.as_str());
    let (_, _, b) = scim(&t, Method::GET, &format!("{base}/Users?filter=userName%20eq%20%22bob%40example.com%22%20or%20externalId%20eq%20%2200u1%22&sortBy=userName&sortOrder=descending"), &key, None).await;
    assert_eq!(b["totalResults"], 2);
    assert_eq!(b["Resources"][0]["userName"], "bob@example.com");
    let (_, _, b) = scim(
        &t,
        Method::GET,
        &format!("{base}/Users?startIndex=2&count=1&sortBy=userName"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (
            b["totalResults"].as_u64(),
            b["itemsPerPage"].as_u64(),
            b["startIndex"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    let (s, _, b) = scim(
        &t,
        Method::GET,
        &format!("{base}/Users?filter=userName%20zz%20%22x%22"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, b["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidFilter"))
    );

    // Entra ID: PATCH replace of name and address (not accepted yet: a new link, same id)
    let ann_path = format!("{base}/Users/{ann_id}");
    let (_, h, _) = scim(&t, Method::GET, &ann_path, &key, None).await;
    let v1 = h["etag"].to_str().unwrap().to_string();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "name.familyName", "value": "Smith"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann.smith@example.com"},
        {"op": "Add", "path": "title", "value": "Ignored"}
    ]});
    let (s, _, b) = scim(&t, Method::PATCH, &ann_path, &key, Some(patch)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["id"].as_str(),
            b["userName"].as_str(),
            b["name"]["familyName"].as_str()
        ),
        (
            Some(ann_id.as_str()),
            Some("ann.smith@example.com"),
            Some("Smith")
        )
    );
    assert!(
        t.deliver_mail()
            .await
            .iter()
            .any(|m| m.to == "ann.smith@example.com")
    );
    // a stale version is refused
    let (s, _, _) = t
        .client
        .put(format!("{}{ann_path}", t.addr))
        .bearer_auth(&key)
        .header("if-match", &v1)
        .header("content-type", "application/scim+json")
        .body(new_user("ann.smith@example.com", "Annie", "00u1").to_string())
        .send()
        .await
        .map(|r| (r.status(), (), ()))
        .expect("put");
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    // Okta: PUT the whole user
    let (s, _, b) = scim(
        &t,
        Method::PUT,
        &ann_path,
        &key,
        Some(new_user("ann.smith@example.com", "Annie", "00u1")),
    )
    .await;
    assert_eq!(
        (s, b["name"]["givenName"].as_str()),
        (StatusCode::OK, Some("Annie"))
    );

    // PATCH active false (Entra sends a string) frees the seat; true takes one again
    let bob_path = format!("{base}/Users/{}", bob["id"].as_str().unwrap());
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let (s, _, b) = scim(&t, Method::PATCH, &bob_path, &key, Some(off)).await;
    assert_eq!(
        (s, b["active"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{b}"
    );
    assert_eq!(t.seats(&a, &admin).await["available"], 1);
    let (s, _, _) = scim(
        &t,
        Method::POST,
        &format!("{base}/Users"),
        &key,
        Some(new_user("cy@example.com", "Cy", "00u3")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let on = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": true}}]});
    let (s, _, b) = scim(&t, Method::PATCH, &bob_path, &key, Some(on.clone())).await;
    assert_eq!(s, StatusCode::CONFLICT, "no seat to come back to: {b}");
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    let (s, _, b) = scim(&t, Method::PATCH, &bob_path, &key, Some(on)).await;
    assert_eq!(
        (s, b["active"].as_bool(), b["id"].as_str()),
        (StatusCode::OK, Some(true), bob["id"].as_str())
    );
    t.assert_seats_consistent(&a).await;

    // an accepted member: deactivation ends their session in the app (401) and frees the seat
    let (member, session) = {
        t.post(
            &format!("/api/v1/apps/{a}/seats"),
            Some(&admin),
            json!({"quantity": 1}),
        )
        .await;
        t.add_user(&a, &admin, "dee@example.com").await
    };
    let dee_path = format!("{base}/Users/{member}");
    let (_, _, dee) = scim(&t, Method::GET, &dee_path, &key, None).await;
    assert_eq!(dee["active"], true);
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_eq!(
        scim(&t, Method::PATCH, &dee_path, &key, Some(off)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        t.get(&format!("/api/v1/apps/{a}/api-keys"), Some(&session))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // their address is their ID's login: not changed over SCIM
    let mv = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "userName", "value": "dee2@example.com"}]});
    let (s, _, b) = scim(&t, Method::PATCH, &dee_path, &key, Some(mv)).await;
    assert_eq!(
        (s, b["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue"))
    );

    // groups: Admins follows the admin flag
    let (_, _, g) = scim(
        &t,
        Method::GET,
        &format!("{base}/Groups?filter=displayName%20eq%20%22Admins%22"),
        &key,
        None,
    )
    .await;
    assert_eq!(g["totalResults"], 1);
    assert_eq!(g["Resources"][0]["members"].as_array().unwrap().len(), 1);
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": ann_id}]}]});
    assert_eq!(
        scim(
            &t,
            Method::PATCH,
            &format!("{base}/Groups/admins"),
            &key,
            Some(add)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, _, b) = scim(&t, Method::GET, &ann_path, &key, None).await;
    assert!(
        b["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["value"] == "admins")
    );
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{ann_id}\"]")}]});
    assert_eq!(
        scim(
            &t,
            Method::PATCH,
            &format!("{base}/Groups/admins"),
            &key,
            Some(remove)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, _, g) = scim(
        &t,
        Method::GET,
        &format!("{base}/Groups/admins"),
        &key,
        None,
    )
    .await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1);

    // DELETE: gone for SCIM, its seat free
    let before = t.seats(&a, &admin).await["available"].as_i64().unwrap();
    assert_eq!(
        scim(&t, Method::DELETE, &ann_path, &key, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        scim(&t, Method::GET, &ann_path, &key, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.seats(&a, &admin).await["available"].as_i64().unwrap(),
        before + 1
    );
    // malformed bodies are SCIM errors, never 500
    let res = t
        .client
        .post(format!("{}{base}/Users", t.addr))
        .bearer_auth(&key)
        .header("content-type", "application/scim+json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (s, _, b) = scim(
        &t,
        Method::GET,
        &format!("{base}/Users/not-an-id"),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::NOT_FOUND, Some("404"))
    );
    t.assert_seats_consistent(&a).await;
}
