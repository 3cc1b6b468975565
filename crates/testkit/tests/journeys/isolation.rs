//! Isolation and bad input: another app's routes are 404, bad input is a 4xx problem+json and
//! never a 500, and the public endpoints (health, OpenAPI) are served.

use reqwest::StatusCode;
use roster_testkit::TestApp;
use serde_json::json;

pub(super) async fn a_member_of_app_a_gets_404_on_every_app_b_route(t: TestApp) {
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

pub(super) async fn bad_input_gets_4xx_problem_json_never_500(t: TestApp) {
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

pub(super) async fn health_and_openapi_are_served(t: TestApp) {
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
        "/api/v1/apps/{app_id}/audit",
        "/api/v1/apps/{app_id}/two-step",
        "/api/v1/me/security-activity",
        "/api/v1/me/sessions",
        "/api/v1/me/sessions/{id}",
        "/api/v1/me/apps/{app_id}",
        "/api/v1/me/password",
        "/api/v1/me/email",
        "/api/v1/me/terms",
        "/api/v1/me/two-step",
        "/api/v1/me/two-step/totp",
        "/api/v1/me/two-step/totp/confirm",
        "/api/v1/me/two-step/email",
        "/api/v1/me/two-step/backup-codes",
        "/api/v1/me/two-step/disable",
        "/api/v1/me/two-step/trusted-browsers/forget",
        "/api/v1/me/passkeys",
        "/api/v1/me/passkeys/{id}",
        "/api/v1/me/passkeys/register/start",
        "/api/v1/me/passkeys/register/finish",
        "/api/v1/password/forgot",
        "/api/v1/password/reset",
        "/api/v1/email/confirm",
        "/api/v1/terms",
        "/api/v1/session/second-factor",
        "/api/v1/session/second-factor/email",
        "/api/v1/session/second-factor/passkey/start",
        "/api/v1/session/passkey/start",
        "/api/v1/session/passkey/finish",
    ] {
        assert!(r.body["paths"][p].is_object(), "{p} missing from OpenAPI");
    }
}
