//! J7: versioned terms agreed to before going on; the audit log admins filter and page, and
//! an ID's own security activity.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::json;

pub(super) async fn a_new_terms_version_must_be_agreed_to_before_going_on(t: TestApp) {
    let (app, admin) = t.app_with_admin("Alpha", 3).await;
    let before = t.get("/api/v1/terms", None).await;
    assert_eq!(
        before.body["body_html"],
        serde_json::Value::Null,
        "built-in terms"
    );
    t.services
        .publish_terms(
            &t.ctx(),
            Some("2027-01"),
            "# Terms\n\nBe *nice*.<script>alert(1)</script><img src=x onerror=alert(2)>",
            true,
        )
        .await
        .expect("publish");
    let terms = t.get("/api/v1/terms", None).await;
    assert_eq!(terms.body["version"], "2027-01");
    let html = terms.body["body_html"].as_str().expect("html");
    assert!(html.contains("<em>nice</em>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("onerror"),
        "sanitised: {html}"
    );
    // an existing session: who am I works and says what is pending; the rest waits
    let me = t.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(me.body["terms_pending"], "2027-01");
    let r = t
        .get(&format!("/api/v1/apps/{app}/members"), Some(&admin))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "terms_acceptance_required")
    );
    assert_eq!(r.body["version"], "2027-01");
    // a new login too
    let fresh = t.login_token("admin@alpha.test", GOOD_PASSWORD).await;
    let r = t
        .get(&format!("/api/v1/apps/{app}/members"), Some(&fresh))
        .await;
    assert_eq!(r.code(), "terms_acceptance_required");
    let r = t
        .post(
            "/api/v1/me/terms",
            Some(&fresh),
            json!({"version": "2026-11-01"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    t.clock.advance(time::Duration::minutes(1));
    let r = t
        .post(
            "/api/v1/me/terms",
            Some(&fresh),
            json!({"version": "2027-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    for s in [&admin, &fresh] {
        assert_eq!(
            t.get(&format!("/api/v1/apps/{app}/members"), Some(s))
                .await
                .status,
            StatusCode::OK
        );
    }
    // every agreement is kept with its time
    let mut r = t.store.read().await.expect("read");
    let id = r
        .find_identity_by_email("admin@alpha.test")
        .await
        .expect("f")
        .expect("id");
    let kept = r.terms_acceptances(id.id).await.expect("list");
    assert_eq!(
        kept.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(),
        ["2027-01", "2026-11-01"]
    );
    assert!((kept[0].1 - t.now()).abs() < time::Duration::seconds(1));
    // a new ID agrees to the current version when it is created
    let (_, session) = t.add_user(&app, &admin, "new@alpha.test").await;
    assert_eq!(
        t.get("/api/v1/me", Some(&session)).await.body["terms_pending"],
        serde_json::Value::Null
    );
}

pub(super) async fn admins_filter_and_page_the_audit_log_and_see_members_failed_logins(t: TestApp) {
    let (app, admin) = t.app_with_admin("Alpha", 5).await;
    let (other_app, other_admin) = t.app_with_admin("Beta", 5).await;
    let (_, user) = t.add_user(&app, &admin, "user@alpha.test").await;
    // a stranger to Alpha fails to log in as well
    t.login("admin@beta.test", "Wrong-Password-1").await;
    for _ in 0..2 {
        t.login("user@alpha.test", "Wrong-Password-1").await;
    }
    let base = format!("/api/v1/apps/{app}/audit");
    let get = |q: String| {
        let (t, admin, base) = (&t, &admin, &base);
        async move { t.get(&format!("{base}{q}"), Some(admin)).await }
    };
    let r = get("?action=login.failed".into()).await;
    let items = r.body["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 2, "{:?}", r.body);
    for e in &items {
        assert_eq!(e["actor"], "user@alpha.test");
        assert!(
            e["client_addr"].as_str().is_some(),
            "client address recorded"
        );
    }
    // by person
    let r = get("?actor=USER@alpha".into()).await;
    assert!(
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["actor"] == "user@alpha.test")
    );
    // paging: a cursor leads to older events, no repeats
    let all = get("?limit=200".into()).await.body["items"]
        .as_array()
        .expect("all")
        .len();
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let r = get(format!("?limit=2{cursor}")).await;
        let n = r.body["items"].as_array().expect("items").len();
        seen += n;
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
        assert_eq!(n, 2);
    }
    assert_eq!(seen, all);
    // bad filters are a clear 422
    assert_eq!(get("?from=yesterday".into()).await.code(), "invalid_input");
    assert_eq!(get("?cursor=%%%".into()).await.code(), "invalid_input");
    // dates: nothing before today
    assert_eq!(
        get("?to=2000-01-01".into()).await.body["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // another app's admin sees none of it; a member who is not an admin gets 404
    let r = t
        .get(
            &format!("/api/v1/apps/{other_app}/audit?action=login.failed"),
            Some(&other_admin),
        )
        .await;
    assert!(
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["actor"] != "user@alpha.test")
    );
    assert_eq!(
        t.get(&format!("/api/v1/apps/{app}/audit"), Some(&user))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // the ID's own security activity
    let r = t.get("/api/v1/me/security-activity", Some(&user)).await;
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.iter().filter(|a| **a == "login.failed").count() == 2,
        "{actions:?}"
    );
    assert!(
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["actor"] == "user@alpha.test")
    );
}
